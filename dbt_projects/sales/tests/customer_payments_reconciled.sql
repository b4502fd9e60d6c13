-- customer_payments_reconciled: every customer payment is counted in receivables or quarantined,
-- and receivables carry every cent of the invoice lines. Returns one row when a count or sum differs.
{{ config(meta={'dagster': {'ref': {'name': 'receivables'}}}) }}

with

figures as (

    select
        (select count(*) from {{ ref('stg_bronze__customer_payments') }}) as payments,
        (select coalesce(sum(payments), 0) from {{ ref('int_customer_payments_by_invoice') }}) as matched,
        (select count(*) from {{ ref('quarantine_unmatched_customer_payments') }}) as quarantined,
        (select sum(net_amount) from {{ ref('invoices') }}) as invoiced_lines,
        (select sum(invoiced_amount) from {{ ref('receivables') }}) as invoiced_receivables

)

select *
from figures
where payments != matched + quarantined
    or invoiced_lines is distinct from invoiced_receivables
