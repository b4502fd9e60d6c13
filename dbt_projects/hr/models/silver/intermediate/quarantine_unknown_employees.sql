-- quarantine_unknown_employees: payslips, timecards and rewards of employee ids that are not in the
-- employee master. They are left out of the products; hr_rows_reconciled proves none is lost.

with

employees as (

    select employee_id from {{ ref('stg_bronze__employees') }}

),

payslips as (

    select 'payroll_runs' as feed, payslip_id as record_key, employee_id, _source_file, _row_number
    from {{ ref('stg_bronze__payroll_runs') }}

),

timecards as (

    select
        'timecards' as feed,
        employee_id || ' ' || cast(work_date as varchar) as record_key,
        employee_id,
        _source_file,
        _row_number
    from {{ ref('stg_bronze__timecards') }}

),

rewards as (

    select 'rewards' as feed, award_id as record_key, employee_id, _source_file, _row_number
    from {{ ref('stg_bronze__rewards') }}

),

records as (

    select * from payslips
    union all
    select * from timecards
    union all
    select * from rewards

),

unknown as (

    select
        records.feed,
        records.record_key,
        records.employee_id,
        'unknown_employee: ' || records.employee_id as reason,
        records._source_file,
        records._row_number

    from records
    left join employees
        on records.employee_id = employees.employee_id
    where employees.employee_id is null

)

select * from unknown
