-- stg_ports__procurement_suppliers: the procurement domain's suppliers as published on its output port (contract procurement.suppliers).

with

source as (

    select * from {{ source('ports', 'procurement__suppliers') }}

),

renamed as (

    select
        cast(supplier_id as varchar) as supplier_id,
        cast(supplier_name as varchar) as supplier_name,
        cast(country_code as varchar) as country_code,
        cast(currency as varchar) as currency,
        cast(payment_terms_days as integer) as payment_terms_days

    from source

)

select * from renamed
