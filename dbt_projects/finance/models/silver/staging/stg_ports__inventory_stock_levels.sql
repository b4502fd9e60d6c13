-- stg_ports__inventory_stock_levels: the inventory domain's stock_levels as published on its output port (contract inventory.stock_levels).

with

source as (

    select * from {{ source('ports', 'inventory__stock_levels') }}

),

renamed as (

    select
        cast(sku as varchar) as sku,
        cast(warehouse_id as varchar) as warehouse_id,
        cast(category as varchar) as category,
        cast(quantity_on_hand as bigint) as quantity_on_hand,
        cast(unit_cost as decimal(18,2)) as unit_cost,
        cast(inventory_value as decimal(18,2)) as inventory_value,
        cast(currency as varchar) as currency

    from source

)

select * from renamed
