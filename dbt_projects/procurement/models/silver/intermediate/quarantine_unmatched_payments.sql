-- quarantine_unmatched_payments: supplier payments for an invoice that is not known, or in another
-- currency than the invoice. Left out of the payables; payments_reconciled proves none is lost.

with

payments as (

    select * from {{ ref('stg_bronze__supplier_payments') }}

),

invoices as (

    select distinct supplier_id, invoice_number, currency
    from {{ ref('stg_bronze__supplier_invoices') }}

),

unmatched as (

    select
        payments.payment_id,
        payments.supplier_id,
        payments.invoice_number,
        payments.paid_date,
        payments.amount,
        payments.currency,
        case
            when invoices.invoice_number is null
                then 'unknown_invoice: ' || payments.supplier_id || ' ' || payments.invoice_number
            else 'currency_mismatch: paid in ' || payments.currency || ', invoiced in ' || invoices.currency
        end as reason,
        payments._source_file,
        payments._row_number

    from payments
    left join invoices
        on payments.supplier_id = invoices.supplier_id
        and payments.invoice_number = invoices.invoice_number
    where invoices.invoice_number is null
        or payments.currency != invoices.currency

)

select * from unmatched
