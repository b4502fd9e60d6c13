-- stock_balances_non_negative: no sku and warehouse has issued more than it received.
-- Warns with the negative balances (they are left out of stock_levels).
{{ config(severity='warn') }}

select * from {{ ref('int_stock_movements_aggregated') }}
where quantity_on_hand < 0
