-- stg_ports__procurement_supplier_invoices: the procurement domain's supplier_invoices as published on its output port (contract procurement.supplier_invoices).

with

source as (

    select * from {{ source('ports', 'procurement__supplier_invoices') }}

),

renamed as (

    select
        cast(supplier_id as varchar) as supplier_id,
        cast(invoice_number as varchar) as invoice_number,
        cast(invoice_date as date) as invoice_date,
        cast(due_date as date) as due_date,
        cast(currency as varchar) as currency,
        cast(invoice_lines as bigint) as invoice_lines,
        cast(invoice_amount as decimal(18,2)) as invoice_amount,
        cast(paid_amount as decimal(18,2)) as paid_amount,
        cast(open_amount as decimal(18,2)) as open_amount,
        cast(last_paid_date as date) as last_paid_date,
        cast(status as varchar) as status,
        cast(receipt_matched as boolean) as receipt_matched

    from source

)

select * from renamed
