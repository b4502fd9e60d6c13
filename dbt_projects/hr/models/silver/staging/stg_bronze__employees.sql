-- stg_bronze__employees: employee master with personal data (pii), exported nightly, one row per (employee_id).

with

source as (

    select * from {{ source('bronze', 'employees') }}

),

renamed as (

    select
        employee_id,
        first_name,
        last_name,
        email,
        national_id,
        bank_account,
        birth_date,
        department_id,
        job_title,
        hire_date,
        termination_date,
        annual_salary,
        currency,
        _source_file,
        _row_number

    from source

)

select * from renamed
