-- suppliers: data product, the supplier dimension (contract procurement.suppliers).

with

suppliers as (

    select * from {{ ref('stg_bronze__suppliers') }}

),

final as (

    select
        cast(supplier_id as varchar) as supplier_id,
        cast(supplier_name as varchar) as supplier_name,
        cast(country_code as varchar) as country_code,
        cast(currency as varchar) as currency,
        cast(payment_terms_days as integer) as payment_terms_days

    from suppliers

)

select * from final
