{#-
    HMAC-SHA256 (hex) of a personal-data column with the domain's secret key: the only way a
    column classified pii may leave its domain (quality/policies.yaml, GOV-005).
    HMAC(K, m) = sha256((K xor opad) || sha256((K xor ipad) || m)); the padded keys come from the
    mesh's dbt-duckdb plugin (mesh_orchestrator/dbt_plugin.py), so the key never appears in SQL.
    Usage: {{ mask_pii('customer_id') }} as customer_id
-#}
{% macro mask_pii(column) -%}
    sha256(mesh_hmac_pad('outer') || unhex(sha256(mesh_hmac_pad('inner') || encode(cast({{ column }} as varchar)))))
{%- endmacro %}
