-- int_payments_by_invoice: supplier payments that match an invoice (supplier, number and currency),
-- summed per invoice. The others are in quarantine_unmatched_payments.

with

payments as (

    select * from {{ ref('stg_bronze__supplier_payments') }}

),

invoices as (

    select distinct supplier_id, invoice_number, currency
    from {{ ref('stg_bronze__supplier_invoices') }}

),

matched as (

    select
        payments.supplier_id,
        payments.invoice_number,
        count(*) as payments,
        sum(payments.amount) as paid_amount,
        max(payments.paid_date) as last_paid_date

    from payments
    inner join invoices
        on payments.supplier_id = invoices.supplier_id
        and payments.invoice_number = invoices.invoice_number
        and payments.currency = invoices.currency
    group by payments.supplier_id, payments.invoice_number

)

select * from matched
