"""A domain's dbt manifest, and the one walker over its graph: what a model is built from, what is
built from it, and the order dbt builds models in.

Used to check a contract's declared ``inputs`` against the real lineage, to split a partitioned
domain's dbt assets, by the contract diff to find every asset a breaking change reaches, and by the
benchmark's replay of the models.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mesh_orchestrator.core import names
from mesh_orchestrator.core.spec import DomainSpec

Node = Mapping[str, Any]


@dataclass(frozen=True)
class Manifest:
    """The manifest's nodes (models, tests, seeds ...; sources are not nodes) and their edges, read
    from each node's ``depends_on`` (dbt's ``parent_map``; the children are its inverse)."""

    nodes: Mapping[str, Node]
    package: str
    _children: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for unique_id in sorted(self.nodes):
            for parent in self.parents(unique_id):
                self._children.setdefault(parent, []).append(unique_id)

    @classmethod
    def from_json(cls, parsed: Mapping[str, Any], package: str) -> Manifest:
        """A parsed ``manifest.json``; ``package`` when it does not name its project."""
        return cls(parsed["nodes"], parsed.get("metadata", {}).get("project_name") or package)

    @classmethod
    def of(cls, spec: DomainSpec) -> Manifest:
        """The manifest of the domain's dbt project as its files are now (parsed first if new)."""
        from mesh_orchestrator.transformation.dbt import dbt_project

        path = Path(dbt_project(spec).manifest_path)
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")), spec.name)

    def model_id(self, model: str) -> str:
        return f"model.{self.package}.{model}"

    def model_names(self) -> set[str]:
        return {str(n["name"]) for n in self.nodes.values() if n.get("resource_type") == "model"}

    def is_model(self, unique_id: str) -> bool:
        return self.nodes.get(unique_id, {}).get("resource_type") == "model"

    def parents(self, unique_id: str) -> list[str]:
        return list(self.nodes.get(unique_id, {}).get("depends_on", {}).get("nodes", []))

    def children(self, unique_id: str) -> list[str]:
        return self._children.get(unique_id, [])

    def upstream(self, unique_id: str) -> set[str]:
        """Everything ``unique_id`` is built from, transitively: models, seeds and sources."""
        return self._reach([unique_id], self.parents, lambda _: True) - {unique_id}

    def downstream_models(self, unique_ids: Iterable[str]) -> set[str]:
        """The models built from ``unique_ids``, transitively, through models only (not themselves)."""
        starts = list(unique_ids)
        return self._reach(starts, self.children, self.is_model) - set(starts)

    def models_in_order(self) -> list[str]:
        """The models in dependency order (dependencies first, ties by node id)."""
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(unique_id: str, chain: tuple[str, ...]) -> None:
            if state.get(unique_id) == "done":
                return
            if state.get(unique_id) == "visiting":
                raise ValueError(f"cyclic dbt models: {' -> '.join((*chain, unique_id))}")
            state[unique_id] = "visiting"
            for parent in sorted(self.parents(unique_id)):
                if self.is_model(parent):
                    visit(parent, (*chain, unique_id))
            state[unique_id] = "done"
            order.append(unique_id)

        for unique_id in sorted(u for u in self.nodes if self.is_model(u)):
            visit(unique_id, ())
        return order

    @staticmethod
    def _reach(starts: list[str], step: Any, follow: Any) -> set[str]:
        """The nodes reached from ``starts`` by ``step``, entering only nodes that ``follow`` accepts."""
        seen = set(starts)
        todo = list(starts)
        while todo:
            for nxt in step(todo.pop()):
                if nxt not in seen and follow(nxt):
                    seen.add(nxt)
                    todo.append(nxt)
        return seen


def model_inputs(spec: DomainSpec, model: str, manifest: Manifest | None = None) -> set[tuple[str, str]]:
    """The feeds (``("feed", name)``) and products (``("product", "<domain>.<product>")``) that
    ``model`` is built from, transitively. Unknown model: an empty set."""
    from mesh_orchestrator.transformation.dbt import BRONZE_SOURCE, PORTS_SOURCE

    manifest = manifest or Manifest.of(spec)
    found: set[tuple[str, str]] = set()
    for unique_id in manifest.upstream(manifest.model_id(model)):
        if unique_id.startswith("source."):
            source, table = unique_id.split(".")[2:4]
            if source == BRONZE_SOURCE:
                found.add(("feed", table))
            elif source == PORTS_SOURCE:
                domain, product = names.parse_handoff_name(table)
                found.add(("product", f"{domain}.{product}"))
    return found
