-- payslips_balanced: every payslip's net pay is its gross pay less the tax withheld.
-- Returns the payslips that do not balance.
{{ config(meta={'dagster': {'ref': {'name': 'int_payslips_attributed'}}}) }}

select payslip_id, employee_id, pay_period, gross_pay, employee_tax, net_pay
from {{ ref('int_payslips_attributed') }}
where gross_pay - employee_tax != net_pay
