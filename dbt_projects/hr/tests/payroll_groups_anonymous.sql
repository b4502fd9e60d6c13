-- payroll_groups_anonymous: no published payroll figure describes fewer than var('min_group_size')
-- employees, which would disclose individual pay. Returns the groups that are too small; the
-- product is then not built, so it cannot be handed off.
{{ config(meta={'dagster': {'ref': {'name': 'payroll_costs'}}}) }}

select department_id, pay_period, headcount
from {{ ref('payroll_costs') }}
where headcount < {{ var('min_group_size') }}
