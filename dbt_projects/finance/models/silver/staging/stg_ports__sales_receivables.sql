-- stg_ports__sales_receivables: the sales domain's receivables as published on its output port (contract sales.receivables).

with

source as (

    select * from {{ source('ports', 'sales__receivables') }}

),

renamed as (

    select
        cast(invoice_id as varchar) as invoice_id,
        cast(customer_id as varchar) as customer_id,
        cast(channel as varchar) as channel,
        cast(invoice_date as date) as invoice_date,
        cast(invoiced_amount as decimal(18,2)) as invoiced_amount,
        cast(paid_amount as decimal(18,2)) as paid_amount,
        cast(open_amount as decimal(18,2)) as open_amount,
        cast(last_paid_date as date) as last_paid_date,
        cast(status as varchar) as status,
        cast(currency as varchar) as currency

    from source

)

select * from renamed
