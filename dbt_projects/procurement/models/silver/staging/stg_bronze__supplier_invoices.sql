-- stg_bronze__supplier_invoices: invoice lines as each supplier sends them, normalised by the mappings below, one row per (supplier_id, invoice_number, line_number).

with

source as (

    select * from {{ source('bronze', 'supplier_invoices') }}

),

renamed as (

    select
        supplier_id,
        invoice_number,
        line_number,
        invoice_date,
        due_date,
        po_number,
        sku,
        quantity,
        unit_price,
        line_amount,
        currency,
        _source_file,
        _row_number

    from source

)

select * from renamed
