-- int_exchange_rates: EUR per unit of each currency and month; EUR itself is always 1.

with

rates as (

    select currency, rate_month, eur_per_unit from {{ ref('stg_bronze__exchange_rates') }}
    where currency != '{{ var("functional_currency") }}'

),

months as (

    select distinct rate_month from {{ ref('stg_bronze__exchange_rates') }}

),

functional as (

    select '{{ var("functional_currency") }}' as currency, rate_month, cast(1 as decimal(18, 6)) as eur_per_unit
    from months

)

select * from rates
union all
select * from functional
