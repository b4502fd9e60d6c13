-- item_catalogue: data product, one row per sellable item (contract inventory.item_catalogue).

with

items as (

    select * from {{ ref('stg_bronze__items') }}

),

final as (

    select
        cast(sku as varchar) as sku,
        cast(item_name as varchar) as item_name,
        cast(category as varchar) as category,
        cast(unit_of_measure as varchar) as unit_of_measure,
        cast(unit_cost as decimal(18, 2)) as unit_cost,
        cast(list_price as decimal(18, 2)) as list_price,
        cast(currency as varchar) as currency

    from items

)

select * from final
