"""Governance: data contracts, their diff between revisions, and the policies evaluated over specs,
contracts and dbt.
"""
