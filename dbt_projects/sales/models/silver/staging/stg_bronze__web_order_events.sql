-- stg_bronze__web_order_events: e-commerce order-line events (web, mobile_app, marketplace),
-- one row per event_id and one event per (order_id, line_number).

with

source as (

    select * from {{ source('bronze', 'web_order_events') }}

),

renamed as (

    select
        event_id,
        event_time,
        channel,
        order_id,
        line_number,
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
