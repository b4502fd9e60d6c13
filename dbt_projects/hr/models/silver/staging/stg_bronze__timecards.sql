-- stg_bronze__timecards: daily attendance per employee from the time-tracking system, one row per (employee_id, work_date).

with

source as (

    select * from {{ source('bronze', 'timecards') }}

),

renamed as (

    select
        employee_id,
        work_date,
        hours_worked,
        absence_type,
        _source_file,
        _row_number

    from source

)

select * from renamed
