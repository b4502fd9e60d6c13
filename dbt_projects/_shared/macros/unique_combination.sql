{#-
    Generic test: the combination of `columns` is unique (a compound primary key).
    Returns one row per duplicated key with its count. No packages needed.
    Usage:
      data_tests:
        - unique_combination:
            arguments:
              columns: [sku, warehouse_id]
-#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
