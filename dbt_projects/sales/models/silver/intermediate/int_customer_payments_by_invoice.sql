-- int_customer_payments_by_invoice: customer payments that match an invoiced order, summed per invoice.
-- Payments for an invoice that does not exist are in quarantine_unmatched_customer_payments.

with

payments as (

    select * from {{ ref('stg_bronze__customer_payments') }}

),

invoices as (

    select distinct invoice_id from {{ ref('int_order_lines_priced') }}

),

matched as (

    select
        payments.invoice_id,
        count(*) as payments,
        sum(payments.amount) as paid_amount,
        max(payments.paid_date) as last_paid_date

    from payments
    inner join invoices
        on payments.invoice_id = invoices.invoice_id
    group by payments.invoice_id

)

select * from matched
