-- invoice_single_currency: all lines of a supplier invoice are in one currency.
{{ config(meta={'dagster': {'ref': {'name': 'int_invoice_lines_matched'}}}) }}

select supplier_id, invoice_number, count(distinct currency) as currencies
from {{ ref('int_invoice_lines_matched') }}
group by supplier_id, invoice_number
having count(distinct currency) > 1
