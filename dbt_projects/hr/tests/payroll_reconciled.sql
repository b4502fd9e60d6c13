-- payroll_reconciled: the payroll_costs product carries every cent of the attributed payslips.
-- Returns one row per pay period whose totals differ.
{{ config(meta={'dagster': {'ref': {'name': 'payroll_costs'}}}) }}

with

payslips as (

    select pay_period, sum(gross_pay) as gross_pay, sum(net_pay) as net_pay
    from {{ ref('int_payslips_attributed') }}
    group by pay_period

),

product as (

    select pay_period, sum(gross_pay) as gross_pay, sum(net_pay) as net_pay
    from {{ ref('payroll_costs') }}
    group by pay_period

)

select payslips.pay_period, payslips.gross_pay, product.gross_pay as product_gross_pay
from payslips
full outer join product
    on payslips.pay_period = product.pay_period
where payslips.gross_pay is distinct from product.gross_pay
    or payslips.net_pay is distinct from product.net_pay
