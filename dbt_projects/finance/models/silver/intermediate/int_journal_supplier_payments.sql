-- int_journal_supplier_payments: what was paid on each supplier invoice, on the date of its latest
-- payment. The payable is cleared at the invoice month's rate, cash leaves at the payment month's
-- rate, and the difference is the realised exchange result. Treasury pays through the clearing account.

with

invoices as (

    select * from {{ ref('stg_ports__procurement_supplier_invoices') }}
    where paid_amount != 0

),

rates as (

    select * from {{ ref('int_exchange_rates') }}

),

converted as (

    select
        invoices.supplier_id,
        invoices.invoice_number,
        invoices.last_paid_date as paid_date,
        invoices.currency,
        invoices.paid_amount,
        round(invoices.paid_amount * invoice_rates.eur_per_unit, 2) as payable_eur,
        round(invoices.paid_amount * payment_rates.eur_per_unit, 2) as cash_eur

    from invoices
    left join rates as invoice_rates
        on invoices.currency = invoice_rates.currency
        and date_trunc('month', invoices.invoice_date) = invoice_rates.rate_month
    left join rates as payment_rates
        on invoices.currency = payment_rates.currency
        and date_trunc('month', invoices.last_paid_date) = payment_rates.rate_month

),

lines as (

    select
        *,
        unnest([
            struct_pack(account := {{ account('payables') }}, department := {{ department('operations') }},
                eur := payable_eur, document := paid_amount),
            struct_pack(account := {{ account('fx_result') }}, department := {{ department('operations') }},
                eur := cash_eur - payable_eur, document := 0),
            struct_pack(account := {{ account('clearing') }}, department := {{ department('operations') }},
                eur := -cash_eur, document := -paid_amount),
            struct_pack(account := {{ account('clearing') }}, department := {{ department('treasury') }},
                eur := cash_eur, document := paid_amount),
            struct_pack(account := {{ account('cash') }}, department := {{ department('treasury') }},
                eur := -cash_eur, document := -paid_amount)
        ]) as line

    from converted

),

postings as (

    select
        'SP-' || supplier_id || '-' || invoice_number as entry_id,
        paid_date as entry_date,
        'procurement.supplier_invoices ' || supplier_id || ' ' || invoice_number as source_reference,
        line.account as account_id,
        line.department as department_id,
        line.eur as amount,
        currency as document_currency,
        line.document as document_amount,
        'Payment of supplier invoice ' || invoice_number as description

    from lines

)

{{ journal_lines('postings', 'supplier_payments', 'procurement') }}
