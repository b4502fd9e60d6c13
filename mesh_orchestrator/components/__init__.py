"""Dagster components: a domain's code location built from the spec its ``defs.yaml`` declares, and
the meta-orchestrator's hand-offs.

``dg`` finds the component types here (``registry_modules`` in ``domains/dg.toml``).
"""

from mesh_orchestrator.components.domain import DomainComponent
from mesh_orchestrator.components.handoffs import HandoffsComponent

__all__ = ["DomainComponent", "HandoffsComponent"]
