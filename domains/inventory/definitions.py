"""The inventory code location, built from domains/inventory/domain.yaml and dbt_projects/inventory."""

from mesh_orchestrator.components.domain import build_domain_definitions

defs = build_domain_definitions("inventory")
