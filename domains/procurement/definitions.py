"""The procurement code location, built from domains/procurement/domain.yaml and dbt_projects/procurement."""

from mesh_orchestrator.components.domain import build_domain_definitions

defs = build_domain_definitions("procurement")
