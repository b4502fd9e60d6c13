-- int_journal_customer_receipts: cash received from customers, per day of the latest payment of an
-- invoice. Cash is held by treasury; the sales department's receivables are cleared through the
-- inter-department clearing account, so each department's entry balances on its own.

with

receivables as (

    select * from {{ ref('stg_ports__sales_receivables') }}

),

daily as (

    select last_paid_date as paid_date, sum(paid_amount) as received, count(*) as invoices
    from receivables
    where paid_amount != 0
    group by last_paid_date

),

lines as (

    select
        paid_date,
        received,
        invoices,
        unnest([
            struct_pack(account := {{ account('cash') }}, department := {{ department('treasury') }}, sign := 1),
            struct_pack(account := {{ account('clearing') }}, department := {{ department('treasury') }}, sign := -1),
            struct_pack(account := {{ account('clearing') }}, department := {{ department('sales') }}, sign := 1),
            struct_pack(account := {{ account('receivables') }}, department := {{ department('sales') }}, sign := -1)
        ]) as line

    from daily

),

postings as (

    select
        'CR-' || strftime(paid_date, '%Y%m%d') as entry_id,
        paid_date as entry_date,
        'sales.receivables paid ' || cast(paid_date as varchar) as source_reference,
        line.account as account_id,
        line.department as department_id,
        line.sign * received as amount,
        'EUR' as document_currency,
        line.sign * received as document_amount,
        'Customer payments, ' || invoices || ' invoices' as description

    from lines

)

{{ journal_lines('postings', 'customer_receipts', 'sales') }}
