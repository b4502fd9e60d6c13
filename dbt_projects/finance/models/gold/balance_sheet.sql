-- balance_sheet: data product, at the reporting date for the company and each department
-- (contract finance.balance_sheet). Equity includes the profit of the period (account
-- profit_for_period, computed from the income statement accounts, never posted to).

with

ledger as (

    select * from {{ ref('general_ledger') }}
    where entry_date <= {{ reporting_date() }}

),

accounts as (

    select * from {{ ref('stg_bronze__chart_of_accounts') }}

),

scoped as (

    select 'company' as scope, account_id, amount from ledger
    union all
    select department_id, account_id, amount from ledger

),

balances as (

    select
        scoped.scope,
        case
            when accounts.account_type in ('revenue', 'expense') then {{ account('profit_for_period') }}
            else scoped.account_id
        end as account_id,
        sum(scoped.amount) as debit_balance

    from scoped
    inner join accounts
        on scoped.account_id = accounts.account_id
    group by all

),

final as (

    select
        cast({{ reporting_date() }} as date) as as_of_date,
        cast(balances.scope as varchar) as scope,
        cast(
            case accounts.account_type
                when 'asset' then 'assets'
                when 'liability' then 'liabilities'
                else 'equity'
            end as varchar
        ) as section,
        cast(coalesce(accounts.statement_line, 'Profit for the period') as varchar) as statement_line,
        cast(balances.account_id as varchar) as account_id,
        cast(coalesce(accounts.account_name, 'Profit for the period') as varchar) as account_name,
        cast(
            case when accounts.account_type = 'asset' then balances.debit_balance else -balances.debit_balance end
            as decimal(18, 2)
        ) as balance

    from balances
    left join accounts
        on balances.account_id = accounts.account_id

)

select * from final
