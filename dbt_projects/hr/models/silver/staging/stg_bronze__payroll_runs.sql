-- stg_bronze__payroll_runs: one payslip per employee and monthly pay period from the payroll system (JSON Lines), one row per (employee_id, pay_period).

with

source as (

    select * from {{ source('bronze', 'payroll_runs') }}

),

renamed as (

    select
        payslip_id,
        employee_id,
        pay_period,
        pay_date,
        department_id,
        gross_pay,
        employee_tax,
        employer_contributions,
        net_pay,
        currency,
        _source_file,
        _row_number

    from source

)

select * from renamed
