-- int_journal_sales: the sales sub-ledger's daily summary entry: receivables debited, revenue
-- credited with the invoices' net amounts of the day.

with

invoices as (

    select * from {{ ref('stg_ports__sales_invoices') }}

),

daily as (

    select invoice_date, sum(net_amount) as revenue, count(*) as invoice_lines
    from invoices
    group by invoice_date

),

postings as (

    select
        'SJ-' || strftime(invoice_date, '%Y%m%d') as entry_id,
        invoice_date as entry_date,
        'sales.invoices ' || cast(invoice_date as varchar) as source_reference,
        {{ account('receivables') }} as account_id,
        {{ department('sales') }} as department_id,
        revenue as amount,
        'EUR' as document_currency,
        revenue as document_amount,
        'Invoiced sales, ' || invoice_lines || ' lines' as description
    from daily

    union all

    select
        'SJ-' || strftime(invoice_date, '%Y%m%d'),
        invoice_date,
        'sales.invoices ' || cast(invoice_date as varchar),
        {{ account('revenue') }},
        {{ department('sales') }},
        -revenue,
        'EUR',
        -revenue,
        'Revenue of the day'
    from daily

)

{{ journal_lines('postings', 'sales', 'sales') }}
