-- int_order_lines_unioned: every order line of every channel in one shape, keyed by (invoice_id, line_number).
-- Distributor and web order ids never collide (DO- and WO- prefixes).

with

distributor_orders as (

    select * from {{ ref('stg_bronze__distributor_orders') }}

),

web_order_events as (

    select * from {{ ref('stg_bronze__web_order_events') }}

),

distributor_lines as (

    select
        order_id as invoice_id,
        line_number,
        order_date as invoice_date,
        'distributor' as channel,
        customer_id,
        sku,
        quantity,
        discount_pct,
        'distributor_orders' as source_feed,
        _source_file,
        _row_number

    from distributor_orders

),

web_lines as (

    select
        order_id as invoice_id,
        line_number,
        cast(timezone('UTC', event_time) as date) as invoice_date,  -- the UTC day, whatever the session's zone
        channel,
        customer_id,
        sku,
        quantity,
        discount_pct,
        'web_order_events' as source_feed,
        _source_file,
        _row_number

    from web_order_events

),

unioned as (

    select * from distributor_lines
    union all
    select * from web_lines

)

select * from unioned
