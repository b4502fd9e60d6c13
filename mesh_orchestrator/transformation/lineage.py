"""What a domain's dbt models are built from, read from the dbt project's manifest.

Used to check a contract's declared ``inputs`` against the real lineage, and by the contract diff to
find every asset a breaking change reaches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mesh_orchestrator.core import names
from mesh_orchestrator.core.spec import DomainSpec
from mesh_orchestrator.transformation.dbt import BRONZE_SOURCE, PORTS_SOURCE


def manifest(spec: DomainSpec) -> dict[str, Any]:
    """The dbt manifest of the domain's project as its files are now."""
    from mesh_orchestrator.transformation.dbt import dbt_project

    path = Path(dbt_project(spec).manifest_path)  # parsed first if the project's files are new
    return dict(json.loads(path.read_text(encoding="utf-8")))


def model_inputs(spec: DomainSpec, model: str, parsed: dict[str, Any] | None = None) -> set[tuple[str, str]]:
    """The feeds (``("feed", name)``) and products (``("product", "<domain>.<product>")``) that
    ``model`` is built from, transitively. Unknown model: an empty set."""
    parsed = parsed or manifest(spec)
    parents: dict[str, list[str]] = parsed["parent_map"]
    found: set[tuple[str, str]] = set()
    seen: set[str] = set()
    stack = [f"model.{spec.name}.{model}"]
    while stack:
        unique_id = stack.pop()
        if unique_id in seen:
            continue
        seen.add(unique_id)
        if unique_id.startswith("source."):
            source, table = unique_id.split(".")[2:4]
            if source == BRONZE_SOURCE:
                found.add(("feed", table))
            elif source == PORTS_SOURCE:
                domain, product = names.parse_handoff_name(table)
                found.add(("product", f"{domain}.{product}"))
            continue
        stack += parents.get(unique_id, [])
    return found
