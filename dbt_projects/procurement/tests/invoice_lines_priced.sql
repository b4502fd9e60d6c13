-- invoice_lines_priced (warn): a supplier's line amount is its quantity times its unit price.
-- Finance books what the supplier invoiced; a difference is for procurement to query.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_invoice_lines_matched'}}}) }}

select supplier_id, invoice_number, line_number, quantity, unit_price, line_amount
from {{ ref('int_invoice_lines_matched') }}
where quantity * unit_price != line_amount
