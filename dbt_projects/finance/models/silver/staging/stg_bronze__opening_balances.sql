-- stg_bronze__opening_balances: balances carried forward per account and department (debit positive, credit negative), one row per (account_id, department_id).

with

source as (

    select * from {{ source('bronze', 'opening_balances') }}

),

renamed as (

    select
        account_id,
        department_id,
        balance_date,
        balance,
        _source_file,
        _row_number

    from source

)

select * from renamed
