"""The finance code location, built from domains/finance/domain.yaml and dbt_projects/finance."""

from mesh_orchestrator.domain_definitions import build_domain_definitions

defs = build_domain_definitions("finance")
