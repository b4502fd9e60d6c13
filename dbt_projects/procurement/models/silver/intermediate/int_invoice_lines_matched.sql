-- int_invoice_lines_matched: supplier invoice lines with what was ordered and received for the same
-- purchase order and sku (three-way match: order, receipt, invoice).

with

invoice_lines as (

    select * from {{ ref('stg_bronze__supplier_invoices') }}

),

order_lines as (

    select * from {{ ref('stg_bronze__purchase_orders') }}

),

receipts as (

    select * from {{ ref('stg_bronze__goods_receipts') }}

),

ordered as (

    select po_number, sku, sum(quantity) as quantity_ordered
    from order_lines
    group by po_number, sku

),

received as (

    select order_lines.po_number, order_lines.sku, sum(receipts.quantity_received) as quantity_received
    from receipts
    inner join order_lines
        on receipts.po_number = order_lines.po_number
        and receipts.line_number = order_lines.line_number
    group by order_lines.po_number, order_lines.sku

),

matched as (

    select
        invoice_lines.supplier_id,
        invoice_lines.invoice_number,
        invoice_lines.line_number,
        invoice_lines.invoice_date,
        invoice_lines.due_date,
        invoice_lines.po_number,
        invoice_lines.sku,
        invoice_lines.quantity,
        invoice_lines.unit_price,
        invoice_lines.line_amount,
        invoice_lines.currency,
        coalesce(ordered.quantity_ordered, 0) as quantity_ordered,
        coalesce(received.quantity_received, 0) as quantity_received,
        invoice_lines.quantity <= coalesce(received.quantity_received, 0) as receipt_matched,
        invoice_lines._source_file,
        invoice_lines._row_number

    from invoice_lines
    left join ordered
        on invoice_lines.po_number = ordered.po_number
        and invoice_lines.sku = ordered.sku
    left join received
        on invoice_lines.po_number = received.po_number
        and invoice_lines.sku = received.sku

)

select * from matched
