-- receivables: data product, one row per invoice with what was invoiced, paid and is still owed
-- (contract sales.receivables).

with

invoice_lines as (

    select * from {{ ref('int_order_lines_priced') }}

),

payments as (

    select * from {{ ref('int_customer_payments_by_invoice') }}

),

invoices as (

    select
        invoice_id,
        any_value(customer_id) as customer_id,
        any_value(channel) as channel,
        min(invoice_date) as invoice_date,
        sum(net_amount) as invoiced_amount,
        any_value(currency) as currency

    from invoice_lines
    group by invoice_id

),

final as (

    select
        cast(invoices.invoice_id as varchar) as invoice_id,
        {{ mask_pii('invoices.customer_id') }} as customer_id,
        cast(invoices.channel as varchar) as channel,
        cast(invoices.invoice_date as date) as invoice_date,
        cast(invoices.invoiced_amount as decimal(18, 2)) as invoiced_amount,
        cast(coalesce(payments.paid_amount, 0) as decimal(18, 2)) as paid_amount,
        cast(invoices.invoiced_amount - coalesce(payments.paid_amount, 0) as decimal(18, 2)) as open_amount,
        cast(payments.last_paid_date as date) as last_paid_date,
        cast(
            case
                when coalesce(payments.paid_amount, 0) = 0 then 'open'
                when payments.paid_amount < invoices.invoiced_amount then 'partially_paid'
                when payments.paid_amount = invoices.invoiced_amount then 'paid'
                else 'overpaid'
            end as varchar
        ) as status,
        cast(invoices.currency as varchar) as currency

    from invoices
    left join payments
        on invoices.invoice_id = payments.invoice_id

)

select * from final
