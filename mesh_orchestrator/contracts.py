"""Data contracts (``quality/contracts/<domain>/<product>.yaml``), modelled on ODCS.

The contract is the single source of truth for a product: its Great Expectations suite, the hand-off
asset's metadata and the gold dbt model's contract are derived from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mesh_orchestrator.errors import SpecError
from mesh_orchestrator.names import is_owner
from mesh_orchestrator.paths import REPO_ROOT
from mesh_orchestrator.sql import is_identifier, normalise_type

CONTRACTS_DIR = REPO_ROOT / "quality" / "contracts"
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
CLASSIFICATIONS = ("public", "internal", "confidential", "pii")


@dataclass(frozen=True)
class ContractColumn:
    name: str
    type: str
    required: bool = False
    unique: bool = False
    description: str = ""
    classification: str = "internal"
    allowed_values: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class Consumer:
    domain: str
    purpose: str


@dataclass(frozen=True)
class Contract:
    id: str
    version: str
    status: str
    domain: str
    product: str
    owner: str
    description: str
    model: str
    primary_key: tuple[str, ...]
    columns: tuple[ContractColumn, ...]
    consumers: tuple[Consumer, ...]
    min_rows: int
    path: Path

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def grants(self, domain: str) -> bool:
        return any(c.domain == domain for c in self.consumers)


def contract_path(domain: str, product: str) -> Path:
    return CONTRACTS_DIR / domain / f"{product}.yaml"


def _fail(path: Path, where: str, problem: str) -> SpecError:
    return SpecError(path, where, problem)


def _column(path: Path, raw: Any, where: str) -> ContractColumn:
    if not isinstance(raw, dict):
        raise _fail(path, where, "expected a mapping with name and type")
    allowed_keys = {
        "name",
        "type",
        "required",
        "unique",
        "description",
        "classification",
        "allowed_values",
        "minimum",
        "maximum",
        "pattern",
    }
    extra = sorted(set(raw) - allowed_keys)
    if extra:
        raise _fail(path, f"{where}.{extra[0]}", f"unknown field; allowed: {', '.join(sorted(allowed_keys))}")
    name = raw.get("name")
    if not is_identifier(name):
        raise _fail(path, f"{where}.name", f"{name!r} must be snake_case")
    col_type = normalise_type(raw.get("type", ""))
    if col_type is None:
        raise _fail(path, f"{where}.type", f"{raw.get('type')!r} is not a supported DuckDB type")
    classification = raw.get("classification", "internal")
    if classification not in CLASSIFICATIONS:
        raise _fail(path, f"{where}.classification", f"must be one of {', '.join(CLASSIFICATIONS)}")
    allowed = raw.get("allowed_values")
    if allowed is not None and (not isinstance(allowed, list) or not allowed):
        raise _fail(path, f"{where}.allowed_values", "must be a non-empty list")
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _fail(path, f"{where}.pattern", f"not a valid regular expression: {exc}") from exc
    for bound in ("minimum", "maximum"):
        if raw.get(bound) is not None and not isinstance(raw[bound], int | float):
            raise _fail(path, f"{where}.{bound}", "must be a number")
    return ContractColumn(
        name=str(name),
        type=col_type,
        required=bool(raw.get("required", False)),
        unique=bool(raw.get("unique", False)),
        description=str(raw.get("description", "")),
        classification=classification,
        allowed_values=tuple(str(v) for v in allowed) if allowed else None,
        minimum=raw.get("minimum"),
        maximum=raw.get("maximum"),
        pattern=pattern,
    )


def parse_contract(data: Any, path: Path) -> Contract:
    """Validate a parsed contract mapping; every error names ``path`` and the field."""
    if not isinstance(data, dict):
        raise _fail(path, "<root>", "expected a mapping")
    for key in ("id", "version", "domain", "product", "owner", "schema"):
        if not data.get(key):
            raise _fail(path, key, "is required")
    version = str(data["version"])
    if not _SEMVER.match(version):
        raise _fail(path, "version", f"{version!r} is not a semantic version MAJOR.MINOR.PATCH")
    domain, product = data["domain"], data["product"]
    if data["id"] != f"{domain}.{product}":
        raise _fail(path, "id", f"must be '{domain}.{product}' (domain.product)")
    owner = data["owner"]
    if not is_owner(owner):
        raise _fail(path, "owner", f"{owner!r} must be 'team:<name>' or an e-mail address")
    if not isinstance(data["schema"], list):
        raise _fail(path, "schema", "must be a list of columns")
    columns = tuple(_column(path, c, f"schema[{i}]") for i, c in enumerate(data["schema"]))
    names = [c.name for c in columns]
    primary_key = data.get("primary_key") or []
    if isinstance(primary_key, str):
        primary_key = [primary_key]
    for k in primary_key:
        if k not in names:
            raise _fail(path, "primary_key", f"{k!r} is not a column of the schema")
    consumers = []
    for i, raw in enumerate(data.get("consumers") or []):
        if not isinstance(raw, dict) or not is_identifier(raw.get("domain")):
            raise _fail(path, f"consumers[{i}].domain", "must name a consumer domain in snake_case")
        if not raw.get("purpose"):
            raise _fail(path, f"consumers[{i}].purpose", "is required: say why the domain needs it")
        consumers.append(Consumer(domain=raw["domain"], purpose=str(raw["purpose"])))
    quality = data.get("quality") or {}
    min_rows = int(quality.get("min_rows", 1)) if isinstance(quality, dict) else 1
    return Contract(
        id=data["id"],
        version=version,
        status=str(data.get("status", "active")),
        domain=domain,
        product=product,
        owner=owner,
        description=str(data.get("description", "")),
        model=str(data.get("model", product)),
        primary_key=tuple(primary_key),
        columns=columns,
        consumers=tuple(consumers),
        min_rows=min_rows,
        path=path,
    )


def load_contract(domain: str, product: str, path: Path | None = None) -> Contract:
    path = path or contract_path(domain, product)
    if not path.is_file():
        raise _fail(path, "<file>", f"no contract for {domain}.{product}; every product needs one")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _fail(path, "<file>", f"not valid YAML: {exc}") from exc
    contract = parse_contract(data, path)
    if (contract.domain, contract.product) != (domain, product):
        raise _fail(path, "id", f"declares {contract.id} but lives at the path of {domain}.{product}")
    return contract
