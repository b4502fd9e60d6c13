-- int_order_lines_priced: order lines whose sku is in the item catalogue, priced and described with it.
-- Lines with an unknown sku are in quarantine_unknown_skus instead.

with

order_lines as (

    select * from {{ ref('int_order_lines_unioned') }}

),

item_catalogue as (

    select * from {{ ref('stg_ports__item_catalogue') }}

),

joined as (

    select
        order_lines.invoice_id,
        order_lines.line_number,
        order_lines.invoice_date,
        order_lines.channel,
        order_lines.customer_id,
        order_lines.sku,
        item_catalogue.item_name,
        item_catalogue.category,
        order_lines.quantity,
        item_catalogue.list_price as unit_price,
        coalesce(order_lines.discount_pct, 0) as discount_pct,
        item_catalogue.unit_cost,
        item_catalogue.currency,
        order_lines.source_feed,
        order_lines._source_file,
        order_lines._row_number

    from order_lines
    inner join item_catalogue
        on order_lines.sku = item_catalogue.sku

),

priced as (

    select
        *,
        -- exact decimal arithmetic: "* 0.01" rather than "/ 100", which DuckDB computes as a double
        cast(round(quantity * unit_price * discount_pct * 0.01, 2) as decimal(18, 2)) as discount_amount

    from joined

),

final as (

    select
        invoice_id,
        line_number,
        invoice_date,
        channel,
        customer_id,
        sku,
        item_name,
        category,
        quantity,
        unit_price,
        discount_pct,
        discount_amount,
        cast(quantity * unit_price - discount_amount as decimal(18, 2)) as net_amount,
        unit_cost,
        currency,
        source_feed,
        _source_file,
        _row_number

    from priced

)

select * from final
