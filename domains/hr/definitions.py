"""The hr code location, built from domains/hr/domain.yaml and dbt_projects/hr."""

from mesh_orchestrator.components.domain import build_domain_definitions

defs = build_domain_definitions("hr")
