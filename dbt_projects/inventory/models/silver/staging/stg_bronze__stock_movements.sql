-- stg_bronze__stock_movements: every receipt, issue and adjustment, one row per movement_id.
-- quantity is signed: receipts add stock, issues remove it, adjustments go either way.

with

source as (

    select * from {{ source('bronze', 'stock_movements') }}

),

renamed as (

    select
        movement_id,
        sku,
        warehouse_id,
        movement_type,
        quantity,
        moved_at,
        reference,
        _source_file,
        _row_number,
        _ingested_at

    from source

)

select * from renamed
