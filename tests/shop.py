"""A made-up product for tests of ports and hand-offs: ``shop.items``, and a domain that consumes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mesh_orchestrator.core.spec import DomainSpec, ProductRef

NUMBERED = [{"name": "n", "type": "BIGINT", "required": True}]


def items_contract(schema: list[dict[str, Any]], primary_key: str, **changes: Any) -> dict[str, Any]:
    """The data contract of ``shop.items`` (version 1.0.0 unless ``changes`` say otherwise)."""
    return {
        "id": "shop.items",
        "version": "1.0.0",
        "domain": "shop",
        "product": "items",
        "owner": "team:shop",
        "primary_key": [primary_key],
        "schema": schema,
        **changes,
    }


def consumer(name: str = "till") -> DomainSpec:
    """A domain that consumes ``shop.items`` and nothing else."""
    return DomainSpec(
        name=name,
        owner=f"team:{name}",
        description="",
        dbt_project=Path("."),
        feeds=(),
        products=(),
        consumes=(ProductRef("shop", "items"),),
    )
