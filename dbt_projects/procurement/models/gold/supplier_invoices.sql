-- supplier_invoices: data product, one row per supplier invoice with its payable
-- (contract procurement.supplier_invoices).

with

invoice_lines as (

    select * from {{ ref('int_invoice_lines_matched') }}

),

payments as (

    select * from {{ ref('int_payments_by_invoice') }}

),

invoices as (

    select
        supplier_id,
        invoice_number,
        min(invoice_date) as invoice_date,
        min(due_date) as due_date,
        any_value(currency) as currency,
        count(*) as invoice_lines,
        sum(line_amount) as invoice_amount,
        bool_and(receipt_matched) as receipt_matched

    from invoice_lines
    group by supplier_id, invoice_number

),

with_payments as (

    select
        invoices.*,
        coalesce(payments.paid_amount, 0) as paid_amount,
        payments.last_paid_date

    from invoices
    left join payments
        on invoices.supplier_id = payments.supplier_id
        and invoices.invoice_number = payments.invoice_number

),

final as (

    select
        cast(supplier_id as varchar) as supplier_id,
        cast(invoice_number as varchar) as invoice_number,
        cast(invoice_date as date) as invoice_date,
        cast(due_date as date) as due_date,
        cast(currency as varchar) as currency,
        cast(invoice_lines as bigint) as invoice_lines,
        cast(invoice_amount as decimal(18, 2)) as invoice_amount,
        cast(paid_amount as decimal(18, 2)) as paid_amount,
        cast(invoice_amount - paid_amount as decimal(18, 2)) as open_amount,
        cast(last_paid_date as date) as last_paid_date,
        cast(
            case
                when paid_amount = 0 then 'open'
                when paid_amount < invoice_amount then 'partially_paid'
                else 'paid'
            end as varchar
        ) as status,
        cast(receipt_matched as boolean) as receipt_matched

    from with_payments

)

select * from final
