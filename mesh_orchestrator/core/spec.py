"""The declarative domain spec (the attributes of ``domains/<domain>/defs.yaml``, a Dagster component),
validated into typed objects.

A domain is data: its landing feeds, its dbt project, the products it publishes and the products it
consumes. The file is read by pydantic models, one per mapping (``DomainSpecFile``, ``FeedEntry``,
...), into the frozen dataclasses the platform passes around (``DomainSpec``, ``FeedSpec``, ...).
Every problem is reported as a :class:`SpecError` naming the file and the field.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

import yaml
from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.models import SpecModel, iana_zone, non_empty_list, problem, validate
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


# --- reading defs.yaml: one model per mapping of the file ---------------------------------------


def _snake_case(value: Any, *field: str | int) -> str:
    """``value`` if it is a snake_case name; ``field`` points the error at a key being checked."""
    if not is_identifier(value):
        raise problem(f"{value!r} must be snake_case (a-z, 0-9, _; starts with a letter)", *field)
    return str(value)


SnakeCase = Annotated[str, BeforeValidator(_snake_case)]
Zone = Annotated[str, BeforeValidator(iana_zone)]


def _list_or_none(value: Any, what: str) -> Any:
    """A list field that may be left out or empty; anything but a list is refused saying ``what``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise problem(f"must be a list of {what}")
    return value


