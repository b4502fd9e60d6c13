-- int_awards_attributed: rewards of known employees with the employee's department.

with

rewards as (

    select * from {{ ref('stg_bronze__rewards') }}

),

employees as (

    select employee_id, department_id from {{ ref('stg_bronze__employees') }}

),

attributed as (

    select
        rewards.award_id,
        rewards.employee_id,
        employees.department_id,
        rewards.award_date,
        cast(date_trunc('month', rewards.award_date) as date) as award_month,
        rewards.award_type,
        rewards.amount,
        rewards.currency

    from rewards
    inner join employees
        on rewards.employee_id = employees.employee_id

)

select * from attributed
