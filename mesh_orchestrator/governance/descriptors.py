"""Data product descriptors: ``quality/products/<domain>/<product>.odps.yaml``.

A documented subset of the Open Data Product Standard (ODPS) v1.0.0, generated from what already
says it (the domain spec and the contracts) by ``mesh products sync``, so it never disagrees with
them; policy GOV-013 fails a descriptor that drifted. Fields, all of ODPS v1.0.0:

- ``apiVersion``, ``kind``, ``id`` (``<domain>.<product>``), ``name``, ``version`` (the contract's),
  ``status``, ``domain``, ``tags``, ``description.purpose`` and ``description.usage`` (what a row is);
- ``team``: the owning team as a member with role ``owner``;
- ``inputPorts``: each feed the product is built from (``contractId`` points at the feed's
  declaration in the domain spec, ``version`` is a digest of its declared columns and key) and each
  consumed product (``contractId`` its contract, ``version`` the contract's version);
- ``outputPorts``: the product's Iceberg table, governed by its contract, with the consumed
  products as ``inputContracts``;
- ``customProperties``: ``slos`` (freshness and retention from the contract's SLA),
  ``codeLocation``, ``consumers`` and ``links`` (the files behind the product, from the repository
  root).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from mesh_orchestrator.core.contracts import Contract, load_contract
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.spec import DomainSpec, FeedSpec
from mesh_orchestrator.transformation.dbt_contracts import SyncResult

API_VERSION = "v1.0.0"
PRODUCTS_DIR = REPO_ROOT / "quality" / "products"
SUFFIX = ".odps.yaml"
HEADER = (
    "# Data product descriptor, Open Data Product Standard v1.0.0 (a documented subset).\n"
    "# Generated from domains/{domain}/defs.yaml and the contracts by `mesh products sync`: do not edit.\n"
)


def descriptor_path(domain: str, product: str) -> Path:
    return PRODUCTS_DIR / domain / f"{product}{SUFFIX}"


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def _duration(value: timedelta | None) -> str | None:
    if value is None:
        return None
    for unit, size in (("w", timedelta(weeks=1)), ("d", timedelta(days=1)), ("h", timedelta(hours=1))):
        if value % size == timedelta(0):
            return f"{value // size}{unit}"
    return f"{int(value.total_seconds() // 60)}m"


def feed_version(feed: FeedSpec) -> str:
    """A digest of what a feed promises (its columns, types and key): it changes when they do."""
    shape = {"key": list(feed.key), "columns": [[c.name, c.type, c.required] for c in feed.columns]}
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:12]


def descriptor(spec: DomainSpec, contract: Contract, consumed: dict[str, Contract]) -> dict[str, Any]:
    """The ODPS document of ``contract``'s product; ``consumed`` holds the contracts of the products
    it is built from, by id."""
    feeds = {f.name: f for f in spec.feeds}
    input_ports: list[dict[str, Any]] = []
    input_contracts: list[dict[str, Any]] = []
    for item in contract.inputs:
        if item.kind == "feed":
            feed = feeds[item.name]
            contract_id = f"{_relative(spec.path)}#feeds.{feed.name}"
            input_ports.append({"name": feed.name, "version": feed_version(feed), "contractId": contract_id})
        else:
            version = consumed[item.name].version
            input_ports.append({"name": item.name, "version": version, "contractId": item.name})
            input_contracts.append({"id": item.name, "version": version})
    output: dict[str, Any] = {
        "name": contract.id,
        "description": f"Iceberg table {contract.id} in the catalog mesh, branch main.",
        "type": "iceberg",
        "version": contract.version,
        "contractId": contract.id,
    }
    if input_contracts:
        output["inputContracts"] = input_contracts
    slos = {"freshness": _duration(contract.sla.freshness), "retention": _duration(contract.sla.retention)}
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataProduct",
        "id": contract.id,
        "name": contract.product,
        "version": contract.version,
        "status": contract.status,
        "domain": contract.domain,
        "description": {"purpose": contract.purpose, "usage": contract.description},
        "team": [{"username": contract.owner, "role": "owner"}],
        "inputPorts": input_ports,
        "outputPorts": [output],
        "customProperties": [
            {"property": "slos", "value": {k: v for k, v in slos.items() if v}},
            {"property": "codeLocation", "value": spec.name},
            {
                "property": "consumers",
                "value": [
                    {"domain": c.domain, "purpose": c.purpose}
                    | ({"grantedOn": c.granted_on.isoformat()} if c.granted_on else {})
                    | ({"expiresOn": c.expires_on.isoformat()} if c.expires_on else {})
                    for c in contract.consumers
                ],
            },
            {
                "property": "links",
                "value": {
                    "contract": _relative(contract.path),
                    "domainSpec": _relative(spec.path),
                    "dbtModel": _relative(spec.dbt_project / "models" / "gold" / f"{contract.model}.sql"),
                },
            },
        ],
    }
    if contract.tags:
        document["tags"] = list(contract.tags)
    return document


def render(spec: DomainSpec, contract: Contract, consumed: dict[str, Contract]) -> str:
    """The text of the descriptor file of ``contract``'s product (see :func:`descriptor`)."""
    body = yaml.safe_dump(
        descriptor(spec, contract, consumed), sort_keys=False, allow_unicode=True, width=100
    )
    return HEADER.format(domain=spec.name) + body


def _ref(product_id: str) -> tuple[str, str]:
    domain, product = product_id.split(".", 1)
    return domain, product


def sync_descriptors(spec: DomainSpec, write: bool = True) -> list[SyncResult]:
    """Bring the domain's descriptors in line with its spec and contracts (or only report drift)."""
    results = []
    for product in spec.products:
        path = descriptor_path(spec.name, product)
        contract = load_contract(spec.name, product)
        consumed = {i.name: load_contract(*_ref(i.name)) for i in contract.inputs if i.kind == "product"}
        text = render(spec, contract, consumed)
        changed = (path.read_text(encoding="utf-8") if path.exists() else None) != text
        if changed and write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        results.append(SyncResult(path, changed))
    return results
