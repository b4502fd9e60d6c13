-- stock_movements_skus_known: every stock movement refers to a sku of the item master.
-- Warns with the unmatched movements (they are left out of stock_levels).
{{ config(severity='warn') }}

select * from {{ ref('int_stock_movements_unmatched') }}
