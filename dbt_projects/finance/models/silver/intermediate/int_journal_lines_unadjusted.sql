-- int_journal_lines_unadjusted: every journal's lines before the period-end inventory adjustment.

{% set journals = [
    'int_journal_opening', 'int_journal_sales', 'int_journal_cost_of_sales',
    'int_journal_customer_receipts', 'int_journal_purchases', 'int_journal_supplier_payments',
    'int_journal_payroll', 'int_journal_rewards', 'int_journal_payroll_payments', 'int_journal_manual'
] %}

{% for journal in journals %}
select * from {{ ref(journal) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
