-- stg_bronze__purchase_orders: purchase order lines raised in the ERP, one row per (po_number, line_number).

with

source as (

    select * from {{ source('bronze', 'purchase_orders') }}

),

renamed as (

    select
        po_number,
        line_number,
        supplier_id,
        order_date,
        sku,
        quantity,
        unit_price,
        currency,
        _source_file,
        _row_number

    from source

)

select * from renamed
