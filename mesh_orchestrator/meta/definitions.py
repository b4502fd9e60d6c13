"""The meta-orchestrator code location: the HandoffsComponent that defs.yaml beside this file declares.

It reads domain specs and contracts as data and never imports a domain's code. A domain whose spec
does not load, whose contracts are invalid or that breaks a mesh-wide policy is left out; the other
domains' hand-offs load and run (``mesh_orchestrator/components/handoffs.py``).
"""

from mesh_orchestrator.components.location import load_location

defs = load_location(__name__)
