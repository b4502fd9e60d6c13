-- stg_bronze__departments: department master from the HR system, one row per department, one row per (department_id).

with

source as (

    select * from {{ source('bronze', 'departments') }}

),

renamed as (

    select
        department_id,
        department_name,
        cost_centre,
        _source_file,
        _row_number

    from source

)

select * from renamed
