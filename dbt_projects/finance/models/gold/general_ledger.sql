-- general_ledger: data product, every posted journal line (contract finance.general_ledger).
-- Partitioned by month (the close): a run replaces the periods of its partitions.

{{ config(**partition_config('period')) }}

with

lines as (

    select * from {{ ref('int_journal_lines_placed') }}
    where postable and {{ in_partition('period') }}

),

final as (

    select
        cast(entry_id as varchar) as entry_id,
        cast(
            row_number() over (
                partition by entry_id order by department_id, amount desc, account_id
            ) as integer
        ) as line_number,
        cast(entry_date as date) as entry_date,
        cast(period as date) as period,
        cast(journal as varchar) as journal,
        cast(source_domain as varchar) as source_domain,
        cast(source_reference as varchar) as source_reference,
        cast(account_id as varchar) as account_id,
        cast(department_id as varchar) as department_id,
        cast(debit as decimal(18, 2)) as debit,
        cast(credit as decimal(18, 2)) as credit,
        cast(amount as decimal(18, 2)) as amount,
        cast(document_currency as varchar) as document_currency,
        cast(document_amount as decimal(18, 2)) as document_amount,
        cast(description as varchar) as description

    from lines

)

select * from final
