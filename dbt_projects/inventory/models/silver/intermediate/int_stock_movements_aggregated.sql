-- int_stock_movements_aggregated: net quantity per sku and warehouse, from movements of known skus only.
-- Negative balances stay here (stock_levels keeps balances >= 0; stock_balances_non_negative warns).

with

movements as (

    select * from {{ ref('stg_bronze__stock_movements') }}

),

items as (

    select * from {{ ref('stg_bronze__items') }}

),

matched as (

    select movements.*
    from movements
    inner join items
        on movements.sku = items.sku

),

aggregated as (

    select
        sku,
        warehouse_id,
        cast(sum(quantity) as bigint) as quantity_on_hand,
        count(*) as movement_count,
        max(moved_at) as last_moved_at

    from matched
    group by sku, warehouse_id

)

select * from aggregated
