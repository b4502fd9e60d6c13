-- int_journal_payroll: each department's payroll of a month, booked at month end: salaries and
-- employer contributions expensed, net pay accrued, tax and contributions payable.

with

payroll as (

    select * from {{ ref('stg_ports__hr_payroll_costs') }}

),

lines as (

    select
        *,
        unnest([
            struct_pack(account := {{ account('salaries') }}, eur := gross_pay),
            struct_pack(account := {{ account('employer_contributions') }}, eur := employer_contributions),
            struct_pack(account := {{ account('accrued_payroll') }}, eur := -net_pay),
            struct_pack(account := {{ account('payroll_taxes') }}, eur := -(employee_tax + employer_contributions))
        ]) as line

    from payroll

),

postings as (

    select
        'PR-' || department_id || '-' || strftime(pay_period, '%Y%m') as entry_id,
        last_day(pay_period) as entry_date,
        'hr.payroll_costs ' || department_id || ' ' || strftime(pay_period, '%Y-%m') as source_reference,
        line.account as account_id,
        department_id,
        line.eur as amount,
        currency as document_currency,
        line.eur as document_amount,
        'Payroll ' || strftime(pay_period, '%Y-%m') || ', ' || headcount || ' employees' as description

    from lines

)

{{ journal_lines('postings', 'payroll', 'hr') }}
