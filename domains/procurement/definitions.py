"""The procurement code location, built from domains/procurement/domain.yaml and dbt_projects/procurement."""

from mesh_orchestrator.domain_definitions import build_domain_definitions

defs = build_domain_definitions("procurement")
