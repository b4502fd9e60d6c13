-- int_journal_payroll_payments: net pay, rewards, payroll tax and contributions of a month are paid
-- by treasury on the payroll payment day of the next month (var payroll_payment_day). Payments
-- falling after the reporting date have not happened yet: those amounts stay accrued.

with

payroll as (

    select
        department_id,
        pay_period as month,
        net_pay as accrued,
        employee_tax + employer_contributions as taxes
    from {{ ref('stg_ports__hr_payroll_costs') }}

    union all

    select department_id, award_month, reward_amount, 0
    from {{ ref('stg_ports__hr_rewards') }}

),

due as (

    select
        department_id,
        month,
        cast(month + interval 1 month + interval ({{ var('payroll_payment_day') }} - 1) day as date) as paid_date,
        sum(accrued) as accrued,
        sum(taxes) as taxes

    from payroll
    group by department_id, month

),

paid as (

    select * from due
    where paid_date <= {{ reporting_date() }}

),

lines as (

    select
        *,
        unnest([
            struct_pack(account := {{ account('accrued_payroll') }}, department := department_id, eur := accrued),
            struct_pack(account := {{ account('payroll_taxes') }}, department := department_id, eur := taxes),
            struct_pack(account := {{ account('clearing') }}, department := department_id, eur := -(accrued + taxes)),
            struct_pack(account := {{ account('clearing') }}, department := {{ department('treasury') }},
                eur := accrued + taxes),
            struct_pack(account := {{ account('cash') }}, department := {{ department('treasury') }},
                eur := -(accrued + taxes))
        ]) as line

    from paid

),

postings as (

    select
        'PP-' || department_id || '-' || strftime(month, '%Y%m') as entry_id,
        paid_date as entry_date,
        'hr.payroll_costs and hr.rewards ' || department_id || ' ' || strftime(month, '%Y-%m') as source_reference,
        line.account as account_id,
        line.department as department_id,
        line.eur as amount,
        'EUR' as document_currency,
        line.eur as document_amount,
        'Payroll payment for ' || strftime(month, '%Y-%m') as description

    from lines

)

{{ journal_lines('postings', 'payroll_payments', 'hr') }}
