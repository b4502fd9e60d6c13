-- ledger_accounts_known: every posted line uses an account of the chart of accounts.
{{ config(meta={'dagster': {'ref': {'name': 'general_ledger'}}}) }}

select distinct ledger.account_id
from {{ ref('general_ledger') }} as ledger
left join {{ ref('stg_bronze__chart_of_accounts') }} as accounts
    on ledger.account_id = accounts.account_id
where accounts.account_id is null