class ColumnEntry(SpecModel):
    name: SnakeCase = Field(description="the column's snake_case name")
    type: str = Field(
        description="VARCHAR, BOOLEAN, INTEGER, BIGINT, DOUBLE, DATE, TIMESTAMP, TIMESTAMPTZ, DECIMAL(p,s)"
    )
    required: bool = False
    allowed: tuple[str, ...] | None = None
    description: str = ""
    pii: bool = False

    @field_validator("type", mode="before")
    @classmethod
    def _supported(cls, value: Any) -> str:
        normalised = normalise_type(value) if isinstance(value, str) else None
        if normalised is None:
            raise problem(
                f"{value!r} is not a supported type "
                "(VARCHAR, BOOLEAN, INTEGER, BIGINT, DOUBLE, DATE, TIMESTAMP, TIMESTAMPTZ, DECIMAL(p,s))"
            )
        return normalised

    @field_validator("allowed", mode="before")
    @classmethod
    def _values(cls, value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        return tuple(str(v) for v in non_empty_list(value, "must be a non-empty list of values"))

    def spec(self) -> ColumnSpec:
        return ColumnSpec(self.name, self.type, self.required, self.allowed, self.pii)


class FeedPartitioning(SpecModel):
    """``partitioned_by`` of a feed: one partition per day from ``start``."""

    PERIODS: ClassVar[tuple[str, ...]] = (DAY,)
    period: str = Field(description=f"the partition period: {DAY}")
    start: date = Field(description="the first partition's day, YYYY-MM-DD")

    @field_validator("period", mode="before")
    @classmethod
    def _known_period(cls, period: Any) -> str:
        if period not in cls.PERIODS:
            raise problem(f"{period!r} is not one of {', '.join(cls.PERIODS)}")
        return str(period)

    @field_validator("start", mode="before")
    @classmethod
    def _a_day(cls, start: Any) -> date:
        try:
            return start if isinstance(start, date) else date.fromisoformat(str(start))
        except ValueError:
            raise problem(f"{start!r} is not a date (YYYY-MM-DD)") from None

    @model_validator(mode="after")
    def _month_starts_on_the_first(self) -> Self:
        if self.period == MONTH and self.start.day != 1:
            raise problem(f"{self.start} must be the first day of a month", "start")
        return self

    def spec(self) -> PartitionSpec:
        return PartitionSpec(self.period, self.start)


class ModelPartitioning(FeedPartitioning):
    """``partitioned_models`` of a domain: dbt models built one month at a time from ``start``."""

    PERIODS: ClassVar[tuple[str, ...]] = (MONTH,)
    period: str = Field(description=f"the partition period: {MONTH}")
    models: tuple[SnakeCase, ...] = Field(description="a non-empty list of dbt model names")

    @field_validator("models", mode="before")
    @classmethod
    def _some(cls, models: Any) -> list[Any]:
        return non_empty_list(models, "must be a non-empty list of dbt model names")


class SourceEntry(SpecModel):
    """One sender of a mapped feed (see :class:`SourceSpec`); its columns are checked by the feed."""

    format: str = Field(description=f"the sender's format: {', '.join(SOURCE_FORMATS)}")
    description: str = ""
    fields: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, str] = Field(default_factory=dict)
    scale: dict[str, float] = Field(default_factory=dict)
    delimiter: str | None = None
    decimal_separator: str = "."
    date_format: str | None = None
    records: str | None = None
    layout: tuple[tuple[str, int], ...] | None = None
    timezone: Zone | None = None

    @field_validator("format", mode="before")
    @classmethod
    def _known_format(cls, fmt: Any) -> str:
        if fmt not in SOURCE_FORMATS:
            raise problem(f"{fmt!r} is not one of {', '.join(SOURCE_FORMATS)}")
        return str(fmt)

    @field_validator("fields", "constants", mode="before")
    @classmethod
    def _texts(cls, mapping: Any) -> dict[str, str]:
        mapping = _mapping_or_none(mapping)
        return {column: str(value) for column, value in mapping.items()}

    @field_validator("scale", mode="before")
    @classmethod
    def _factors(cls, mapping: Any) -> dict[str, float]:
        for column, factor in _mapping_or_none(mapping).items():
            if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
                raise problem(f"{factor!r} must be a positive number", column)
        return _mapping_or_none(mapping)

    @field_validator("decimal_separator", mode="before")
    @classmethod
    def _separator(cls, separator: Any) -> str:
        if separator not in (".", ","):
            raise problem("must be '.' or ','")
        return str(separator)

    @field_validator("layout", mode="before")
    @classmethod
    def _pairs(cls, layout: Any) -> Any:
        if layout is None:
            return None
        if not isinstance(layout, list) or not layout:
            raise problem("a fixed_width source lists [field, width] pairs")
        for i, pair in enumerate(layout):
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or isinstance(pair[1], bool)
                or not isinstance(pair[1], int)
                or pair[1] < 1
            ):
                raise problem(f"{pair!r} must be [field, width > 0]", i)
        return [(str(name), width) for name, width in layout]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        both = sorted(set(self.fields) & set(self.constants))
        if both:
            raise problem("is mapped in fields too; keep one", "constants", both[0])
        if self.delimiter is not None and (len(self.delimiter) != 1 or self.format != "csv"):
            raise problem("must be one character, and only for csv sources", "delimiter")
        if self.format == "xml" and not self.records:
            raise problem("an xml source names its record element", "records")
        if self.records is not None and self.format not in ("json", "xml"):
            raise problem("only json and xml sources have a records path", "records")
        if self.format == "fixed_width":
            if not self.layout:
                raise problem("a fixed_width source lists [field, width] pairs", "layout")
            missing = sorted(set(self.fields.values()) - {name for name, _ in self.layout})
            if missing:
                raise problem(f"field {missing[0]!r} is not in the layout", "fields")
        elif self.layout is not None:
            raise problem("only fixed_width sources have a layout", "layout")
        return self

    def spec(self, name: str) -> SourceSpec:
        return SourceSpec(
            name=name,
            format=self.format,
            fields=tuple(self.fields.items()),
            constants=tuple(self.constants.items()),
            scale=tuple(self.scale.items()),
            delimiter=self.delimiter or ",",
            decimal_separator=self.decimal_separator,
            date_format=self.date_format or None,
            records=self.records or None,
            layout=self.layout or (),
            description=self.description,
            timezone=self.timezone,
        )


