-- income_statement: data product, per fiscal period and income or expense account, company-wide
-- (contract finance.income_statement): income positive, expenses negative, so the sum is the profit.
-- Partitioned by month (the close): a run replaces the periods of its partitions.

{{ config(**partition_config('period')) }}

with

ledger as (

    select * from {{ ref('general_ledger') }}

),

accounts as (

    select * from {{ ref('stg_bronze__chart_of_accounts') }}
    where account_type in ('revenue', 'expense')

),

periods as (

    select period from {{ ref('stg_bronze__fiscal_periods') }}
    where {{ in_partition('period') }}

),

amounts as (

    select
        periods.period,
        accounts.account_id,
        any_value(accounts.account_name) as account_name,
        any_value(accounts.account_type) as account_type,
        any_value(accounts.statement_line) as statement_line,
        -coalesce(sum(ledger.amount), 0) as amount

    from periods
    cross join accounts
    left join ledger
        on ledger.period = periods.period
        and ledger.account_id = accounts.account_id
    group by periods.period, accounts.account_id

),

final as (

    select
        cast(period as date) as period,
        cast(statement_line as varchar) as statement_line,
        cast(account_id as varchar) as account_id,
        cast(account_name as varchar) as account_name,
        cast(account_type as varchar) as account_type,
        cast(amount as decimal(18, 2)) as amount

    from amounts

)

select * from final
