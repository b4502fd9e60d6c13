"""Dagster components: a domain's code location built from its declarative spec."""
