-- trial_balance: data product, per fiscal period and account (contract finance.trial_balance).
-- The opening balances journal opens the first period; each later period opens with the previous close.
-- Partitioned by month (the close): a run replaces the periods of its partitions.

{{ config(**partition_config('period')) }}

with

ledger as (

    select * from {{ ref('general_ledger') }}

),

accounts as (

    select * from {{ ref('stg_bronze__chart_of_accounts') }}

),

periods as (

    select period from {{ ref('stg_bronze__fiscal_periods') }}
    where {{ in_partition('period') }}

),

grid as (

    select periods.period, accounts.account_id, accounts.account_name, accounts.account_type
    from periods
    cross join accounts

),

movements as (

    select
        grid.period,
        grid.account_id,
        any_value(grid.account_name) as account_name,
        any_value(grid.account_type) as account_type,
        coalesce(sum(ledger.amount) filter (
            where ledger.journal = 'opening' or ledger.period < grid.period
        ), 0) as opening_balance,
        coalesce(sum(ledger.debit) filter (
            where ledger.journal != 'opening' and ledger.period = grid.period
        ), 0) as debits,
        coalesce(sum(ledger.credit) filter (
            where ledger.journal != 'opening' and ledger.period = grid.period
        ), 0) as credits

    from grid
    left join ledger
        on grid.account_id = ledger.account_id
        and ledger.period <= grid.period
    group by grid.period, grid.account_id

),

final as (

    select
        cast(period as date) as period,
        cast(account_id as varchar) as account_id,
        cast(account_name as varchar) as account_name,
        cast(account_type as varchar) as account_type,
        cast(opening_balance as decimal(18, 2)) as opening_balance,
        cast(debits as decimal(18, 2)) as debits,
        cast(credits as decimal(18, 2)) as credits,
        cast(opening_balance + debits - credits as decimal(18, 2)) as closing_balance

    from movements

)

select * from final
