-- stg_ports__hr_payroll_costs: the hr domain's payroll_costs as published on its output port (contract hr.payroll_costs).

with

source as (

    select * from {{ source('ports', 'hr__payroll_costs') }}

),

renamed as (

    select
        cast(department_id as varchar) as department_id,
        cast(department_name as varchar) as department_name,
        cast(pay_period as date) as pay_period,
        cast(headcount as bigint) as headcount,
        cast(gross_pay as decimal(18,2)) as gross_pay,
        cast(employee_tax as decimal(18,2)) as employee_tax,
        cast(employer_contributions as decimal(18,2)) as employer_contributions,
        cast(net_pay as decimal(18,2)) as net_pay,
        cast(total_cost as decimal(18,2)) as total_cost,
        cast(hours_worked as decimal(18,2)) as hours_worked,
        cast(absence_days as bigint) as absence_days,
        cast(currency as varchar) as currency

    from source

)

select * from renamed
