-- stg_bronze__fiscal_periods: accounting periods; entries are posted only into periods listed here, one row per (period).

with

source as (

    select * from {{ source('bronze', 'fiscal_periods') }}

),

renamed as (

    select
        period,
        period_end,
        status,
        _source_file,
        _row_number

    from source

)

select * from renamed
