-- int_journal_rewards: rewards and recognition of a department and month, expensed at month end and
-- accrued until they are paid with the next payroll.

with

rewards as (

    select * from {{ ref('stg_ports__hr_rewards') }}

),

lines as (

    select
        *,
        unnest([
            struct_pack(account := {{ account('rewards') }}, sign := 1),
            struct_pack(account := {{ account('accrued_payroll') }}, sign := -1)
        ]) as line

    from rewards

),

postings as (

    select
        'RW-' || department_id || '-' || strftime(award_month, '%Y%m') as entry_id,
        last_day(award_month) as entry_date,
        'hr.rewards ' || department_id || ' ' || strftime(award_month, '%Y-%m') as source_reference,
        line.account as account_id,
        department_id,
        line.sign * reward_amount as amount,
        currency as document_currency,
        line.sign * reward_amount as document_amount,
        'Rewards ' || strftime(award_month, '%Y-%m') || ', ' || awards || ' awards' as description

    from lines

)

{{ journal_lines('postings', 'rewards', 'hr') }}
