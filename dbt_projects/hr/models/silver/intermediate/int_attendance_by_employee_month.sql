-- int_attendance_by_employee_month: hours worked and days absent per known employee and month.

with

timecards as (

    select * from {{ ref('stg_bronze__timecards') }}

),

employees as (

    select employee_id, department_id from {{ ref('stg_bronze__employees') }}

),

aggregated as (

    select
        timecards.employee_id,
        employees.department_id,
        cast(date_trunc('month', timecards.work_date) as date) as work_month,
        sum(timecards.hours_worked) as hours_worked,
        count(*) filter (where timecards.absence_type != 'none') as absence_days

    from timecards
    inner join employees
        on timecards.employee_id = employees.employee_id
    group by all

)

select * from aggregated
