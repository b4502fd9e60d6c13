-- rewards: data product, rewards and recognition per department and month (contract hr.rewards).

with

awards as (

    select * from {{ ref('int_awards_attributed') }}

),

departments as (

    select * from {{ ref('stg_bronze__departments') }}

),

aggregated as (

    select
        department_id,
        award_month,
        count(*) as awards,
        sum(amount) as reward_amount,
        any_value(currency) as currency

    from awards
    group by department_id, award_month

),

final as (

    select
        cast(aggregated.department_id as varchar) as department_id,
        cast(coalesce(departments.department_name, 'Unknown department') as varchar) as department_name,
        cast(aggregated.award_month as date) as award_month,
        cast(aggregated.awards as bigint) as awards,
        cast(aggregated.reward_amount as decimal(18, 2)) as reward_amount,
        cast(aggregated.currency as varchar) as currency

    from aggregated
    left join departments
        on aggregated.department_id = departments.department_id

)

select * from final
