-- int_journal_lines_placed: every journal line with the fiscal period it falls in and whether its
-- whole entry can be posted (every line has an amount, i.e. an exchange rate, and a period).

with

lines as (

    select * from {{ ref('int_journal_lines_unadjusted') }}
    union all
    select * from {{ ref('int_journal_inventory_adjustment') }}

),

periods as (

    select * from {{ ref('stg_bronze__fiscal_periods') }}

),

placed as (

    select
        lines.*,
        periods.period,
        case
            when lines.amount is null
                then 'no_exchange_rate: ' || lines.document_currency || ' ' || strftime(lines.entry_date, '%Y-%m')
            when periods.period is null
                then 'no_fiscal_period: ' || cast(lines.entry_date as varchar)
        end as line_problem

    from lines
    left join periods
        on lines.entry_date between periods.period and periods.period_end

),

judged as (

    select
        *,
        bool_and(line_problem is null) over (partition by entry_id) as postable,
        string_agg(distinct line_problem, '; ') over (partition by entry_id) as entry_problem

    from placed

)

select * from judged
