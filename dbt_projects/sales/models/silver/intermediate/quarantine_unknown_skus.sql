-- quarantine_unknown_skus: order lines whose sku is not in the consumed item catalogue.
-- Kept out of invoices; order_lines_reconciled checks that no line is lost between the two.

with

order_lines as (

    select * from {{ ref('int_order_lines_unioned') }}

),

item_catalogue as (

    select * from {{ ref('stg_ports__item_catalogue') }}

),

unknown as (

    select
        order_lines.invoice_id,
        order_lines.line_number,
        order_lines.invoice_date,
        order_lines.channel,
        order_lines.customer_id,
        order_lines.sku,
        order_lines.quantity,
        order_lines.discount_pct,
        'unknown_sku: ' || order_lines.sku as reason,
        order_lines.source_feed,
        order_lines._source_file,
        order_lines._row_number

    from order_lines
    left join item_catalogue
        on order_lines.sku = item_catalogue.sku
    where item_catalogue.sku is null

)

select * from unknown
