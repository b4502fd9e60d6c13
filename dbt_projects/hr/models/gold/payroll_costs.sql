-- payroll_costs: data product, payroll cost per department and pay period (contract hr.payroll_costs).
-- Aggregated to departments: no employee-level or personal data leaves hr.

with

payslips as (

    select * from {{ ref('int_payslips_attributed') }}

),

attendance as (

    select * from {{ ref('int_attendance_by_employee_month') }}

),

departments as (

    select * from {{ ref('stg_bronze__departments') }}

),

payroll as (

    select
        department_id,
        pay_period,
        count(distinct employee_id) as headcount,
        sum(gross_pay) as gross_pay,
        sum(employee_tax) as employee_tax,
        sum(employer_contributions) as employer_contributions,
        sum(net_pay) as net_pay,
        any_value(currency) as currency

    from payslips
    group by department_id, pay_period

),

attendance_by_department as (

    select
        department_id,
        work_month,
        sum(hours_worked) as hours_worked,
        sum(absence_days) as absence_days

    from attendance
    group by department_id, work_month

),

final as (

    select
        cast(payroll.department_id as varchar) as department_id,
        cast(coalesce(departments.department_name, 'Unknown department') as varchar) as department_name,
        cast(payroll.pay_period as date) as pay_period,
        cast(payroll.headcount as bigint) as headcount,
        cast(payroll.gross_pay as decimal(18, 2)) as gross_pay,
        cast(payroll.employee_tax as decimal(18, 2)) as employee_tax,
        cast(payroll.employer_contributions as decimal(18, 2)) as employer_contributions,
        cast(payroll.net_pay as decimal(18, 2)) as net_pay,
        cast(payroll.gross_pay + payroll.employer_contributions as decimal(18, 2)) as total_cost,
        cast(coalesce(attendance_by_department.hours_worked, 0) as decimal(18, 2)) as hours_worked,
        cast(coalesce(attendance_by_department.absence_days, 0) as bigint) as absence_days,
        cast(payroll.currency as varchar) as currency

    from payroll
    left join departments
        on payroll.department_id = departments.department_id
    left join attendance_by_department
        on payroll.department_id = attendance_by_department.department_id
        and payroll.pay_period = attendance_by_department.work_month

)

select * from final
