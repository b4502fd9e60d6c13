-- stg_bronze__items: the item master, one row per sku (the latest version if a sku ever repeats).

with

source as (

    select * from {{ source('bronze', 'items') }}

),

renamed as (

    select
        sku,
        item_name,
        category,
        unit_of_measure,
        unit_cost,
        list_price,
        currency,
        updated_at,
        _source_file,
        _row_number,
        _ingested_at

    from source

    -- bronze is de-duplicated on sku already; this keeps the guarantee local and explicit
    qualify row_number() over (
        partition by sku
        order by updated_at desc, _ingested_at desc, _row_number desc
    ) = 1

)

select * from renamed
