{#-
    Time partitions of a dbt model (mesh_orchestrator/core/partitions.py). A partitioned model's run gets
    the environment variables MESH_PARTITION_START and MESH_PARTITION_END (ISO dates, end excluded)
    from Dagster (not vars: changing vars makes dbt re-parse the whole project), and replaces
    exactly those periods: it selects with in_partition() and is configured with
    partition_config('<column>'), an incremental model whose pre-hook deletes the run's periods in
    the same transaction that inserts them. Without them (a plain `dbt build`) every period is
    rebuilt.
    Usage:
      {{ config(**partition_config('period')) }}
      ... where {{ in_partition('period') }}
-#}
{% macro in_partition(column) -%}
    {%- set start = env_var('MESH_PARTITION_START', '') -%}
    {%- if start -%}
        ({{ column }} >= cast('{{ start }}' as date)
         and {{ column }} < cast('{{ env_var("MESH_PARTITION_END") }}' as date))
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
