-- revenue_by_day: data product, net revenue per invoice date, channel and item category
-- (contract sales.revenue_by_day).

with

invoices as (

    select * from {{ ref('invoices') }}

),

aggregated as (

    select
        invoice_date as revenue_date,
        channel,
        category,
        count(*) as invoice_lines,
        sum(quantity) as quantity,
        sum(net_amount) as net_revenue,
        currency

    from invoices
    group by invoice_date, channel, category, currency

),

final as (

    select
        cast(revenue_date as date) as revenue_date,
        cast(channel as varchar) as channel,
        cast(category as varchar) as category,
        cast(invoice_lines as bigint) as invoice_lines,
        cast(quantity as bigint) as quantity,
        cast(net_revenue as decimal(18, 2)) as net_revenue,
        cast(currency as varchar) as currency

    from aggregated

)

select * from final
