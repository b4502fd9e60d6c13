-- int_stock_movements_unmatched: movements whose sku is not in the item master.
-- They are left out of stock_levels; the warn test stock_movements_skus_known surfaces them.

with

movements as (

    select * from {{ ref('stg_bronze__stock_movements') }}

),

items as (

    select * from {{ ref('stg_bronze__items') }}

),

unmatched as (

    select
        movements.movement_id,
        movements.sku,
        movements.warehouse_id,
        movements.movement_type,
        movements.quantity,
        movements.moved_at,
        movements.reference,
        'unknown_sku: ' || movements.sku as reason,
        movements._source_file,
        movements._row_number

    from movements
    left join items
        on movements.sku = items.sku
    where items.sku is null

)

select * from unmatched
