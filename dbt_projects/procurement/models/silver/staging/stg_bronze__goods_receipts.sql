-- stg_bronze__goods_receipts: goods received against purchase order lines, scanned at the warehouses, one row per (receipt_id).

with

source as (

    select * from {{ source('bronze', 'goods_receipts') }}

),

renamed as (

    select
        receipt_id,
        po_number,
        line_number,
        warehouse_id,
        received_date,
        quantity_received,
        _source_file,
        _row_number

    from source

)

select * from renamed
