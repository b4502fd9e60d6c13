"""The finance code location: the DomainComponent that defs.yaml beside this file declares."""

from mesh_orchestrator.components.location import load_location

defs = load_location(__name__)
