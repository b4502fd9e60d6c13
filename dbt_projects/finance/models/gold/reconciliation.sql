-- reconciliation: finance's figures beside each provider's published product, to the cent, per
-- measure and period (or at the reporting date for balances). The finance checks reconciled_to_<provider>
-- fail on any row with a difference and name the provider, the measure, the period and the difference.

with

ledger as (

    select * from {{ ref('general_ledger') }}

),

reporting as (

    select max(period_end) as reporting_date, max(period) as reporting_period
    from {{ ref('stg_bronze__fiscal_periods') }}

),

finance_figures as (

    -- revenue per month: credits to revenue from the sales journal
    select 'sales' as provider, 'invoices' as product, 'revenue' as measure, period, 'EUR' as currency,
        -sum(amount) as amount
    from ledger where journal = 'sales' and account_id = {{ account('revenue') }}
    group by period

    union all
    select 'sales', 'invoices', 'cost_of_sales', period, 'EUR', sum(amount)
    from ledger where journal = 'cost_of_sales' and account_id = {{ account('cost_of_goods_sold') }}
    group by period

    union all
    select 'sales', 'receivables', 'open_receivables', (select reporting_period from reporting), 'EUR', sum(amount)
    from ledger where account_id = {{ account('receivables') }}

    union all
    select 'procurement', 'supplier_invoices', 'purchases', period, document_currency, -sum(document_amount)
    from ledger where journal = 'purchases' and account_id = {{ account('payables') }}
    group by period, document_currency

    union all
    select 'procurement', 'supplier_invoices', 'open_payables', (select reporting_period from reporting),
        document_currency, -sum(document_amount)
    from ledger where account_id = {{ account('payables') }}
    group by document_currency

    union all
    select 'hr', 'payroll_costs', 'payroll_cost', period, 'EUR', sum(amount)
    from ledger
    where journal = 'payroll' and account_id in ({{ account('salaries') }}, {{ account('employer_contributions') }})
    group by period

    union all
    select 'hr', 'rewards', 'rewards', period, 'EUR', sum(amount)
    from ledger where journal = 'rewards' and account_id = {{ account('rewards') }}
    group by period

    union all
    select 'inventory', 'stock_levels', 'inventory_value', (select reporting_period from reporting), 'EUR',
        sum(amount)
    from ledger where account_id = {{ account('inventory') }}

),

provider_figures as (

    select 'sales' as provider, 'invoices' as product, 'revenue' as measure,
        cast(date_trunc('month', invoice_date) as date) as period, currency, sum(net_amount) as amount
    from {{ ref('stg_ports__sales_invoices') }}
    group by all

    union all
    select 'sales', 'invoices', 'cost_of_sales', cast(date_trunc('month', invoice_date) as date), currency,
        sum(quantity * unit_cost)
    from {{ ref('stg_ports__sales_invoices') }}
    group by all

    union all
    select 'sales', 'receivables', 'open_receivables', (select reporting_period from reporting), currency,
        sum(open_amount)
    from {{ ref('stg_ports__sales_receivables') }}
    group by all

    union all
    select 'procurement', 'supplier_invoices', 'purchases', cast(date_trunc('month', invoice_date) as date),
        currency, sum(invoice_amount)
    from {{ ref('stg_ports__procurement_supplier_invoices') }}
    group by all

    union all
    select 'procurement', 'supplier_invoices', 'open_payables', (select reporting_period from reporting),
        currency, sum(open_amount)
    from {{ ref('stg_ports__procurement_supplier_invoices') }}
    group by all

    union all
    select 'hr', 'payroll_costs', 'payroll_cost', pay_period, currency, sum(total_cost)
    from {{ ref('stg_ports__hr_payroll_costs') }}
    group by all

    union all
    select 'hr', 'rewards', 'rewards', award_month, currency, sum(reward_amount)
    from {{ ref('stg_ports__hr_rewards') }}
    group by all

    union all
    select 'inventory', 'stock_levels', 'inventory_value', (select reporting_period from reporting), currency,
        sum(inventory_value)
    from {{ ref('stg_ports__inventory_stock_levels') }}
    group by all

),

compared as (

    select
        coalesce(f.provider, p.provider) as provider,
        coalesce(f.product, p.product) as product,
        coalesce(f.measure, p.measure) as measure,
        coalesce(f.period, p.period) as period,
        coalesce(f.currency, p.currency) as currency,
        coalesce(f.amount, 0) as finance_amount,
        coalesce(p.amount, 0) as provider_amount

    from finance_figures as f
    full outer join provider_figures as p
        on f.provider = p.provider
        and f.product = p.product
        and f.measure = p.measure
        and f.period = p.period
        and f.currency = p.currency

),

final as (

    select
        cast(provider as varchar) as provider,
        cast(product as varchar) as product,
        cast(measure as varchar) as measure,
        cast(period as date) as period,
        cast(currency as varchar) as currency,
        cast(finance_amount as decimal(18, 2)) as finance_amount,
        cast(provider_amount as decimal(18, 2)) as provider_amount,
        cast(finance_amount - provider_amount as decimal(18, 2)) as difference

    from compared

)

select * from final
