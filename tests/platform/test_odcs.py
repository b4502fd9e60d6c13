"""Contracts are Open Data Contract Standard v3.1.0 documents: the standard's schema, the mesh's
profile of it, the round trip to and from the parsed contract, and the format before it."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from mesh_orchestrator.core import odcs
from mesh_orchestrator.core.contracts import CONTRACTS_DIR, load_contract, parse_contract
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.legacy_contract import parse_legacy

CONTRACT_FILES = sorted(CONTRACTS_DIR.glob("*/*.yaml"))
#: sha256 of odcs-3.1.0.schema.json as datacontract-cli 1.2.8 bundles it (datacontract/schemas/).
STANDARD_SHA256 = "e2893c5a50ea91cab2f1548279e5677e7cd8bfe4970d7016d538512ebecbc915"


def _invoices() -> dict[str, Any]:
    return yaml.safe_load((CONTRACTS_DIR / "sales" / "invoices.yaml").read_text(encoding="utf-8"))


def test_the_standards_schema_is_the_published_file() -> None:
    assert hashlib.sha256(odcs.SCHEMA_PATH.read_bytes()).hexdigest() == STANDARD_SHA256


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda p: f"{p.parent.name}.{p.stem}")
def test_every_contract_is_odcs_3_1_and_round_trips(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["apiVersion"] == "v3.1.0"
    odcs.check_standard(data, path)
    contract = load_contract(path.parent.name, path.stem)
    assert contract.output_port is not None and contract.output_port.location == contract.id
    assert parse_contract(odcs.document(contract), path) == contract


def test_a_contract_in_the_format_before_odcs_reads_as_its_odcs_document(tmp_path: Path) -> None:
    legacy = {
        "kind": "DataContract",
        "api_version": "v3.0.0",
        "id": "inventory.items",
        "version": "1.2.0",
        "domain": "inventory",
        "product": "items",
        "owner": "team:inventory",
        "purpose": "Price items.",
        "description": "One row per item.\n",
        "output_port": {"location": "inventory.items", "format": "iceberg"},
        "primary_key": ["sku"],
        "schema": [
            {"name": "sku", "type": "VARCHAR", "required": True, "description": "Stock keeping unit."},
            {"name": "price", "type": "DECIMAL(18,2)", "minimum": 0, "currency": "EUR"},
            {"name": "unit", "type": "VARCHAR", "allowed_values": ["each", "box"]},
            {"name": "email", "type": "VARCHAR", "classification": "pii", "masking": "hmac_sha256"},
        ],
        "quality": {"min_rows": 3},
        "sla": {"freshness": "26h", "retention": "400d"},
        "consumers": [{"domain": "sales", "purpose": "pricing", "granted_on": "2026-01-15"}],
        "inputs": [{"kind": "feed", "name": "items"}],
    }
    path = tmp_path / "items.yaml"
    contract = parse_legacy(legacy, path)
    assert parse_contract(legacy, path) == contract
    document = odcs.document(contract)
    odcs.check_standard(document, path)
    assert parse_contract(yaml.safe_load(odcs.dump(contract)), path) == contract
    assert document["schema"][0]["properties"][2]["quality"] == [
        {"metric": "invalidValues", "arguments": {"validValues": ["each", "box"]}, "mustBe": 0}
    ]
    assert document["roles"] == [
        {
            "role": "sales",
            "access": "read",
            "description": "pricing",
            "customProperties": [{"property": "grantedOn", "value": "2026-01-15"}],
        }
    ]


def _set(data: dict[str, Any], where: str, value: Any) -> None:
    *parents, last = where.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is None:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value


@pytest.mark.parametrize(
    ("where", "value", "field", "message"),
    [
        ("apiVersion", "v3.0.2", "apiVersion", "write v3.1.0"),
        ("servers.0.type", "iceberg", "servers[0].type", "against the ODCS v3.1.0 JSON Schema"),
        ("kind", None, "kind", "is required"),
        ("id", "sales.bills", "id", "must be 'sales.invoices' (domain.dataProduct)"),
        ("team", {"description": "nobody"}, "team", "name the owning team"),
        ("schema.0.name", "bills", "schema[0].name", "must be the product's name"),
        ("schema.0.properties.0.physicalType", "TEXTY", "schema[0].properties[0].physicalType", "supported"),
        (
            "schema.0.properties.0.logicalType",
            "integer",
            "schema[0].properties[0].logicalType",
            "is logicalType string",
        ),
        ("schema.0.properties.1.primaryKeyPosition", 1, "schema[0].properties[0].primaryKeyPosition", "1..2"),
        (
            "schema.0.properties.4.customProperties.0.property",
            "mask",
            "schema[0].properties[4].customProperties[0].property",
            "'mask' is not a mesh property; known: masking, currency",
        ),
        (
            "schema.0.properties.3.quality.0.metric",
            "nullValues",
            "schema[0].properties[3].quality[0]",
            "invalidValues",
        ),
        ("schema.0.quality.0.metric", "duplicateValues", "schema[0].quality[0]", "rowCount"),
        ("roles.0.access", "write", "roles[0].access", "access read"),
        ("roles.0.customProperties.0.value", "15 January", "roles[0].customProperties", "is not a date"),
        ("slaProperties.0.unit", "fortnights", "slaProperties[0]", "unit one of m, h, d, w"),
        ("servers.0.customProperties", [], "servers[0].customProperties", "icebergTable"),
        ("customProperties.0.value.0.kind", "table", "customProperties.inputs[0]", "kind: feed|product"),
    ],
)
def test_a_contract_error_names_the_field_and_what_to_fix(
    where: str, value: Any, field: str, message: str, tmp_path: Path
) -> None:
    data = copy.deepcopy(_invoices())
    _set(data, where, value)
    with pytest.raises(SpecError) as error:
        parse_contract(data, tmp_path / "invoices.yaml")
    assert error.value.field == field
    assert message in error.value.problem
