-- stg_bronze__warehouses: warehouses and their locations, one row per warehouse_id.

with

source as (

    select * from {{ source('bronze', 'warehouses') }}

),

renamed as (

    select
        warehouse_id,
        warehouse_name,
        city,
        country_code,
        _source_file,
        _row_number,
        _ingested_at

    from source

)

select * from renamed
