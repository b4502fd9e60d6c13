"""The finance code location, built from domains/finance/domain.yaml and dbt_projects/finance."""

from mesh_orchestrator.components.domain import build_domain_definitions

defs = build_domain_definitions("finance")
