{#- Posting helpers of the finance domain: accounts and departments come from the project vars
    (dbt_project.yml), so the posting rules are declared once. -#}

{% macro account(name) -%}
    '{{ var("accounts")[name] }}'
{%- endmacro %}

{% macro department(name) -%}
    '{{ var("departments")[name] }}'
{%- endmacro %}

{% macro reporting_date() -%}
    (select max(period_end) from {{ ref('stg_bronze__fiscal_periods') }})
{%- endmacro %}

{#- Signed postings (amount: debit positive, credit negative, EUR) -> journal lines. Lines with no
    amount in either currency are dropped; a NULL amount (no exchange rate) is kept, so that the
    entry is quarantined rather than posted half. -#}
{% macro journal_lines(postings, journal, source_domain) %}
select
    entry_id,
    cast(entry_date as date) as entry_date,
    '{{ journal }}' as journal,
    '{{ source_domain }}' as source_domain,
    cast(source_reference as varchar) as source_reference,
    cast(account_id as varchar) as account_id,
    cast(department_id as varchar) as department_id,
    cast(greatest(amount, 0) as decimal(18, 2)) as debit,
    cast(greatest(-amount, 0) as decimal(18, 2)) as credit,
    cast(amount as decimal(18, 2)) as amount,
    cast(document_currency as varchar) as document_currency,
    cast(document_amount as decimal(18, 2)) as document_amount,
    cast(description as varchar) as description
from {{ postings }}
where amount is null or amount != 0 or document_amount != 0
{% endmacro %}
