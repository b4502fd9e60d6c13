-- int_journal_purchases: one entry per supplier invoice: inventory debited, trade payables credited,
-- converted to EUR at the average rate of the invoice month (amount NULL when the rate is missing:
-- the entry is then quarantined, not posted).

with

invoices as (

    select * from {{ ref('stg_ports__procurement_supplier_invoices') }}

),

rates as (

    select * from {{ ref('int_exchange_rates') }}

),

converted as (

    select
        invoices.supplier_id,
        invoices.invoice_number,
        invoices.invoice_date,
        invoices.currency,
        invoices.invoice_amount,
        round(invoices.invoice_amount * rates.eur_per_unit, 2) as amount_eur

    from invoices
    left join rates
        on invoices.currency = rates.currency
        and date_trunc('month', invoices.invoice_date) = rates.rate_month

),

lines as (

    select
        *,
        unnest([
            struct_pack(account := {{ account('inventory') }}, sign := 1),
            struct_pack(account := {{ account('payables') }}, sign := -1)
        ]) as line

    from converted

),

postings as (

    select
        'PI-' || supplier_id || '-' || invoice_number as entry_id,
        invoice_date as entry_date,
        'procurement.supplier_invoices ' || supplier_id || ' ' || invoice_number as source_reference,
        line.account as account_id,
        {{ department('operations') }} as department_id,
        line.sign * amount_eur as amount,
        currency as document_currency,
        line.sign * invoice_amount as document_amount,
        'Supplier invoice ' || invoice_number as description

    from lines

)

{{ journal_lines('postings', 'purchases', 'procurement') }}
