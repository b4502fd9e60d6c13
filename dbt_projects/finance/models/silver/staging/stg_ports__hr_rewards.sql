-- stg_ports__hr_rewards: the hr domain's rewards as published on its output port (contract hr.rewards).

with

source as (

    select * from {{ source('ports', 'hr__rewards') }}

),

renamed as (

    select
        cast(department_id as varchar) as department_id,
        cast(department_name as varchar) as department_name,
        cast(award_month as date) as award_month,
        cast(awards as bigint) as awards,
        cast(reward_amount as decimal(18,2)) as reward_amount,
        cast(currency as varchar) as currency

    from source

)

select * from renamed
