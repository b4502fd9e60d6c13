"""The declarative domain spec (the attributes of ``domains/<domain>/defs.yaml``, a Dagster component),
validated into typed objects.

A domain is data: its landing feeds, its dbt project, the products it publishes and the products it
consumes. Every problem is reported as a :class:`SpecError` naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.names import is_owner
from mesh_orchestrator.core.partitions import DAY, MONTH, PartitionSpec
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.sql import is_identifier, normalise_type

#: The time zone of timestamps without an offset, and of schedules, unless a spec says otherwise.
DEFAULT_TIMEZONE = "UTC"
DOMAINS_DIR = REPO_ROOT / "domains"
SPEC_FILE = "defs.yaml"
#: The component type a domain's ``defs.yaml`` declares (``mesh_orchestrator.components``).
DOMAIN_COMPONENT_TYPE = "mesh_orchestrator.components.DomainComponent"
FEED_FORMATS = ("csv", "jsonl")
#: Formats a per-source mapping can read (a source is one sender of a feed, e.g. one supplier).
SOURCE_FORMATS = ("csv", "jsonl", "json", "xml", "fixed_width")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    pii: bool = False


@dataclass(frozen=True)
class SourceSpec:
    """One sender of a feed in its own shape, and how its fields map onto the feed's columns.

    Files arrive in ``landing/<feed>/<source>/``. ``fields`` maps a feed column to the sender's
    field name, ``constants`` fills a column with a fixed value, ``scale`` multiplies a numeric
    column (units, e.g. 0.01 for cents). ``decimal_separator`` and ``date_format`` (strptime) say
    how the sender writes numbers and dates, ``timezone`` (IANA; None: the feed's) the zone of its
    times written without an offset. ``records`` is the path to the records in a JSON
    document (``invoices[].lines[]``) or the record element of an XML file; ``layout`` lists the
    ``(field, width)`` pairs of a fixed-width line.
    """

    name: str
    format: str
    fields: tuple[tuple[str, str], ...]
    constants: tuple[tuple[str, str], ...] = ()
    scale: tuple[tuple[str, float], ...] = ()
    delimiter: str = ","
    decimal_separator: str = "."
    date_format: str | None = None
    records: str | None = None
    layout: tuple[tuple[str, int], ...] = ()
    description: str = ""
    timezone: str | None = None

    @property
    def source_fields(self) -> tuple[str, ...]:
        """Every field the sender may send: the mapped ones and any layout field."""
        return tuple(dict.fromkeys([f for _, f in self.fields] + [f for f, _ in self.layout]))


@dataclass(frozen=True)
class FeedSpec:
    name: str
    format: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    description: str = ""
    sources: tuple[SourceSpec, ...] = ()
    partitioned_by: PartitionSpec | None = None
    #: The IANA zone of times sent without an offset (a source may declare its own).
    timezone: str = DEFAULT_TIMEZONE

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def has_pii(self) -> bool:
        """Whether any column holds personal data (tags the feed's assets ``pii: true``)."""
        return any(c.pii for c in self.columns)

    @property
    def is_mapped(self) -> bool:
        """Whether the feed's senders each have their own shape (``sources:`` in the spec)."""
        return bool(self.sources)


@dataclass(frozen=True)
class ProductRef:
    domain: str
    product: str

    def __str__(self) -> str:
        return f"{self.domain}.{self.product}"


@dataclass(frozen=True)
class SqlCheckSpec:
    """A blocking check of one of the domain's assets: a query that returns the rows in breach.

    ``message`` is formatted with each returned row's columns (``{period}: off by {difference}``).
    """

    name: str
    layer: str
    model: str
    query: str
    message: str
    description: str = ""


@dataclass(frozen=True)
class DomainSpec:
    name: str
    owner: str
    description: str
    dbt_project: Path
    feeds: tuple[FeedSpec, ...]
    products: tuple[str, ...]
    consumes: tuple[ProductRef, ...] = field(default_factory=tuple)
    checks: tuple[SqlCheckSpec, ...] = field(default_factory=tuple)
    path: Path = field(default=Path(), compare=False)
    #: dbt models partitioned by month (``partitioned_models: {period, start, models}``).
    partitioned_models: tuple[str, ...] = ()
    models_partitioned_by: PartitionSpec | None = None
    #: ``schedules:`` as written ({feed: {cron, timezone, description}}), validated by the triggers.
    schedules: Any = field(default=None, compare=False)

    @property
    def partitioning(self) -> PartitionSpec | None:
        """The one partitioning of the location's partitioned assets (feeds or models), if any."""
        found = {f.partitioned_by for f in self.feeds if f.partitioned_by} | (
            {self.models_partitioned_by} if self.models_partitioned_by else set()
        )
        return next(iter(found)) if found else None

    def feed(self, name: str) -> FeedSpec:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        raise KeyError(name)


class _Reader:
    """Walks a parsed YAML mapping and raises SpecError with the dotted field path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> SpecError:
        return SpecError(self.path, where, problem)

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def require(self, data: dict[str, Any], key: str, where: str) -> Any:
        if key not in data or data[key] in (None, ""):
            raise self.fail(f"{where}{key}", "is required")
        return data[key]

    def name(self, value: Any, where: str) -> str:
        if not is_identifier(value):
            raise self.fail(where, f"{value!r} must be snake_case (a-z, 0-9, _; starts with a letter)")
        return str(value)

    def timezone(self, value: Any, where: str) -> str:
        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise self.fail(where, f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from exc
        return str(value)

    def unknown_keys(self, data: dict[str, Any], allowed: set[str], where: str) -> None:
        extra = sorted(set(data) - allowed)
        if extra:
            raise self.fail(f"{where}{extra[0]}", f"unknown field; allowed: {', '.join(sorted(allowed))}")


def _column(r: _Reader, raw: Any, where: str) -> ColumnSpec:
    data = r.mapping(raw, where)
    r.unknown_keys(data, {"name", "type", "required", "allowed", "description", "pii"}, f"{where}.")
    name = r.name(r.require(data, "name", f"{where}."), f"{where}.name")
    col_type = normalise_type(r.require(data, "type", f"{where}."))
    if col_type is None:
        raise r.fail(
            f"{where}.type",
            f"{data['type']!r} is not a supported type "
            "(VARCHAR, BOOLEAN, INTEGER, BIGINT, DOUBLE, DATE, TIMESTAMP, TIMESTAMPTZ, DECIMAL(p,s))",
        )
    allowed = data.get("allowed")
    if allowed is not None and (not isinstance(allowed, list) or not allowed):
        raise r.fail(f"{where}.allowed", "must be a non-empty list of values")
    return ColumnSpec(
        name=name,
        type=col_type,
        required=bool(data.get("required", False)),
        allowed=tuple(str(v) for v in allowed) if allowed else None,
        pii=bool(data.get("pii", False)),
    )


def _feed(r: _Reader, name: str, raw: Any) -> FeedSpec:
    where = f"feeds.{name}"
    r.name(name, where)
    data = r.mapping(raw, where)
    r.unknown_keys(
        data,
        {"format", "key", "columns", "description", "sources", "partitioned_by", "timezone"},
        f"{where}.",
    )
    if "sources" in data:
        if "format" in data:
            raise r.fail(f"{where}.format", "a feed with sources declares the format per source")
        fmt = "mapped"
    else:
        fmt = r.require(data, "format", f"{where}.")
        if fmt not in FEED_FORMATS:
            raise r.fail(f"{where}.format", f"{fmt!r} is not one of {', '.join(FEED_FORMATS)}")
    raw_columns = r.require(data, "columns", f"{where}.")
    if not isinstance(raw_columns, list):
        raise r.fail(f"{where}.columns", "must be a list of {name, type} mappings")
    columns = tuple(_column(r, c, f"{where}.columns[{i}]") for i, c in enumerate(raw_columns))
    names = [c.name for c in columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise r.fail(f"{where}.columns", f"column {duplicated[0]!r} is declared twice")
    key = r.require(data, "key", f"{where}.")
    if isinstance(key, str):
        key = [key]
    if not isinstance(key, list) or not key:
        raise r.fail(f"{where}.key", "must be a column name or a list of column names")
    for k in key:
        if k not in names:
            raise r.fail(f"{where}.key", f"key column {k!r} is not among the feed's columns")
    sources: tuple[SourceSpec, ...] = ()
    if "sources" in data:
        raw_sources = r.mapping(data["sources"], f"{where}.sources")
        if not raw_sources:
            raise r.fail(f"{where}.sources", "declare at least one source")
        sources = tuple(
            _source(r, source, raw, columns, f"{where}.sources.{source}")
            for source, raw in raw_sources.items()
        )
    return FeedSpec(
        name=name,
        format=fmt,
        key=tuple(key),
        columns=columns,
        description=str(data.get("description", "")),
        sources=sources,
        partitioned_by=_partitioning(r, data["partitioned_by"], f"{where}.partitioned_by", (DAY,))
        if "partitioned_by" in data
        else None,
        timezone=r.timezone(data.get("timezone", DEFAULT_TIMEZONE), f"{where}.timezone"),
    )


def _partitioning(r: _Reader, raw: Any, where: str, periods: tuple[str, ...]) -> PartitionSpec:
    data = r.mapping(raw, where)
    r.unknown_keys(data, {"period", "start", "models"}, f"{where}.")
    period = r.require(data, "period", f"{where}.")
    if period not in periods:
        raise r.fail(f"{where}.period", f"{period!r} is not one of {', '.join(periods)}")
    start = r.require(data, "start", f"{where}.")
    try:
        first = start if isinstance(start, date) else date.fromisoformat(str(start))
    except ValueError as exc:
        raise r.fail(f"{where}.start", f"{start!r} is not a date (YYYY-MM-DD)") from exc
    if period == MONTH and first.day != 1:
        raise r.fail(f"{where}.start", f"{first} must be the first day of a month")
    return PartitionSpec(period, first)


_SOURCE_KEYS = {
    "format",
    "description",
    "fields",
    "constants",
    "scale",
    "delimiter",
    "decimal_separator",
    "date_format",
    "records",
    "layout",
    "timezone",
}


def _source(r: _Reader, name: str, raw: Any, columns: tuple[ColumnSpec, ...], where: str) -> SourceSpec:
    r.name(name, where)
    data = r.mapping(raw, where)
    r.unknown_keys(data, _SOURCE_KEYS, f"{where}.")
    fmt = r.require(data, "format", f"{where}.")
    if fmt not in SOURCE_FORMATS:
        raise r.fail(f"{where}.format", f"{fmt!r} is not one of {', '.join(SOURCE_FORMATS)}")
    declared = {c.name for c in columns}

    def column_map(key: str) -> dict[str, Any]:
        value = r.mapping(data.get(key) or {}, f"{where}.{key}")
        for column in value:
            if column not in declared:
                raise r.fail(f"{where}.{key}.{column}", "is not a column of the feed")
        return value

    fields = {col: str(field_name) for col, field_name in column_map("fields").items()}
    constants = {col: str(value) for col, value in column_map("constants").items()}
    both = sorted(set(fields) & set(constants))
    if both:
        raise r.fail(f"{where}.constants.{both[0]}", "is mapped in fields too; keep one")
    unmapped = [c.name for c in columns if c.required and c.name not in fields and c.name not in constants]
    if unmapped:
        raise r.fail(f"{where}.fields", f"required column {unmapped[0]!r} has no field or constant")
    scale: dict[str, float] = {}
    for col, factor in column_map("scale").items():
        if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
            raise r.fail(f"{where}.scale.{col}", f"{factor!r} must be a positive number")
        scale[col] = float(factor)
    delimiter = str(data.get("delimiter", ","))
    if len(delimiter) != 1 or (fmt != "csv" and "delimiter" in data):
        raise r.fail(f"{where}.delimiter", "must be one character, and only for csv sources")
    decimal_separator = str(data.get("decimal_separator", "."))
    if decimal_separator not in (".", ","):
        raise r.fail(f"{where}.decimal_separator", "must be '.' or ','")
    records = data.get("records")
    if fmt == "xml" and not records:
        raise r.fail(f"{where}.records", "an xml source names its record element")
    if records is not None and fmt not in ("json", "xml"):
        raise r.fail(f"{where}.records", "only json and xml sources have a records path")
    layout: list[tuple[str, int]] = []
    if fmt == "fixed_width":
        raw_layout = data.get("layout")
        if not isinstance(raw_layout, list) or not raw_layout:
            raise r.fail(f"{where}.layout", "a fixed_width source lists [field, width] pairs")
        for i, pair in enumerate(raw_layout):
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or isinstance(pair[1], bool)
                or not isinstance(pair[1], int)
                or pair[1] < 1
            ):
                raise r.fail(f"{where}.layout[{i}]", f"{pair!r} must be [field, width > 0]")
            layout.append((str(pair[0]), int(pair[1])))
        missing = sorted(set(fields.values()) - {f for f, _ in layout})
        if missing:
            raise r.fail(f"{where}.fields", f"field {missing[0]!r} is not in the layout")
    elif "layout" in data:
        raise r.fail(f"{where}.layout", "only fixed_width sources have a layout")
    return SourceSpec(
        name=name,
        format=fmt,
        fields=tuple(fields.items()),
        constants=tuple(constants.items()),
        scale=tuple(scale.items()),
        delimiter=delimiter,
        decimal_separator=decimal_separator,
        date_format=str(data["date_format"]) if data.get("date_format") else None,
        records=str(records) if records else None,
        layout=tuple(layout),
        description=str(data.get("description", "")),
        timezone=r.timezone(data["timezone"], f"{where}.timezone") if "timezone" in data else None,
    )


def _check(r: _Reader, raw: Any, where: str) -> SqlCheckSpec:
    data = r.mapping(raw, where)
    r.unknown_keys(data, {"name", "asset", "description", "query", "message"}, f"{where}.")
    name = r.name(r.require(data, "name", f"{where}."), f"{where}.name")
    asset = str(r.require(data, "asset", f"{where}."))
    layer, _, model = asset.partition("/")
    if layer not in ("silver", "gold") or not is_identifier(model):
        raise r.fail(f"{where}.asset", f"{asset!r} must be '<silver|gold>/<dbt model>'")
    query = str(r.require(data, "query", f"{where}."))
    message = str(r.require(data, "message", f"{where}."))
    return SqlCheckSpec(
        name=name,
        layer=layer,
        model=model,
        query=query,
        message=message,
        description=" ".join(str(data.get("description", "")).split()),
    )


def _consumed(r: _Reader, raw: Any, where: str) -> ProductRef:
    data = r.mapping(raw, where)
    r.unknown_keys(data, {"domain", "product"}, f"{where}.")
    return ProductRef(
        domain=r.name(r.require(data, "domain", f"{where}."), f"{where}.domain"),
        product=r.name(r.require(data, "product", f"{where}."), f"{where}.product"),
    )


def parse_domain_spec(data: Any, path: Path) -> DomainSpec:
    """Validate a domain's spec (the ``attributes`` of its ``defs.yaml``); ``path`` names the file
    in error messages."""
    r = _Reader(path)
    data = r.mapping(data, "<root>")
    r.unknown_keys(
        data,
        {"name", "owner", "description", "dbt_project", "feeds", "products", "consumes", "checks"}
        | {"partitioned_models", "schedules"},
        "",
    )
    name = r.name(r.require(data, "name", ""), "name")
    if path.parent.name != name and path.name == SPEC_FILE:
        raise r.fail("name", f"{name!r} must match the domain folder {path.parent.name!r}")
    owner = r.require(data, "owner", "")
    if not is_owner(owner):
        raise r.fail("owner", f"{owner!r} must be 'team:<name>' or an e-mail address")
    dbt_project = REPO_ROOT / str(r.require(data, "dbt_project", ""))
    if not (dbt_project / "dbt_project.yml").is_file():
        raise r.fail("dbt_project", f"no dbt_project.yml in {dbt_project}")
    feeds_raw = r.mapping(r.require(data, "feeds", ""), "feeds")
    feeds = tuple(_feed(r, feed_name, raw) for feed_name, raw in feeds_raw.items())
    products = data.get("products") or []
    if not isinstance(products, list):
        raise r.fail("products", "must be a list of product names")
    for i, product in enumerate(products):
        r.name(product, f"products[{i}]")
    consumes_raw = data.get("consumes") or []
    if not isinstance(consumes_raw, list):
        raise r.fail("consumes", "must be a list of {domain, product} mappings")
    consumes = tuple(_consumed(r, c, f"consumes[{i}]") for i, c in enumerate(consumes_raw))
    for ref in consumes:
        if ref.domain == name:
            raise r.fail("consumes", f"{ref} is the domain's own product; consume it inside dbt")
    checks_raw = data.get("checks") or []
    if not isinstance(checks_raw, list):
        raise r.fail("checks", "must be a list of {name, asset, query, message} mappings")
    checks = tuple(_check(r, c, f"checks[{i}]") for i, c in enumerate(checks_raw))
    check_names = [c.name for c in checks]
    if len(set(check_names)) != len(check_names):
        raise r.fail("checks", "check names must be unique")
    models: tuple[str, ...] = ()
    models_partitioning = None
    if "partitioned_models" in data:
        where = "partitioned_models"
        models_partitioning = _partitioning(r, data[where], where, (MONTH,))
        raw_models = r.require(data[where], "models", f"{where}.")
        if not isinstance(raw_models, list) or not raw_models:
            raise r.fail(f"{where}.models", "must be a non-empty list of dbt model names")
        models = tuple(r.name(m, f"{where}.models[{i}]") for i, m in enumerate(raw_models))
    partitionings = {f.partitioned_by for f in feeds if f.partitioned_by} | (
        {models_partitioning} if models_partitioning else set()
    )
    if len(partitionings) > 1:
        raise r.fail(
            "partitioned_by",
            "a domain's partitioned feeds and models must share one partitioning (period and start): "
            "its job runs them together",
        )
    return DomainSpec(
        name=name,
        owner=owner,
        description=str(data.get("description", "")),
        dbt_project=dbt_project,
        feeds=feeds,
        products=tuple(products),
        consumes=consumes,
        checks=checks,
        path=path,
        partitioned_models=models,
        models_partitioned_by=models_partitioning,
        schedules=data.get("schedules"),
    )


def load_domain_spec(domain_or_path: str | Path) -> DomainSpec:
    """Load ``domains/<domain>/defs.yaml`` (or an explicit path) and validate its spec."""
    path = Path(domain_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = DOMAINS_DIR / str(domain_or_path) / SPEC_FILE
    if not path.is_file():
        raise SpecError(path, "<file>", "domain spec not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(path, "<file>", f"not valid YAML: {exc}") from exc
    return parse_domain_spec(component_attributes(data, path), path)


def component_attributes(data: Any, path: Path) -> Any:
    """The ``attributes`` of a domain's component file, once it declares the domain component."""
    if not isinstance(data, dict) or "type" not in data:
        raise SpecError(
            path,
            "type",
            f"a domain's file declares its component: `type: {DOMAIN_COMPONENT_TYPE}` and `attributes:`",
        )
    if data["type"] != DOMAIN_COMPONENT_TYPE:
        raise SpecError(path, "type", f"{data['type']!r} is not {DOMAIN_COMPONENT_TYPE!r}")
    extra = sorted(set(data) - {"type", "attributes"})
    if extra:
        raise SpecError(path, extra[0], "unknown key; a domain's file has `type` and `attributes`")
    return data.get("attributes")


def discover_domains() -> list[str]:
    """Names of every domain folder that holds a spec, sorted."""
    return sorted(p.parent.name for p in DOMAINS_DIR.glob(f"*/{SPEC_FILE}"))


def load_all_specs() -> dict[str, DomainSpec]:
    """Every domain's spec; the first invalid one raises (tools that need the whole mesh)."""
    return {name: load_domain_spec(name) for name in discover_domains()}


def load_valid_specs() -> tuple[dict[str, DomainSpec], dict[str, SpecError]]:
    """Every domain's spec that is valid, and the error of each one that is not.

    For what must keep working while one domain's ``defs.yaml`` is broken: the meta-orchestrator
    location leaves that domain out, the other locations never needed it.
    """
    specs: dict[str, DomainSpec] = {}
    errors: dict[str, SpecError] = {}
    for name in discover_domains():
        try:
            specs[name] = load_domain_spec(name)
        except SpecError as exc:
            errors[name] = exc
        except Exception as exc:  # a shape the validator did not foresee: still only this domain's
            path = DOMAINS_DIR / name / SPEC_FILE
            errors[name] = SpecError(path, "<file>", f"cannot be validated: {type(exc).__name__}: {exc}")
    return specs, errors


def domain_order(specs: dict[str, DomainSpec], unavailable: Collection[str] = ()) -> list[str]:
    """Domains in dependency order (providers before consumers); errors on unknown or cyclic refs.

    Products of ``unavailable`` domains (whose spec could not be loaded) are left out of the order
    instead of being reported as unknown.
    """
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise SpecError(specs[name].path, "consumes", f"cyclic dependency {' -> '.join((*chain, name))}")
        state[name] = "visiting"
        for ref in specs[name].consumes:
            if ref.domain in unavailable and ref.domain not in specs:
                continue
            if ref.domain not in specs:
                raise SpecError(specs[name].path, "consumes", f"{ref}: no domain {ref.domain!r}")
            if ref.product not in specs[ref.domain].products:
                raise SpecError(
                    specs[name].path,
                    "consumes",
                    f"{ref}: domain {ref.domain!r} publishes no product {ref.product!r}",
                )
            visit(ref.domain, (*chain, name))
        state[name] = "done"
        order.append(name)

    for name in sorted(specs):
        visit(name, ())
    return order
