-- order_lines_reconciled: no order line is lost between silver and gold:
-- count(int_order_lines_unioned) = count(invoices) + count(quarantine_unknown_skus).
-- Returns one row (with the three counts) when they do not add up.
{{ config(meta={'dagster': {'ref': {'name': 'invoices'}}}) }}

with

counts as (

    select
        (select count(*) from {{ ref('int_order_lines_unioned') }}) as unioned_lines,
        (select count(*) from {{ ref('invoices') }}) as invoice_lines,
        (select count(*) from {{ ref('quarantine_unknown_skus') }}) as quarantined_lines

)

select *
from counts
where unioned_lines != invoice_lines + quarantined_lines
