-- stg_bronze__distributor_orders: distributor order lines, one row per (order_id, line_number).

with

source as (

    select * from {{ source('bronze', 'distributor_orders') }}

),

renamed as (

    select
        order_id,
        line_number,
        order_date,
        distributor_id,
        customer_id,
        sku,
        quantity,
        discount_pct,
        _source_file,
        _row_number,
        _ingested_at

    from source

)

select * from renamed