def _mapping_or_none(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise problem(f"expected a mapping, got {type(value).__name__}")
    return value


class FeedEntry(SpecModel):
    """``feeds.<name>``: a landing feed, in one format or mapped from each sender's own."""

    format: str | None = Field(default=None, description=f"the feed's format: {', '.join(FEED_FORMATS)}")
    key: tuple[str, ...] = Field(description="the column, or list of columns, that identifies a record")
    columns: tuple[ColumnEntry, ...] = Field(description="a list of {name, type} mappings")
    description: str = ""
    sources: dict[str, SourceEntry] | None = None
    partitioned_by: FeedPartitioning | None = None
    timezone: Zone = DEFAULT_TIMEZONE

    @field_validator("format", mode="before")
    @classmethod
    def _known_format(cls, fmt: Any) -> Any:
        if fmt is not None and fmt not in FEED_FORMATS:
            raise problem(f"{fmt!r} is not one of {', '.join(FEED_FORMATS)}")
        return fmt

    @field_validator("key", mode="before")
    @classmethod
    def _names(cls, key: Any) -> Any:
        key = [key] if isinstance(key, str) else key
        if not isinstance(key, list) or not key:
            raise problem("must be a column name or a list of column names")
        return key

    @field_validator("columns", mode="before")
    @classmethod
    def _listed(cls, columns: Any) -> Any:
        if not isinstance(columns, list):
            raise problem("must be a list of {name, type} mappings")
        return columns

    @field_validator("sources", mode="before")
    @classmethod
    def _named(cls, sources: Any) -> Any:
        sources = _mapping_or_none(sources)
        if not sources:
            raise problem("declare at least one source")
        for name in sources:
            _snake_case(name, name)
        return sources

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.sources is not None and self.format is not None:
            raise problem("a feed with sources declares the format per source", "format")
        if self.sources is None and self.format is None:
            raise problem(
                f"is required: one of {', '.join(FEED_FORMATS)} (or `sources:`, a format per sender)",
                "format",
            )
        names = [c.name for c in self.columns]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise problem(f"column {duplicated[0]!r} is declared twice", "columns")
        for k in self.key:
            if k not in names:
                raise problem(f"key column {k!r} is not among the feed's columns", "key")
        for name, source in (self.sources or {}).items():
            for mapping in ("fields", "constants", "scale"):
                for column in getattr(source, mapping):
                    if column not in names:
                        raise problem("is not a column of the feed", "sources", name, mapping, column)
            unmapped = [
                c.name
                for c in self.columns
                if c.required and c.name not in source.fields and c.name not in source.constants
            ]
            if unmapped:
                raise problem(
                    f"required column {unmapped[0]!r} has no field or constant", "sources", name, "fields"
                )
        return self

    def spec(self, name: str) -> FeedSpec:
        return FeedSpec(
            name=name,
            format="mapped" if self.sources is not None else str(self.format),
            key=self.key,
            columns=tuple(c.spec() for c in self.columns),
            description=self.description,
            sources=tuple(source.spec(source_name) for source_name, source in (self.sources or {}).items()),
            partitioned_by=self.partitioned_by.spec() if self.partitioned_by else None,
            timezone=self.timezone,
        )


class CheckEntry(SpecModel):
    """``checks[i]``: a blocking SQL check of one of the domain's silver or gold models."""

    name: SnakeCase = Field(description="the check's snake_case name")
    asset: str = Field(description="'<silver|gold>/<dbt model>'")
    description: str = ""
    query: str = Field(description="a query returning the rows in breach")
    message: str = Field(description="what each returned row means, formatted with its columns")

    @field_validator("asset", mode="before")
    @classmethod
    def _a_model(cls, asset: Any) -> str:
        layer, _, model = str(asset).partition("/")
        if layer not in ("silver", "gold") or not is_identifier(model):
            raise problem(f"{asset!r} must be '<silver|gold>/<dbt model>'")
        return str(asset)

    def spec(self) -> SqlCheckSpec:
        layer, _, model = self.asset.partition("/")
        return SqlCheckSpec(
            name=self.name,
            layer=layer,
            model=model,
            query=self.query,
            message=self.message,
            description=" ".join(self.description.split()),
        )


class ConsumedEntry(SpecModel):
    """``consumes[i]``: a product of another domain, read through its port."""

    domain: SnakeCase = Field(description="the providing domain")
    product: SnakeCase = Field(description="the product it publishes")


class DomainSpecFile(SpecModel):
    """The ``attributes`` of ``domains/<domain>/defs.yaml``: what the domain declares."""

    name: SnakeCase = Field(description="the domain's name, as its folder")
    owner: str = Field(description="the owning team, 'team:<name>', or an e-mail address")
    description: str = ""
    dbt_project: str = Field(description="the domain's dbt project folder, from the repository root")
    feeds: dict[str, FeedEntry] = Field(description="the landing feeds by name")
    products: tuple[SnakeCase, ...] = ()
    consumes: tuple[ConsumedEntry, ...] = ()
    checks: tuple[CheckEntry, ...] = ()
    partitioned_models: ModelPartitioning | None = None
    #: As written; validated by the ingestion triggers, which know cron (``FeedSchedule``).
    schedules: Any = None

    @field_validator("name")
    @classmethod
    def _its_folder(cls, name: str, info: ValidationInfo) -> str:
        path: Path = (info.context or {})["path"]
        if path.parent.name != name and path.name == SPEC_FILE:
            raise problem(f"{name!r} must match the domain folder {path.parent.name!r}")
        return name

    @field_validator("owner", mode="before")
    @classmethod
    def _an_owner(cls, owner: Any) -> str:
        if not is_owner(owner):
            raise problem(f"{owner!r} must be 'team:<name>' or an e-mail address")
        return str(owner)

    @field_validator("dbt_project")
    @classmethod
    def _a_dbt_project(cls, folder: str) -> str:
        if not (REPO_ROOT / folder / "dbt_project.yml").is_file():
            raise problem(f"no dbt_project.yml in {REPO_ROOT / folder}")
        return folder

    @field_validator("feeds", mode="before")
    @classmethod
    def _named(cls, feeds: Any) -> Any:
        if not isinstance(feeds, dict):
            raise problem(f"expected a mapping, got {type(feeds).__name__}")
        for name in feeds:
            _snake_case(name, name)
        return feeds

    @field_validator("products", mode="before")
    @classmethod
    def _product_list(cls, products: Any) -> Any:
        return _list_or_none(products, "product names")

    @field_validator("consumes", mode="before")
    @classmethod
    def _consumed_list(cls, consumes: Any) -> Any:
        return _list_or_none(consumes, "{domain, product} mappings")

    @field_validator("checks", mode="before")
    @classmethod
    def _check_list(cls, checks: Any) -> Any:
        return _list_or_none(checks, "{name, asset, query, message} mappings")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for ref in self.consumes:
            if ref.domain == self.name:
                raise problem(
                    f"{ref.domain}.{ref.product} is the domain's own product; consume it inside dbt",
                    "consumes",
                )
        check_names = [c.name for c in self.checks]
        if len(set(check_names)) != len(check_names):
            raise problem("check names must be unique", "checks")
        partitionings = {f.partitioned_by.spec() for f in self.feeds.values() if f.partitioned_by} | (
            {self.partitioned_models.spec()} if self.partitioned_models else set()
        )
        if len(partitionings) > 1:
            raise problem(
                "a domain's partitioned feeds and models must share one partitioning (period and start): "
                "its job runs them together",
                "partitioned_by",
            )
        return self

    def spec(self, path: Path) -> DomainSpec:
        return DomainSpec(
            name=self.name,
            owner=self.owner,
            description=self.description,
            dbt_project=REPO_ROOT / self.dbt_project,
            feeds=tuple(feed.spec(name) for name, feed in self.feeds.items()),
            products=self.products,
            consumes=tuple(ProductRef(c.domain, c.product) for c in self.consumes),
            checks=tuple(c.spec() for c in self.checks),
            path=path,
            partitioned_models=self.partitioned_models.models if self.partitioned_models else (),
            models_partitioned_by=self.partitioned_models.spec() if self.partitioned_models else None,
            schedules=self.schedules,
        )


def parse_domain_spec(data: Any, path: Path) -> DomainSpec:
    """Validate a domain's spec (the ``attributes`` of its ``defs.yaml``); ``path`` names the file
    in error messages."""
    return validate(DomainSpecFile, data, path, {"path": path}).spec(path)


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
