-- int_journal_cost_of_sales: the daily cost of the goods invoiced (quantity x standard unit cost),
-- out of inventory into cost of goods sold, in the operations department that holds the stock.

with

invoices as (

    select * from {{ ref('stg_ports__sales_invoices') }}

),

daily as (

    select invoice_date, sum(quantity * unit_cost) as cost_of_sales
    from invoices
    group by invoice_date

),

postings as (

    select
        'CS-' || strftime(invoice_date, '%Y%m%d') as entry_id,
        invoice_date as entry_date,
        'sales.invoices ' || cast(invoice_date as varchar) as source_reference,
        {{ account('cost_of_goods_sold') }} as account_id,
        {{ department('operations') }} as department_id,
        cost_of_sales as amount,
        'EUR' as document_currency,
        cost_of_sales as document_amount,
        'Cost of goods invoiced' as description
    from daily

    union all

    select
        'CS-' || strftime(invoice_date, '%Y%m%d'),
        invoice_date,
        'sales.invoices ' || cast(invoice_date as varchar),
        {{ account('inventory') }},
        {{ department('operations') }},
        -cost_of_sales,
        'EUR',
        -cost_of_sales,
        'Goods issued to customers'
    from daily

)

{{ journal_lines('postings', 'cost_of_sales', 'sales') }}
