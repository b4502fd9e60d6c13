-- int_journal_opening: the opening balances carried forward, as one entry per balance date.

with

balances as (

    select * from {{ ref('stg_bronze__opening_balances') }}

),

postings as (

    select
        'OB-' || strftime(balance_date, '%Y%m%d') as entry_id,
        balance_date as entry_date,
        'opening balances ' || cast(balance_date as varchar) as source_reference,
        account_id,
        department_id,
        balance as amount,
        '{{ var("functional_currency") }}' as document_currency,
        balance as document_amount,
        'Balance carried forward' as description

    from balances

)

{{ journal_lines('postings', 'opening', 'finance') }}
