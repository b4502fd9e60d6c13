-- stg_bronze__customer_payments: settled customer payments, one row per payment_id.

with

source as (

    select * from {{ source('bronze', 'customer_payments') }}

),

renamed as (

    select
        payment_id,
        invoice_id,
        paid_at,
        cast(timezone('UTC', paid_at) as date) as paid_date,  -- the UTC day, whatever the session's zone
        amount,
        method,
        _source_file,
        _row_number

    from source

)

select * from renamed
