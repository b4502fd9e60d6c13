"""The sales code location, built from domains/sales/domain.yaml and dbt_projects/sales."""

from mesh_orchestrator.components.domain import build_domain_definitions

defs = build_domain_definitions("sales")
