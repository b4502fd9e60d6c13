-- order_lines_skus_known: every order line refers to a sku of the consumed item catalogue.
-- Warns with the quarantined lines (they are left out of invoices).
{{ config(severity='warn') }}

select * from {{ ref('quarantine_unknown_skus') }}
