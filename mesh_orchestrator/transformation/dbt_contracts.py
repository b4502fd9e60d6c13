"""The dbt model contracts of a domain's products, derived from its data contracts.

``dbt_projects/<domain>/models/gold/_products.yml`` is generated, never edited: columns, types,
descriptions, ``not_null``, ``accepted_values`` and primary-key tests come from
``quality/contracts/<domain>/<product>.yaml``, so the contract is written once. ``mesh contracts
sync-dbt`` rewrites the files; ``--check`` (and a test) fails when one is out of date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mesh_orchestrator.core.contracts import (
    IN_SET,
    NOT_NULL,
    UNIQUE,
    UNIQUE_TOGETHER,
    Contract,
    ContractColumn,
    Rule,
    contract_rules,
    load_contract,
)
from mesh_orchestrator.core.spec import DomainSpec

PRODUCTS_FILE = Path("models") / "gold" / "_products.yml"
HEADER = (
    "# Generated from quality/contracts/{domain}/*.yaml by `mesh contracts sync-dbt`: do not edit.\n"
    "# The dbt model contracts of the {domain} domain's data products (enforced at build time).\n"
)


def _dbt_test(rule: Rule) -> Any:
    """The dbt data test of a contract rule; None for rules only the hand-off's suite checks
    (row count, ranges, patterns: dbt has no built-in test for them)."""
    if rule.kind == NOT_NULL:
        return "not_null"
    if rule.kind == UNIQUE:
        return "unique"
    if rule.kind == IN_SET:
        return {"accepted_values": {"arguments": {"values": list(rule.values)}}}
    if rule.kind == UNIQUE_TOGETHER:
        return {"unique_combination": {"arguments": {"columns": list(rule.columns)}}}
    return None


def _column(column: ContractColumn, rules: list[Rule]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": column.name, "data_type": column.type}
    if column.description:
        entry["description"] = column.description
    tests = [t for t in (_dbt_test(r) for r in rules if r.columns == (column.name,)) if t is not None]
    if tests:
        entry["data_tests"] = tests
    return entry


def _model(contract: Contract) -> dict[str, Any]:
    model: dict[str, Any] = {"name": contract.model, "description": " ".join(contract.description.split())}
    rules = contract_rules(contract)
    compound = [_dbt_test(r) for r in rules if r.kind == UNIQUE_TOGETHER]
    if compound:
        model["data_tests"] = compound
    model["columns"] = [_column(c, rules) for c in contract.columns]
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


def _describe(path: str, want: Any, have: Any) -> str:
    return f"{path}: contract says {want!r}, dbt file says {have!r}"


def _first_difference(want: Any, have: Any, path: str) -> str | None:
    if isinstance(want, dict) and isinstance(have, dict):
        for key in list(want) + [k for k in have if k not in want]:
            found = _first_difference(want.get(key), have.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            label = w.get("name") if isinstance(w, dict) and "name" in w else str(i)
            found = _first_difference(w, h, f"{path}[{label}]")
            if found:
                return found
        return None
    return None if want == have else _describe(path, want, have)


def contract_drift(spec: DomainSpec, contracts: Iterable[Contract] | None = None) -> list[tuple[str, str]]:
    """(product, first difference) for every product whose dbt model contract in
    ``_products.yml`` differs from what its data contract generates (``contracts``: the domain's
    valid contracts; default: load them all)."""
    path = spec.dbt_project / PRODUCTS_FILE
    current = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    models = {m.get("name"): m for m in (current or {}).get("models") or [] if isinstance(m, dict)}
    if contracts is None:
        contracts = [load_contract(spec.name, product) for product in spec.products]
    drift = []
    for contract in contracts:
        product = contract.product
        want = _model(contract)
        have = models.get(want["name"])
        if have is None:
            drift.append((product, f"model {want['name']} is missing from {PRODUCTS_FILE}"))
            continue
        difference = _first_difference(want, have, want["name"])
        if difference:
            drift.append((product, difference))
    return drift


def gold_contracts_enforced(spec: DomainSpec) -> bool:
    """Whether ``dbt_project.yml`` enforces model contracts on the gold folder."""
    project = yaml.safe_load((spec.dbt_project / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    gold = ((project.get("models") or {}).get(spec.name) or {}).get("gold") or {}
    return bool((gold.get("+contract") or gold.get("contract") or {}).get("enforced"))
