-- quarantine_unmatched_customer_payments: customer payments for an invoice id that no priced order
-- line carries. Left out of receivables; customer_payments_reconciled proves none is lost.

with

payments as (

    select * from {{ ref('stg_bronze__customer_payments') }}

),

invoices as (

    select distinct invoice_id from {{ ref('int_order_lines_priced') }}

),

unmatched as (

    select
        payments.payment_id,
        payments.invoice_id,
        payments.paid_at,
        payments.amount,
        payments.method,
        'unknown_invoice: ' || payments.invoice_id as reason,
        payments._source_file,
        payments._row_number

    from payments
    left join invoices
        on payments.invoice_id = invoices.invoice_id
    where invoices.invoice_id is null

)

select * from unmatched
