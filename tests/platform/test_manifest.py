"""The one walker over a dbt manifest: upstream, downstream through models, and build order."""

from __future__ import annotations

from typing import Any

import pytest

from mesh_orchestrator.transformation.manifest import Manifest


def _node(kind: str, name: str, *parents: str) -> dict[str, Any]:
    return {"resource_type": kind, "name": name, "depends_on": {"nodes": list(parents)}}


BRONZE = "source.shop.bronze.orders"
PORT = "source.shop.ports.inventory__items"
NODES = {
    "model.shop.stg_orders": _node("model", "stg_orders", BRONZE),
    "model.shop.stg_items": _node("model", "stg_items", PORT),
    "model.shop.invoices": _node("model", "invoices", "model.shop.stg_orders", "model.shop.stg_items"),
    "model.shop.report": _node("model", "report", "model.shop.invoices"),
    "test.shop.not_null_invoices": _node("test", "not_null_invoices", "model.shop.invoices"),
    "model.shop.unrelated": _node("model", "unrelated"),
}


def test_upstream_reaches_every_source_a_model_is_built_from() -> None:
    manifest = Manifest(NODES, "shop")
    assert manifest.upstream("model.shop.invoices") == {
        "model.shop.stg_orders",
        "model.shop.stg_items",
        BRONZE,
        PORT,
    }
    assert manifest.upstream("model.shop.nope") == set()


def test_downstream_goes_through_models_only() -> None:
    manifest = Manifest(NODES, "shop")
    assert manifest.downstream_models([PORT]) == {
        "model.shop.stg_items",
        "model.shop.invoices",
        "model.shop.report",
    }
    assert manifest.downstream_models(["model.shop.report"]) == set()


def test_the_manifest_json_names_its_package() -> None:
    parsed = {"nodes": NODES, "metadata": {"project_name": "shop"}}
    assert Manifest.from_json(parsed, "other").model_id("invoices") == "model.shop.invoices"
    assert Manifest.from_json({"nodes": {}}, "other").package == "other"


def test_models_in_order_and_cycles() -> None:
    order = Manifest(NODES, "shop").models_in_order()
    assert (
        order.index("model.shop.stg_orders")
        < order.index("model.shop.invoices")
        < order.index("model.shop.report")
    )
    assert "test.shop.not_null_invoices" not in order
    cyclic = {"model.s.a": _node("model", "a", "model.s.b"), "model.s.b": _node("model", "b", "model.s.a")}
    with pytest.raises(ValueError, match="cyclic"):
        Manifest(cyclic, "s").models_in_order()
