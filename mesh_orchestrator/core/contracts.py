"""Data contracts (``quality/contracts/<domain>/<product>.yaml``), modelled on ODCS.

The contract is the single source of truth for a product: its Great Expectations suite, the hand-off
asset's metadata and the gold dbt model's contract are derived from it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.names import is_owner
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.sql import normalise_type

CONTRACTS_DIR = REPO_ROOT / "quality" / "contracts"
#: The JSON Schema of the contract format: editors can use it for completion and validation.
SCHEMA_PATH = CONTRACTS_DIR / "data-contract.schema.json"
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


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
    masking: str | None = None
    #: Money columns: an ISO 4217 code or the name of the column holding the currency.
    currency: str | None = None


@dataclass(frozen=True)
class Consumer:
    domain: str
    purpose: str
    granted_on: date | None = None
    expires_on: date | None = None

    def active_on(self, day: date) -> bool:
        started = self.granted_on is None or self.granted_on <= day
        return started and (self.expires_on is None or day <= self.expires_on)


@dataclass(frozen=True)
class OutputPort:
    location: str  # the Iceberg table, <domain>.<product>
    format: str = "iceberg"


@dataclass(frozen=True)
class Sla:
    freshness: timedelta | None = None
    retention: timedelta | None = None


@dataclass(frozen=True)
class ContractInput:
    """What a product is built from: a feed of its domain or a product of another one."""

    kind: str  # feed | product
    name: str


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
    purpose: str = ""
    output_port: OutputPort | None = None
    sla: Sla = field(default_factory=Sla)
    inputs: tuple[ContractInput, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ContractColumn | None:
        return next((c for c in self.columns if c.name == name), None)

    def grants(self, domain: str, day: date | None = None) -> bool:
        """Whether ``domain`` may consume the product on ``day`` (default today)."""
        day = day or date.today()
        return any(c.domain == domain and c.active_on(day) for c in self.consumers)


#: The kinds of :class:`Rule`: what a contract says about its product's rows.
ROW_COUNT, NOT_NULL, UNIQUE, IN_SET, BETWEEN, MATCHES, UNIQUE_TOGETHER = (
    "row_count",
    "not_null",
    "unique",
    "in_set",
    "between",
    "matches",
    "unique_together",
)


@dataclass(frozen=True)
class Rule:
    """One rule a contract states about its product's rows. The hand-off's Great Expectations suite
    checks every rule; the dbt model contract tests those dbt has a test for (not null, unique,
    accepted values, the compound key), so both read the contract the same way."""

    kind: str
    columns: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None


def contract_rules(contract: Contract) -> list[Rule]:
    """The contract's rules: the row count, then each column's in schema order, then the key."""
    rules = [Rule(ROW_COUNT, minimum=contract.min_rows)]
    sole_key = contract.primary_key[0] if len(contract.primary_key) == 1 else None
    for col in contract.columns:
        on = (col.name,)
        if col.required:
            rules.append(Rule(NOT_NULL, on))
        if col.unique or col.name == sole_key:
            rules.append(Rule(UNIQUE, on))
        if col.allowed_values:
            rules.append(Rule(IN_SET, on, values=col.allowed_values))
        if col.minimum is not None or col.maximum is not None:
            rules.append(Rule(BETWEEN, on, minimum=col.minimum, maximum=col.maximum))
        if col.pattern:
            rules.append(Rule(MATCHES, on, pattern=col.pattern))
    if len(contract.primary_key) > 1:
        rules.append(Rule(UNIQUE_TOGETHER, contract.primary_key))
    return rules


def contract_path(domain: str, product: str) -> Path:
    return CONTRACTS_DIR / domain / f"{product}.yaml"


def _fail(path: Path, where: str, problem: str) -> SpecError:
    return SpecError(path, where, problem)


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _where(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def _format_error(error: Any) -> tuple[str, str]:
    """(field, problem) of one JSON Schema error, in the words of a contract author."""
    parts = list(error.absolute_path)
    kind = error.validator
    if kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return _where([*parts, missing[0]]), "is required"
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return _where([*parts, extra[0]]), f"unknown field; allowed: {', '.join(allowed)}"
    if kind in ("pattern", "enum", "const", "format", "minLength", "type", "minItems", "uniqueItems"):
        hint = error.schema.get("description")
        problem = f"{error.instance!r}: {error.message}" if kind != "type" else error.message
        if kind == "pattern" and hint:
            problem = f"{error.instance!r} must be {hint}"
        elif kind == "enum":
            problem = f"{error.instance!r} must be one of {', '.join(map(str, error.validator_value))}"
        return _where(parts), problem
    return _where(parts), error.message


def _plain(value: Any) -> Any:
    """YAML dates as ISO strings, so JSON Schema sees what the author wrote."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def validate_format(data: Any, path: Path) -> None:
    """Check ``data`` against ``data-contract.schema.json``; the error lists every problem."""
    errors = sorted(_validator().iter_errors(_plain(data)), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    problems = [_format_error(e) for e in errors]
    where, problem = problems[0]
    if len(problems) > 1:
        problem += "; also " + "; ".join(f"'{w}': {p}" for w, p in problems[1:6])
    raise _fail(path, where, problem)


def _duration(text: str | None) -> timedelta | None:
    if not text:
        return None
    return int(text[:-1]) * _UNITS[text[-1]]


def _column(path: Path, raw: dict[str, Any], where: str) -> ContractColumn:
    col_type = normalise_type(raw["type"])
    if col_type is None:
        raise _fail(path, f"{where}.type", f"{raw['type']!r} is not a supported DuckDB type")
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _fail(path, f"{where}.pattern", f"not a valid regular expression: {exc}") from exc
    allowed = raw.get("allowed_values")
    return ContractColumn(
        name=raw["name"],
        type=col_type,
        required=bool(raw.get("required", False)),
        unique=bool(raw.get("unique", False)),
        description=str(raw.get("description", "")),
        classification=raw.get("classification", "internal"),
        allowed_values=tuple(str(v) for v in allowed) if allowed else None,
        minimum=raw.get("minimum"),
        maximum=raw.get("maximum"),
        pattern=pattern,
        masking=raw.get("masking"),
        currency=raw.get("currency"),
    )


def parse_contract(data: Any, path: Path) -> Contract:
    """Validate a parsed contract mapping; every error names ``path`` and the field."""
    validate_format(data, path)
    data = _plain(data)
    version = data["version"]
    domain, product = data["domain"], data["product"]
    if data["id"] != f"{domain}.{product}":
        raise _fail(path, "id", f"must be '{domain}.{product}' (domain.product)")
    if not is_owner(data["owner"]):  # the schema's pattern and names.is_owner agree; keep one truth
        raise _fail(path, "owner", f"{data['owner']!r} must be 'team:<name>' or an e-mail address")
    columns = tuple(_column(path, c, f"schema[{i}]") for i, c in enumerate(data["schema"]))
    names = [c.name for c in columns]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise _fail(path, f"schema[{i}].name", f"{name!r} appears twice")
    primary_key = data.get("primary_key") or []
    if isinstance(primary_key, str):
        primary_key = [primary_key]
    for k in primary_key:
        if k not in names:
            raise _fail(path, "primary_key", f"{k!r} is not a column of the schema")
    consumers = tuple(
        Consumer(
            domain=raw["domain"],
            purpose=raw["purpose"],
            granted_on=date.fromisoformat(raw["granted_on"]) if raw.get("granted_on") else None,
            expires_on=date.fromisoformat(raw["expires_on"]) if raw.get("expires_on") else None,
        )
        for raw in data.get("consumers") or []
    )
    port = data.get("output_port")
    sla = data.get("sla") or {}
    return Contract(
        id=data["id"],
        version=version,
        status=str(data.get("status", "active")),
        domain=domain,
        product=product,
        owner=data["owner"],
        description=str(data.get("description", "")),
        model=str(data.get("model", product)),
        primary_key=tuple(primary_key),
        columns=columns,
        consumers=consumers,
        min_rows=int((data.get("quality") or {}).get("min_rows", 1)),
        path=path,
        purpose=str(data.get("purpose", "")),
        output_port=OutputPort(port["location"], port["format"]) if port else None,
        sla=Sla(_duration(sla.get("freshness")), _duration(sla.get("retention"))),
        inputs=tuple(ContractInput(i["kind"], i["name"]) for i in data.get("inputs") or []),
        tags=tuple(data.get("tags") or ()),
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
