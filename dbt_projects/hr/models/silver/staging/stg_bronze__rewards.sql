-- stg_bronze__rewards: rewards and recognition awards with their cash amounts, one row per (award_id).

with

source as (

    select * from {{ source('bronze', 'rewards') }}

),

renamed as (

    select
        award_id,
        employee_id,
        award_date,
        award_type,
        amount,
        currency,
        _source_file,
        _row_number

    from source

)

select * from renamed
