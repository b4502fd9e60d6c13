"""Data contracts as Open Data Contract Standard (ODCS) v3.1.0 documents: read and written.

A contract is first checked against the standard's own JSON Schema
(``quality/contracts/odcs-3.1.0.schema.json``, the file datacontract-cli 1.2.8 bundles), so any
ODCS tool reads it; then against the mesh's profile of the standard, which says what the platform
needs and where its extensions live:

- one schema object, named after the product; its ``physicalName`` is the gold dbt model;
- per property: ``physicalType`` a DuckDB type, ``logicalType`` the matching ODCS one, the key as
  ``primaryKey``/``primaryKeyPosition``, bounds and pattern in ``logicalTypeOptions``, allowed values
  as an ``invalidValues`` quality rule, ``customProperties`` ``masking`` and ``currency``;
- the row count floor as a ``rowCount`` quality rule of the object;
- the owner as ``team.name``; consumers as ``roles`` (role = consuming domain, ``access: read``,
  ``customProperties`` ``grantedOn``/``expiresOn``);
- freshness and retention as ``slaProperties`` ``latency`` and ``retention``;
- the output port as the server ``mesh`` (``type: custom``, ``format: iceberg``, ``catalog: mesh``,
  ``customProperties`` ``icebergTable``);
- the product's inputs as the contract's ``customProperties`` ``inputs``.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

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
from mesh_orchestrator.core.names import MESH, is_owner
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.sql import normalise_type

API_VERSION = "v3.1.0"
STANDARD = f"ODCS {API_VERSION}"
#: The standard's JSON Schema, unchanged (tests/platform/test_odcs.py pins its digest).
SCHEMA_PATH = REPO_ROOT / "quality" / "contracts" / "odcs-3.1.0.schema.json"
STATUSES = ("proposed", "draft", "active", "deprecated", "retired")
CLASSIFICATIONS = ("public", "internal", "confidential", "pii")
MASKINGS = ("hmac_sha256",)
#: The server entry every contract has: the product's table in the Iceberg catalog ``mesh``.
SERVER = MESH
ICEBERG = "iceberg"

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_CURRENCY = re.compile(r"^([A-Z]{3}|[a-z][a-z0-9_]{0,62})$")
_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_UNIT_NAMES = {"minute": "m", "minutes": "m", "hour": "h", "hours": "h", "day": "d", "days": "d"}
_UNIT_NAMES |= {"week": "w", "weeks": "w"} | {u: u for u in _UNITS}


def logical_type(duckdb_type: str) -> str:
    """The ODCS ``logicalType`` of a (normalised) DuckDB type."""
    base = duckdb_type.split("(")[0]
    return {
        "VARCHAR": "string",
        "BOOLEAN": "boolean",
        "INTEGER": "integer",
        "BIGINT": "integer",
        "DOUBLE": "number",
        "DECIMAL": "number",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "TIMESTAMPTZ": "timestamp",
    }.get(base, "string")


def is_odcs(data: Any) -> bool:
    return isinstance(data, dict) and "apiVersion" in data


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft201909Validator(schema, format_checker=jsonschema.FormatChecker())


def check_standard(data: Any, path: Path) -> None:
    """Check ``data`` against the ODCS v3.1.0 JSON Schema; the error names the field."""
    json_schema.check(_validator(), data, path, STANDARD)


class _Reader:
    """Reads one validated ODCS document into a :class:`Contract`; errors name file and field."""

    def __init__(self, data: dict[str, Any], path: Path) -> None:
        self.data = data
        self.path = path

    def fail(self, where: str, problem: str) -> SpecError:
        return SpecError(self.path, where, problem)

    def identifier(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not _IDENTIFIER.match(value):
            raise self.fail(where, f"{value!r} must be snake_case, starting with a letter")
        return value

    def custom(self, entries: Any, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
        """``customProperties`` as a mapping; a property the mesh does not know is refused by name."""
        found: dict[str, Any] = {}
        for i, entry in enumerate(entries or []):
            name = entry["property"]
            if name not in allowed:
                known = ", ".join(allowed) or "none here"
                raise self.fail(f"{where}[{i}].property", f"{name!r} is not a mesh property; known: {known}")
            if name in found:
                raise self.fail(f"{where}[{i}].property", f"{name!r} appears twice")
            found[name] = entry["value"]
        return found

    def contract(self) -> Contract:
        data = self.data
        if data["apiVersion"] != API_VERSION:
            raise self.fail(
                "apiVersion", f"{data['apiVersion']!r}: write {API_VERSION} (the mesh reads ODCS v3.1)"
            )
        for key in ("domain", "dataProduct"):
            if key not in data:
                raise self.fail(key, "is required by the mesh")
        domain = self.identifier(data["domain"], "domain")
        product = self.identifier(data["dataProduct"], "dataProduct")
        if data["id"] != f"{domain}.{product}":
            raise self.fail("id", f"must be '{domain}.{product}' (domain.dataProduct)")
        if not _SEMVER.match(str(data["version"])):
            raise self.fail("version", f"{data['version']!r} must be a semantic version MAJOR.MINOR.PATCH")
        if data["status"] not in STATUSES:
            raise self.fail("status", f"{data['status']!r} must be one of {', '.join(STATUSES)}")
        schema = data.get("schema") or []
        if len(schema) != 1:
            raise self.fail("schema", "must hold exactly one object: the product's table")
        table = schema[0]
        if table["name"] != product:
            raise self.fail("schema[0].name", f"{table['name']!r} must be the product's name, {product!r}")
        columns, primary_key = self.columns(table.get("properties") or [])
        custom = self.custom(data.get("customProperties"), ("inputs",), "customProperties")
        return Contract(
            id=data["id"],
            version=str(data["version"]),
            status=data["status"],
            domain=domain,
            product=product,
            owner=self.owner(data.get("team")),
            description=str(table.get("description", "")),
            model=self.identifier(table.get("physicalName", product), "schema[0].physicalName"),
            primary_key=primary_key,
            columns=columns,
            consumers=self.consumers(data.get("roles") or []),
            min_rows=self.min_rows(table.get("quality") or []),
            path=self.path,
            purpose=str((data.get("description") or {}).get("purpose", "")),
            output_port=self.output_port(data.get("servers") or []),
            sla=self.sla(data.get("slaProperties") or []),
            inputs=self.inputs(custom.get("inputs") or []),
            tags=tuple(self.identifier(t, f"tags[{i}]") for i, t in enumerate(data.get("tags") or [])),
        )

    def owner(self, team: Any) -> str:
        if isinstance(team, dict) and team.get("name"):
            owner = f"team:{team['name']}"
            if not is_owner(owner):
                raise self.fail(
                    "team.name", f"{team['name']!r} must be a team name: lower case, digits, - or _"
                )
            return owner
        members = team.get("members", []) if isinstance(team, dict) else []
        for member in members:
            if member.get("role") == "owner" and is_owner(member["username"]):
                return str(member["username"])
        raise self.fail("team", "name the owning team (team.name) or a member with role owner and an e-mail")

    def columns(self, properties: list[dict[str, Any]]) -> tuple[tuple[ContractColumn, ...], tuple[str, ...]]:
        if not properties:
            raise self.fail("schema[0].properties", "is required: the product's columns")
        columns, keys, names = [], [], set()
        for i, raw in enumerate(properties):
            where = f"schema[0].properties[{i}]"
            column = self.column(raw, where)
            if column.name in names:
                raise self.fail(f"{where}.name", f"{column.name!r} appears twice")
            names.add(column.name)
            columns.append(column)
            if raw.get("primaryKey"):
                keys.append((raw.get("primaryKeyPosition", -1), column.name, where))
        positions = [p for p, _, _ in keys]
        if len(keys) > 1 and sorted(positions) != list(range(1, len(keys) + 1)):
            raise self.fail(
                f"{keys[0][2]}.primaryKeyPosition",
                f"the key columns' primaryKeyPosition must be 1..{len(keys)}, got {positions}",
            )
        return tuple(columns), tuple(name for _, name, _ in sorted(keys))

    def column(self, raw: dict[str, Any], where: str) -> ContractColumn:
        name = self.identifier(raw["name"], f"{where}.name")
        if "physicalType" not in raw:
            raise self.fail(
                f"{where}.physicalType", "is required: the DuckDB type, e.g. VARCHAR or DECIMAL(18,2)"
            )
        col_type = normalise_type(raw["physicalType"])
        if col_type is None:
            raise self.fail(
                f"{where}.physicalType", f"{raw['physicalType']!r} is not a supported DuckDB type"
            )
        expected = logical_type(col_type)
        if raw.get("logicalType") != expected:
            raise self.fail(
                f"{where}.logicalType", f"{raw.get('logicalType')!r}: {col_type} is logicalType {expected}"
            )
        classification = raw.get("classification", "internal")
        if classification not in CLASSIFICATIONS:
            raise self.fail(
                f"{where}.classification", f"{classification!r} must be one of {', '.join(CLASSIFICATIONS)}"
            )
        options = raw.get("logicalTypeOptions") or {}
        pattern = options.get("pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise self.fail(
                    f"{where}.logicalTypeOptions.pattern", f"not a valid regular expression: {exc}"
                ) from exc
        custom = self.custom(
            raw.get("customProperties"), ("masking", "currency"), f"{where}.customProperties"
        )
        if custom.get("masking") is not None and custom["masking"] not in MASKINGS:
            raise self.fail(
                f"{where}.customProperties", f"masking {custom['masking']!r} must be one of {MASKINGS}"
            )
        currency = custom.get("currency")
        if currency is not None and not _CURRENCY.match(str(currency)):
            raise self.fail(
                f"{where}.customProperties", f"currency {currency!r}: an ISO 4217 code or a column name"
            )
        return ContractColumn(
            name=name,
            type=col_type,
            required=bool(raw.get("required", False)),
            unique=bool(raw.get("unique", False)),
            description=str(raw.get("description", "")),
            classification=classification,
            allowed_values=self.allowed_values(raw.get("quality") or [], f"{where}.quality"),
            minimum=options.get("minimum"),
            maximum=options.get("maximum"),
            pattern=pattern,
            masking=custom.get("masking"),
            currency=currency,
        )

    def allowed_values(self, rules: list[dict[str, Any]], where: str) -> tuple[str, ...] | None:
        allowed = None
        for i, rule in enumerate(rules):
            values = (rule.get("arguments") or {}).get("validValues")
            if rule.get("metric") != "invalidValues" or rule.get("mustBe") != 0 or not values:
                raise self.fail(
                    f"{where}[{i}]",
                    "the mesh checks one property rule: {metric: invalidValues, arguments: {validValues: "
                    "[...]}, mustBe: 0}; put other checks in quality/expectations/",
                )
            allowed = tuple(str(v) for v in values)
        return allowed

    def min_rows(self, rules: list[dict[str, Any]]) -> int:
        minimum = 1
        for i, rule in enumerate(rules):
            if rule.get("metric") != "rowCount" or "mustBeGreaterOrEqualTo" not in rule:
                raise self.fail(
                    f"schema[0].quality[{i}]",
                    "the mesh checks one object rule: {metric: rowCount, mustBeGreaterOrEqualTo: N}",
                )
            minimum = int(rule["mustBeGreaterOrEqualTo"])
        return minimum

    def output_port(self, servers: list[dict[str, Any]]) -> OutputPort | None:
        for i, server in enumerate(servers):
            if server["server"] != SERVER:
                continue
            where = f"servers[{i}]"
            custom = self.custom(
                server.get("customProperties"), ("icebergTable",), f"{where}.customProperties"
            )
            if "icebergTable" not in custom:
                raise self.fail(
                    f"{where}.customProperties",
                    "name the table: {property: icebergTable, value: <domain>.<product>}",
                )
            return OutputPort(str(custom["icebergTable"]), str(server.get("format", ICEBERG)))
        return None

    def consumers(self, roles: list[dict[str, Any]]) -> tuple[Consumer, ...]:
        consumers = []
        for i, role in enumerate(roles):
            where = f"roles[{i}]"
            domain = self.identifier(role["role"], f"{where}.role")
            if role.get("access") != "read":
                raise self.fail(
                    f"{where}.access", f"{role.get('access')!r}: a consuming domain's role has access read"
                )
            if not role.get("description"):
                raise self.fail(f"{where}.description", "is required: the consumer's purpose")
            custom = self.custom(
                role.get("customProperties"), ("grantedOn", "expiresOn"), f"{where}.customProperties"
            )
            consumers.append(
                Consumer(
                    domain=domain,
                    purpose=str(role["description"]),
                    granted_on=self.date(custom.get("grantedOn"), f"{where}.customProperties"),
                    expires_on=self.date(custom.get("expiresOn"), f"{where}.customProperties"),
                )
            )
        return tuple(consumers)

    def date(self, value: Any, where: str) -> date | None:
        if value is None or isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.fail(where, f"{value!r} is not a date (YYYY-MM-DD)") from None

    def sla(self, properties: list[dict[str, Any]]) -> Sla:
        found: dict[str, timedelta] = {}
        for i, item in enumerate(properties):
            name = item["property"]
            if name not in ("latency", "retention"):
                raise self.fail(
                    f"slaProperties[{i}].property", f"{name!r}: the mesh reads latency and retention"
                )
            unit = _UNIT_NAMES.get(str(item.get("unit", "")))
            value = item["value"]
            if unit is None or not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise self.fail(
                    f"slaProperties[{i}]", "value must be a positive whole number and unit one of m, h, d, w"
                )
            found[name] = value * _UNITS[unit]
        return Sla(found.get("latency"), found.get("retention"))

    def inputs(self, raw: Any) -> tuple[ContractInput, ...]:
        where = "customProperties.inputs"
        if not isinstance(raw, list):
            raise self.fail(where, "must be a list of {kind: feed|product, name: ...}")
        inputs = []
        for i, item in enumerate(raw):
            if (
                not isinstance(item, dict)
                or item.get("kind") not in ("feed", "product")
                or not item.get("name")
            ):
                raise self.fail(f"{where}[{i}]", f"{item!r} must be {{kind: feed|product, name: ...}}")
            inputs.append(ContractInput(item["kind"], str(item["name"])))
        return tuple(inputs)


def parse_odcs(data: Any, path: Path) -> Contract:
    """An ODCS v3.1.0 contract: the standard's schema first, then the mesh's profile of it."""
    check_standard(data, path)
    return _Reader(json_schema.plain(data), path).contract()


def _duration(value: timedelta) -> tuple[int, str]:
    for unit in ("w", "d", "h", "m"):
        if value % _UNITS[unit] == timedelta(0):
            return value // _UNITS[unit], unit
    raise ValueError(f"{value} is not a whole number of minutes")


def _customs(**values: Any) -> list[dict[str, Any]]:
    return [{"property": k, "value": v} for k, v in values.items() if v is not None]


def _property(column: ContractColumn, key_position: int | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": column.name,
        "logicalType": logical_type(column.type),
        "physicalType": column.type,
        "description": column.description,
    }
    if not column.description:
        del entry["description"]
    if column.required:
        entry["required"] = True
    if column.unique:
        entry["unique"] = True
    if key_position is not None:
        entry["primaryKey"] = True
        entry["primaryKeyPosition"] = key_position
    if column.classification != "internal":
        entry["classification"] = column.classification
    options: dict[str, Any] = {
        k: v for k, v in (("minimum", column.minimum), ("maximum", column.maximum)) if v is not None
    }
    if column.pattern:
        options["pattern"] = column.pattern
    if options:
        entry["logicalTypeOptions"] = options
    if column.allowed_values:
        entry["quality"] = [
            {
                "metric": "invalidValues",
                "arguments": {"validValues": list(column.allowed_values)},
                "mustBe": 0,
            }
        ]
    custom = _customs(masking=column.masking, currency=column.currency)
    if custom:
        entry["customProperties"] = custom
    return entry


def document(contract: Contract) -> dict[str, Any]:
    """``contract`` as an ODCS v3.1.0 document (the inverse of :func:`parse_odcs`)."""
    team = contract.owner.removeprefix("team:")
    doc: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": contract.id,
        "name": contract.product,
        "version": contract.version,
        "status": contract.status,
        "domain": contract.domain,
        "dataProduct": contract.product,
        "team": {"name": team}
        if contract.owner.startswith("team:")
        else {"members": [{"username": contract.owner, "role": "owner"}]},
        "description": {"purpose": contract.purpose} if contract.purpose else {},
    }
    if contract.tags:
        doc["tags"] = list(contract.tags)
    if contract.output_port:
        doc["servers"] = [
            {
                "server": SERVER,
                "type": "custom",
                "format": contract.output_port.format,
                "catalog": MESH,
                "description": f"The product's Iceberg table in the pyiceberg catalog {MESH!r}.",
                "customProperties": _customs(icebergTable=contract.output_port.location),
            }
        ]
    table: dict[str, Any] = {
        "name": contract.product,
        "physicalName": contract.model,
        "logicalType": "object",
        "physicalType": "table",
        "description": " ".join(contract.description.split()),
        "properties": [
            _property(c, contract.primary_key.index(c.name) + 1 if c.name in contract.primary_key else None)
            for c in contract.columns
        ],
        "quality": [{"metric": "rowCount", "mustBeGreaterOrEqualTo": contract.min_rows}],
    }
    doc["schema"] = [table]
    sla = []
    for name, value in (("latency", contract.sla.freshness), ("retention", contract.sla.retention)):
        if value is not None:
            amount, unit = _duration(value)
            sla.append({"property": name, "value": amount, "unit": unit})
    if sla:
        doc["slaProperties"] = sla
    doc["roles"] = [
        {
            "role": c.domain,
            "access": "read",
            "description": c.purpose,
            **(
                {"customProperties": custom}
                if (
                    custom := _customs(
                        grantedOn=c.granted_on.isoformat() if c.granted_on else None,
                        expiresOn=c.expires_on.isoformat() if c.expires_on else None,
                    )
                )
                else {}
            ),
        }
        for c in contract.consumers
    ]
    if contract.inputs:
        doc["customProperties"] = _customs(inputs=[{"kind": i.kind, "name": i.name} for i in contract.inputs])
    return doc


HEADER = (
    "# Data contract in the Open Data Contract Standard v3.1.0: the single source of truth for the\n"
    "# product's GX suite, asset metadata and dbt contract. Format: mesh_orchestrator/core/odcs.py.\n"
    "# yaml-language-server: $schema=../odcs-3.1.0.schema.json\n"
)


class _Dumper(yaml.SafeDumper):
    """Block style, but a list of plain values on one line (``validValues: [web, store]``)."""


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flat = all(isinstance(v, str | int | float | bool) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat and bool(value))


_Dumper.add_representer(list, _list)


def dump(contract: Contract) -> str:
    """The YAML text of ``contract``'s ODCS document, with the header every contract file has."""
    body = yaml.dump(document(contract), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body
