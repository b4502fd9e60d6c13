-- stg_ports__item_catalogue: the inventory item catalogue as published on its output port, one row per sku.

with

source as (

    select * from {{ source('ports', 'inventory__item_catalogue') }}

),

renamed as (

    select
        cast(sku as varchar) as sku,
        cast(item_name as varchar) as item_name,
        cast(category as varchar) as category,
        cast(unit_of_measure as varchar) as unit_of_measure,
        cast(unit_cost as decimal(18, 2)) as unit_cost,
        cast(list_price as decimal(18, 2)) as list_price,
        cast(currency as varchar) as currency

    from source

)

select * from renamed
