-- hr_rows_reconciled: every payslip, timecard and award is either in a product's input or in
-- quarantine_unknown_employees. Returns one row per feed whose counts do not add up.
{{ config(meta={'dagster': {'ref': {'name': 'quarantine_unknown_employees'}}}) }}

with

quarantined as (

    select feed, count(*) as n from {{ ref('quarantine_unknown_employees') }} group by feed

),

counts as (

    select
        'payroll_runs' as feed,
        (select count(*) from {{ ref('stg_bronze__payroll_runs') }}) as bronze_rows,
        (select count(*) from {{ ref('int_payslips_attributed') }}) as kept_rows
    union all
    select
        'timecards',
        (select count(*) from {{ ref('stg_bronze__timecards') }}),
        (
            select count(*) from {{ ref('stg_bronze__timecards') }} as timecards
            where timecards.employee_id in (select employee_id from {{ ref('stg_bronze__employees') }})
        )
    union all
    select
        'rewards',
        (select count(*) from {{ ref('stg_bronze__rewards') }}),
        (select count(*) from {{ ref('int_awards_attributed') }})

)

select counts.*, coalesce(quarantined.n, 0) as quarantined_rows
from counts
left join quarantined
    on counts.feed = quarantined.feed
where counts.bronze_rows != counts.kept_rows + coalesce(quarantined.n, 0)
