-- invoices: data product, one row per invoice line priced with the inventory item catalogue
-- (contract sales.invoices).

with

priced_lines as (

    select * from {{ ref('int_order_lines_priced') }}

),

final as (

    select
        cast(invoice_id as varchar) as invoice_id,
        cast(line_number as integer) as line_number,
        cast(invoice_date as date) as invoice_date,
        cast(channel as varchar) as channel,
        {{ mask_pii('customer_id') }} as customer_id,
        cast(sku as varchar) as sku,
        cast(item_name as varchar) as item_name,
        cast(category as varchar) as category,
        cast(quantity as integer) as quantity,
        cast(unit_price as decimal(18, 2)) as unit_price,
        cast(discount_amount as decimal(18, 2)) as discount_amount,
        cast(net_amount as decimal(18, 2)) as net_amount,
        cast(unit_cost as decimal(18, 2)) as unit_cost,
        cast(currency as varchar) as currency

    from priced_lines

)

select * from final
