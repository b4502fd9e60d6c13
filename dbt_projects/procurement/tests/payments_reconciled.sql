-- payments_reconciled: every supplier payment is either counted in the payables or quarantined.
-- Returns one row (with the counts) when they do not add up.
{{ config(meta={'dagster': {'ref': {'name': 'quarantine_unmatched_payments'}}}) }}

with

counts as (

    select
        (select count(*) from {{ ref('stg_bronze__supplier_payments') }}) as payments,
        (select coalesce(sum(payments), 0) from {{ ref('int_payments_by_invoice') }}) as matched,
        (select count(*) from {{ ref('quarantine_unmatched_payments') }}) as quarantined

)

select *
from counts
where payments != matched + quarantined
