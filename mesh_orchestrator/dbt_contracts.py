"""The dbt model contracts of a domain's products, derived from its data contracts.

``dbt_projects/<domain>/models/gold/_products.yml`` is generated, never edited: columns, types,
descriptions, ``not_null``, ``accepted_values`` and primary-key tests come from
``quality/contracts/<domain>/<product>.yaml``, so the contract is written once. ``mesh contracts
sync-dbt`` rewrites the files; ``--check`` (and a test) fails when one is out of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mesh_orchestrator.contracts import Contract, ContractColumn, load_contract
from mesh_orchestrator.spec import DomainSpec

PRODUCTS_FILE = Path("models") / "gold" / "_products.yml"
HEADER = (
    "# Generated from quality/contracts/{domain}/*.yaml by `mesh contracts sync-dbt`: do not edit.\n"
    "# The dbt model contracts of the {domain} domain's data products (enforced at build time).\n"
)


def _column(column: ContractColumn, sole_key: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": column.name, "data_type": column.type}
    if column.description:
        entry["description"] = column.description
    tests: list[Any] = []
    if column.required:
        tests.append("not_null")
    if column.unique or sole_key:
        tests.append("unique")
    if column.allowed_values:
        tests.append({"accepted_values": {"arguments": {"values": list(column.allowed_values)}}})
    if tests:
        entry["data_tests"] = tests
    return entry


def _model(contract: Contract) -> dict[str, Any]:
    model: dict[str, Any] = {"name": contract.model, "description": " ".join(contract.description.split())}
    if len(contract.primary_key) > 1:
        model["data_tests"] = [{"unique_combination": {"arguments": {"columns": list(contract.primary_key)}}}]
    sole_key = contract.primary_key[0] if len(contract.primary_key) == 1 else None
    model["columns"] = [_column(c, c.name == sole_key) for c in contract.columns]
    return model


def render_products_yaml(spec: DomainSpec) -> str:
    """The text of the domain's ``_products.yml``: one dbt model per product, in spec order."""
    models = [_model(load_contract(spec.name, product)) for product in spec.products]
    body = yaml.safe_dump({"version": 2, "models": models}, sort_keys=False, width=110)
    return HEADER.format(domain=spec.name) + "\n" + body


@dataclass(frozen=True)
class SyncResult:
    path: Path
    changed: bool


def sync_products_yaml(spec: DomainSpec, write: bool = True) -> SyncResult:
    """Bring the domain's ``_products.yml`` in line with its contracts (or only report drift)."""
    path = spec.dbt_project / PRODUCTS_FILE
    text = render_products_yaml(spec)
    current = path.read_text(encoding="utf-8") if path.exists() else None
    changed = current != text
    if changed and write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return SyncResult(path, changed)
