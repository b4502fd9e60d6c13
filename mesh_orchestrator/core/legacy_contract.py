"""The contract format before ODCS v3.1 (``api_version: v3.0.0``, flat ``schema`` of columns).

No contract in the repository is written this way any more; it is still read so that ``mesh
contracts diff --base <rev>`` compares with revisions older than the move to ODCS, and ``mesh
contracts migrate`` rewrites such a file as ODCS v3.1.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from mesh_orchestrator.core import json_schema
from mesh_orchestrator.core.contract_model import (
    Consumer,
    Contract,
    ContractColumn,
    ContractInput,
    OutputPort,
    Sla,
)
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.names import is_owner
from mesh_orchestrator.core.sql import normalise_type

SCHEMA_PATH = Path(__file__).with_name("legacy_contract.schema.json")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def is_legacy(data: Any) -> bool:
    """Whether ``data`` is a contract in the format before ODCS v3.1."""
    return (
        isinstance(data, dict) and "apiVersion" not in data and ("api_version" in data or "product" in data)
    )


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _duration(text: str | None) -> timedelta | None:
    if not text:
        return None
    return int(text[:-1]) * _UNITS[text[-1]]


def _column(path: Path, raw: dict[str, Any], where: str) -> ContractColumn:
    col_type = normalise_type(raw["type"])
    if col_type is None:
        raise SpecError(path, f"{where}.type", f"{raw['type']!r} is not a supported DuckDB type")
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SpecError(path, f"{where}.pattern", f"not a valid regular expression: {exc}") from exc
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


def parse_legacy(data: Any, path: Path) -> Contract:
    """A contract in the format before ODCS v3.1; every error names ``path`` and the field."""
    json_schema.check(_validator(), data, path)
    data = json_schema.plain(data)
    domain, product = data["domain"], data["product"]
    if data["id"] != f"{domain}.{product}":
        raise SpecError(path, "id", f"must be '{domain}.{product}' (domain.product)")
    if not is_owner(data["owner"]):
        raise SpecError(path, "owner", f"{data['owner']!r} must be 'team:<name>' or an e-mail address")
    columns = tuple(_column(path, c, f"schema[{i}]") for i, c in enumerate(data["schema"]))
    names = [c.name for c in columns]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(path, f"schema[{i}].name", f"{name!r} appears twice")
    primary_key = data.get("primary_key") or []
    if isinstance(primary_key, str):
        primary_key = [primary_key]
    for k in primary_key:
        if k not in names:
            raise SpecError(path, "primary_key", f"{k!r} is not a column of the schema")
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
        version=data["version"],
        status=str(data.get("status", "active")),
        domain=domain,
        product=product,
        owner=data["owner"],
        description=" ".join(str(data.get("description", "")).split()),
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
