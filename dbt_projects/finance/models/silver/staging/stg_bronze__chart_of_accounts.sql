-- stg_bronze__chart_of_accounts: the chart of accounts, maintained by the controllers, one row per (account_id).

with

source as (

    select * from {{ source('bronze', 'chart_of_accounts') }}

),

renamed as (

    select
        account_id,
        account_name,
        account_type,
        statement_line,
        _source_file,
        _row_number

    from source

)

select * from renamed
