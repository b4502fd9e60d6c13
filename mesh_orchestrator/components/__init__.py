"""Dagster components: a domain's code location, built from the spec its ``defs.yaml`` declares.

``dg`` finds the component types here (``registry_modules`` in ``domains/dg.toml``).
"""

from mesh_orchestrator.components.domain import DomainComponent

__all__ = ["DomainComponent"]
