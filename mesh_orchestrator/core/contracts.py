"""Data contracts (``quality/contracts/<domain>/<product>.yaml``): Open Data Contract Standard v3.1.

The contract is the single source of truth for a product: its Great Expectations suite, the hand-off
asset's metadata and the gold dbt model's contract are derived from it. The file format lives in
:mod:`mesh_orchestrator.core.odcs`; the parsed form, which everything else reads, in
:mod:`mesh_orchestrator.core.contract_model` (re-exported here).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from mesh_orchestrator.core.contract_model import (
    BETWEEN,
    IN_SET,
    MATCHES,
    NOT_NULL,
    ROW_COUNT,
    UNIQUE,
    UNIQUE_TOGETHER,
    Consumer,
    Contract,
    ContractColumn,
    ContractInput,
    OutputPort,
    Rule,
    Sla,
    contract_rules,
)
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.legacy_contract import is_legacy, parse_legacy
from mesh_orchestrator.core.odcs import SCHEMA_PATH, parse_odcs
from mesh_orchestrator.core.paths import REPO_ROOT

__all__ = [
    "BETWEEN",
    "CONTRACTS_DIR",
    "IN_SET",
    "MATCHES",
    "NOT_NULL",
    "ROW_COUNT",
    "SCHEMA_PATH",
    "UNIQUE",
    "UNIQUE_TOGETHER",
    "Consumer",
    "Contract",
    "ContractColumn",
    "ContractInput",
    "OutputPort",
    "Rule",
    "Sla",
    "contract_path",
    "contract_rules",
    "load_contract",
    "parse_contract",
]

CONTRACTS_DIR = REPO_ROOT / "quality" / "contracts"


def contract_path(domain: str, product: str) -> Path:
    return CONTRACTS_DIR / domain / f"{product}.yaml"


def parse_contract(data: Any, path: Path) -> Contract:
    """Validate a parsed contract mapping; every error names ``path`` and the field.

    ODCS v3.1 is the format; the format before it is still read (diffs against older revisions).
    """
    if is_legacy(data):
        return parse_legacy(data, path)
    return parse_odcs(data, path)


@lru_cache(maxsize=256)
def _parse_text(text: str, path: Path) -> Contract:
    """A contract file's text, parsed and validated once per process (checking the ODCS JSON
    Schema costs tens of milliseconds, and a location loads its contracts several times)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(path, "<file>", f"not valid YAML: {exc}") from exc
    return parse_contract(data, path)


def load_contract(domain: str, product: str, path: Path | None = None) -> Contract:
    path = path or contract_path(domain, product)
    if not path.is_file():
        raise SpecError(path, "<file>", f"no contract for {domain}.{product}; every product needs one")
    contract = _parse_text(path.read_text(encoding="utf-8"), path)
    if (contract.domain, contract.product) != (domain, product):
        raise SpecError(path, "id", f"declares {contract.id} but lives at the path of {domain}.{product}")
    return contract
