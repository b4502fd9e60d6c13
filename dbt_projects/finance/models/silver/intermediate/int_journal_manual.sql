-- int_journal_manual: journals booked by hand by the accountants, as entered.

with

manual as (

    select * from {{ ref('stg_bronze__manual_journals') }}

),

postings as (

    select
        journal_id as entry_id,
        entry_date,
        'manual journal ' || journal_id as source_reference,
        account_id,
        department_id,
        debit - credit as amount,
        '{{ var("functional_currency") }}' as document_currency,
        debit - credit as document_amount,
        description

    from manual

)

{{ journal_lines('postings', 'manual', 'finance') }}
