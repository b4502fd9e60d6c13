-- stg_ports__sales_invoices: the sales domain's invoices as published on its output port (contract sales.invoices).

with

source as (

    select * from {{ source('ports', 'sales__invoices') }}

),

renamed as (

    select
        cast(invoice_id as varchar) as invoice_id,
        cast(line_number as integer) as line_number,
        cast(invoice_date as date) as invoice_date,
        cast(channel as varchar) as channel,
        cast(customer_id as varchar) as customer_id,
        cast(sku as varchar) as sku,
        cast(item_name as varchar) as item_name,
        cast(category as varchar) as category,
        cast(quantity as integer) as quantity,
        cast(unit_price as decimal(18,2)) as unit_price,
        cast(discount_amount as decimal(18,2)) as discount_amount,
        cast(net_amount as decimal(18,2)) as net_amount,
        cast(unit_cost as decimal(18,2)) as unit_cost,
        cast(currency as varchar) as currency

    from source

)

select * from renamed
