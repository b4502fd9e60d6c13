"""Data product descriptors (ODPS v1.0.0, a documented subset): generated from the spec and the
contracts, using only the standard's fields, and policy GOV-013 catches one that drifted."""

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from mesh_orchestrator.core.contracts import CONTRACTS_DIR, load_contract
from mesh_orchestrator.core.spec import ProductRef, load_all_specs
from mesh_orchestrator.governance import descriptors as odps
from mesh_orchestrator.governance.policies import Landscape, evaluate

#: The fields of ODPS v1.0.0 (schema/odps-json-schema-v1.0.0.json of bitol-io/open-data-product-standard).
TOP_LEVEL = {
    "apiVersion", "kind", "id", "name", "version", "status", "domain", "tenant", "authoritativeDefinitions",
    "description", "customProperties", "tags", "inputPorts", "outputPorts", "managementPorts", "support",
    "team", "productCreatedTs",
}  # fmt: skip
INPUT_PORT = {"name", "version", "contractId"}
OUTPUT_PORT = {"name", "description", "type", "version", "contractId", "sbom", "inputContracts"}
DESCRIPTORS = sorted(odps.PRODUCTS_DIR.glob(f"*/*{odps.SUFFIX}"))


def test_every_product_has_one_descriptor_and_nothing_else_is_there() -> None:
    products = {f"{s.name}.{p}" for s in load_all_specs().values() for p in s.products}
    assert {f"{p.parent.name}.{p.name.removesuffix(odps.SUFFIX)}" for p in DESCRIPTORS} == products
    assert len(list(CONTRACTS_DIR.glob("*/*.yaml"))) == len(DESCRIPTORS)


@pytest.mark.parametrize("path", DESCRIPTORS, ids=lambda p: f"{p.parent.name}.{p.name.split('.')[0]}")
def test_a_descriptor_uses_only_odps_fields_and_names_every_input(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(data) <= TOP_LEVEL and {"apiVersion", "kind", "id", "status"} <= set(data)
    assert (data["apiVersion"], data["kind"]) == ("v1.0.0", "DataProduct")
    assert all(set(port) == INPUT_PORT for port in data["inputPorts"])
    (output,) = data["outputPorts"]
    assert set(output) <= OUTPUT_PORT and output["type"] == "iceberg"
    contract = load_contract(path.parent.name, data["name"])
    assert output["contractId"] == contract.id and output["version"] == contract.version
    assert [p["name"] for p in data["inputPorts"]] == [i.name for i in contract.inputs]
    consumed = [p for p in data["inputPorts"] if p["contractId"] == p["name"]]
    for port in consumed:
        assert port["version"] == load_contract(*port["name"].split(".")).version
    assert output.get("inputContracts", []) == [{"id": p["name"], "version": p["version"]} for p in consumed]


def test_a_feeds_port_version_follows_its_declared_shape() -> None:
    feed = load_all_specs()["sales"].feeds[0]
    same = replace(feed, description="another text")
    wider = replace(feed, columns=(*feed.columns, replace(feed.columns[0], name="extra")))
    assert odps.feed_version(same) == odps.feed_version(feed) != odps.feed_version(wider)


def test_gov013_a_descriptor_that_drifted_or_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(odps, "PRODUCTS_DIR", tmp_path)
    landscape = Landscape.load()
    spec = landscape.specs["sales"]
    for result in odps.sync_descriptors(spec):
        assert result.changed and result.path.is_file()
    path = odps.descriptor_path("sales", "invoices")
    path.write_text(path.read_text().replace("version: 2.0.0", "version: 1.0.0"))
    (tmp_path / "sales" / "receivables.odps.yaml").unlink()
    found = {
        v.subject: v.message for v in evaluate(landscape) if v.policy.id == "GOV-013" and v.domain == "sales"
    }
    assert set(found) == {"sales.invoices", "sales.receivables"}
    assert "disagrees with the domain spec and contracts: run `mesh products sync`" in found["sales.invoices"]
    assert found["sales.receivables"].endswith("is missing: run `mesh products sync`")
    assert ProductRef("sales", "invoices") in landscape.contracts
