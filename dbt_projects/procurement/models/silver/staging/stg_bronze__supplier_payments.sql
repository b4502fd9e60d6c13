-- stg_bronze__supplier_payments: payments to suppliers from the bank, in the invoice currency, one row per (payment_id).

with

source as (

    select * from {{ source('bronze', 'supplier_payments') }}

),

renamed as (

    select
        payment_id,
        supplier_id,
        invoice_number,
        paid_date,
        amount,
        currency,
        _source_file,
        _row_number

    from source

)

select * from renamed
