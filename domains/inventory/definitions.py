"""The inventory code location: the DomainComponent that defs.yaml beside this file declares."""

from mesh_orchestrator.components.domain import load_domain_location

defs = load_domain_location(__name__)
