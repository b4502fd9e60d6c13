-- stg_bronze__exchange_rates: monthly average rates, units of EUR per unit of currency, from the treasury system, one row per (currency, rate_month).

with

source as (

    select * from {{ source('bronze', 'exchange_rates') }}

),

renamed as (

    select
        currency,
        rate_month,
        eur_per_unit,
        _source_file,
        _row_number

    from source

)

select * from renamed
