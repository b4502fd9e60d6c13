"""Transformation: a domain's dbt project as Dagster assets, its masking plugin, its model contracts,
and the one walker over its manifest (lineage).
"""
