{#-
    Time partitions of a dbt model (mesh_orchestrator/partitions.py). A partitioned model's run gets
    the vars partition_start and partition_end (ISO dates, end excluded) from Dagster, and replaces
    exactly those periods: it selects with in_partition() and is configured with
    partition_config('<column>'), an incremental model whose pre-hook deletes the run's periods in
    the same transaction that inserts them. Without the vars (a plain `dbt build`) every period is
    rebuilt.
    Usage:
      {{ config(**partition_config('period')) }}
      ... where {{ in_partition('period') }}
-#}
{% macro in_partition(column) -%}
    {%- if var('partition_start', none) is not none -%}
        ({{ column }} >= cast('{{ var("partition_start") }}' as date)
         and {{ column }} < cast('{{ var("partition_end") }}' as date))
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{% macro partition_config(column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'pre_hook': "{% if is_incremental() %}delete from {{ this }} where {{ in_partition('" ~ column ~ "') }}{% endif %}",
    }) }}
{%- endmacro %}
