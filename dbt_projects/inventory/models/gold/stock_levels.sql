-- stock_levels: data product, quantity on hand per sku and warehouse valued at standard unit cost
-- (contract inventory.stock_levels). Keeps zero balances (out of stock is information); negative
-- balances are left out and reported by the warn test stock_balances_non_negative.

with

balances as (

    select * from {{ ref('int_stock_movements_aggregated') }}

),

items as (

    select * from {{ ref('stg_bronze__items') }}

),

valued as (

    select
        balances.sku,
        balances.warehouse_id,
        items.category,
        balances.quantity_on_hand,
        items.unit_cost,
        balances.quantity_on_hand * items.unit_cost as inventory_value,
        items.currency

    from balances
    inner join items
        on balances.sku = items.sku
    where balances.quantity_on_hand >= 0

),

final as (

    select
        cast(sku as varchar) as sku,
        cast(warehouse_id as varchar) as warehouse_id,
        cast(category as varchar) as category,
        cast(quantity_on_hand as bigint) as quantity_on_hand,
        cast(unit_cost as decimal(18, 2)) as unit_cost,
        cast(inventory_value as decimal(18, 2)) as inventory_value,
        cast(currency as varchar) as currency

    from valued

)

select * from final
