-- stg_bronze__suppliers: supplier master from the ERP, one row per (supplier_id).

with

source as (

    select * from {{ source('bronze', 'suppliers') }}

),

renamed as (

    select
        supplier_id,
        supplier_name,
        country_code,
        currency,
        payment_terms_days,
        _source_file,
        _row_number

    from source

)

select * from renamed
