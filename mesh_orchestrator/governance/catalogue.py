"""The product catalogue's facts: for every data product, the four W's and an H.

- **What**: the contract (description, purpose, owner, schema, version).
- **Where**: the Iceberg table in the ``mesh`` catalog, and who is granted access until when.
- **When**: each version kept on ``main`` (a snapshot) with its publish time, rows, the gate results
  of its audit and the Dagster runs that wrote and published it; freshness against the SLA.
- **With what**: the feeds (their bronze materialisation) and the consumed product snapshots each
  version was built from.
- **How**: the dbt models and tests that build it, the domain's SQL checks, its code location.

Every fact is read where it lives, when the catalogue is built: the contracts and domain specs, the
Iceberg catalog (snapshot summaries), Dagster's instance (check evaluations, materialisations) and
each domain's dbt manifest. Nothing is copied ahead of time. ``governance.catalogue_site`` renders it.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mesh_orchestrator.core import names
from mesh_orchestrator.core.contracts import Contract, load_contract
from mesh_orchestrator.core.errors import MeshError, PortNotPublishedError
from mesh_orchestrator.core.spec import DomainSpec, load_valid_specs
from mesh_orchestrator.governance.descriptors import feed_version
from mesh_orchestrator.ports.catalog import public_properties
from mesh_orchestrator.ports.handoff import CONTRACT_SATISFIED, NO_PERSONAL_DATA
from mesh_orchestrator.ports.tables import PortVersion, catalog, load_port, published_versions

if TYPE_CHECKING:
    import dagster as dg
    from pyiceberg.catalog import Catalog

#: The hand-off's blocking checks, in the order pages show them.
GATES = (CONTRACT_SATISFIED, NO_PERSONAL_DATA)
#: How many evaluations and materialisations of a hand-off are read back (newest first).
HISTORY = 500
#: Packages whose versions the catalogue shows as the toolchain.
TOOLCHAIN = (
    "mesh-orchestrator",
    "dagster",
    "dagster-dbt",
    "dbt-core",
    "dbt-duckdb",
    "duckdb",
    "pyiceberg",
    "great-expectations",
    "pyarrow",
)

FRESH = "fresh"
STALE = "stale"
GATE_FAILED = "gate failed"
NOT_PUBLISHED = "not published"


@dataclass(frozen=True)
class Gate:
    """One evaluation of one blocking check of a hand-off, on one staged snapshot."""

    check: str
    passed: bool
    snapshot_id: str
    run_id: str
    at: datetime
    #: What failed (failing expectations, personal data found); empty when it passed.
    failures: tuple[str, ...] = ()
    evaluated: int | None = None  # expectations evaluated (contract_satisfied only)


@dataclass(frozen=True)
class FeedInput:
    """A feed a version was built from: its latest bronze materialisation before the version was
    written (for a feed partitioned by day, the rows of that run's days)."""

    name: str
    description: str
    shape: str  # digest of the feed's declared columns and key (the descriptor's input port version)
    run_id: str | None = None
    at: datetime | None = None
    rows: int | None = None
    quarantined: int | None = None
    days: str | None = None  # the run's partitions, for a partitioned feed


@dataclass(frozen=True)
class ProductInput:
    """A consumed product's version, pinned by the provider's run that wrote this version."""

    product: str
    version: int | None
    snapshot_id: int | None


@dataclass(frozen=True)
class VersionFacts:
    port: PortVersion
    gates: tuple[Gate, ...]
    handoff_run_id: str | None
    feeds: tuple[FeedInput, ...]
    products: tuple[ProductInput, ...]
    current: bool


@dataclass(frozen=True)
class RejectedBatch:
    """A staged snapshot whose audit failed: never published, kept on the staging branch."""

    snapshot_id: str
    at: datetime
    gates: tuple[Gate, ...]


@dataclass(frozen=True)
class DbtNode:
    name: str
    path: str
    kind: str  # materialisation of a model (table, view ...), "test" for a test
    tests: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProductFacts:
    contract: Contract
    location: str
    status: str
    status_reason: str
    versions: tuple[VersionFacts, ...]  # newest first
    rejected: tuple[RejectedBatch, ...]  # newest first
    last_confirmed: datetime | None  # the last hand-off that published or confirmed main
    models: tuple[DbtNode, ...] = ()
    sql_checks: tuple[str, ...] = ()
    how_problem: str | None = None  # why the dbt models could not be listed
    consumed_by: tuple[str, ...] = ()  # products built from this one (from their contracts)

    @property
    def id(self) -> str:
        return self.contract.id

    @property
    def handoff(self) -> str:
        """The hand-off asset that audits and publishes the product, as the UI shows its key."""
        return names.handoff_key(self.contract.domain, self.contract.product).to_user_string()

    @property
    def current(self) -> VersionFacts | None:
        return next((v for v in self.versions if v.current), None)


@dataclass(frozen=True)
class Catalogue:
    products: tuple[ProductFacts, ...]
    built_at: datetime
    catalog: dict[str, str]
    toolchain: dict[str, str]
    ui_url: str
    #: Domains left out, with why (a broken domain spec or contract), so the index says so.
    problems: dict[str, str] = field(default_factory=dict)

    def product(self, product_id: str) -> ProductFacts | None:
        return next((p for p in self.products if p.id == product_id), None)


def _when(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _value(metadata: dict[str, Any], key: str) -> Any:
    entry = metadata.get(key)
    return getattr(entry, "value", entry)


def _gate(record: Any) -> Gate | None:
    """A completed check execution record as a ``Gate``; None while planned or without an event."""
    import dagster as dg

    event = record.event
    evaluation = event.dagster_event.event_specific_data if event and event.dagster_event else None
    if not isinstance(evaluation, dg.AssetCheckEvaluation):
        return None
    metadata = dict(evaluation.metadata)
    failures: tuple[str, ...] = ()
    if not evaluation.passed:
        expectations = _value(metadata, "expectations") or {}
        failures = tuple(str(outcome) for outcome in expectations.values() if outcome != "passed")
        failures = failures or tuple(filter(None, (evaluation.description or "").split("; ")))
    evaluated = _value(metadata, "expectations_evaluated")
    return Gate(
        check=evaluation.check_name,
        passed=evaluation.passed,
        snapshot_id=str(_value(metadata, "snapshot_id") or ""),
        run_id=record.run_id,
        at=_when(event.timestamp),  # the record's own time is the planned one, in whole seconds
        failures=failures,
        evaluated=int(evaluated) if evaluated is not None else None,
    )


def _gates(instance: dg.DagsterInstance, key: dg.AssetKey) -> list[Gate]:
    """Every recorded evaluation of the hand-off's gates, newest first."""
    import dagster as dg

    found = []
    for check in GATES:
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(key, check), limit=HISTORY
        )
        found += [g for g in map(_gate, history) if g is not None]
    return sorted(found, key=lambda g: g.at, reverse=True)


def _handoffs(instance: dg.DagsterInstance, key: dg.AssetKey) -> list[tuple[datetime, str, dict[str, Any]]]:
    """The hand-off's materialisations, newest first: (time, run id, metadata)."""
    records = instance.fetch_materializations(key, limit=HISTORY).records
    return [
        (_when(r.timestamp), r.run_id, dict(r.asset_materialization.metadata))
        for r in records
        if r.asset_materialization is not None
    ]


def _feed_input(instance: dg.DagsterInstance, spec: DomainSpec, name: str, before: datetime) -> FeedInput:
    """The feed's latest bronze materialisation before ``before``, when the version was written."""
    import dagster as dg

    feed = spec.feed(name)
    shape = feed_version(feed)
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=names.asset_key(spec.name, "bronze", name), before_timestamp=before.timestamp()
        ),
        limit=1,
    ).records
    record = records[0] if records else None
    if record is None or record.asset_materialization is None:
        return FeedInput(name, feed.description, shape)
    metadata = dict(record.asset_materialization.metadata)
    rows = _value(metadata, "dagster/row_count")
    rows = rows if rows is not None else _value(metadata, "rows_in_run")
    quarantined = _value(metadata, "quarantined")
    days = _value(metadata, "partition_range")
    return FeedInput(
        name,
        feed.description,
        shape,
        run_id=record.run_id,
        at=_when(record.timestamp),
        rows=int(rows) if rows is not None else None,
        quarantined=int(quarantined) if quarantined is not None else None,
        days=str(days) if days is not None else None,
    )


def _how(spec: DomainSpec, contract: Contract) -> tuple[tuple[DbtNode, ...], str | None]:
    """The dbt models the product's gold model is built from (itself last) and their tests."""
    from mesh_orchestrator.transformation.manifest import Manifest

    try:
        manifest = Manifest.of(spec)
    except Exception as exc:  # a dbt project that does not parse: the page says so, the rest stands
        return (), f"the dbt manifest of {spec.name} could not be read: {exc}"
    gold = manifest.model_id(contract.model)
    if gold not in manifest.nodes:
        return (), f"the dbt project of {spec.name} has no model {contract.model}"
    builds = manifest.upstream(gold) | {gold}
    models = [m for m in manifest.models_in_order() if m in builds]
    tests: dict[str, list[str]] = {}
    for unique_id, node in manifest.nodes.items():
        if node.get("resource_type") == "test":
            for parent in manifest.parents(unique_id):
                tests.setdefault(parent, []).append(str(node.get("name", unique_id)))
    nodes = []
    for model in models:
        node = manifest.nodes[model]
        nodes.append(
            DbtNode(
                name=str(node["name"]),
                path=f"{spec.dbt_project.name}/{node.get('original_file_path', '')}",
                kind=str(node.get("config", {}).get("materialized", "model")),
                tests=tuple(sorted(tests.get(model, []))),
            )
        )
    return tuple(nodes), None


def _status(
    contract: Contract,
    current: PortVersion | None,
    gates: list[Gate],
    last_confirmed: datetime | None,
    now: datetime,
) -> tuple[str, str]:
    """(status, why): gate failed if the latest audit failed; stale past the SLA; else fresh."""
    latest = {g.check: g for g in reversed(gates)}  # newest per check (gates are newest first)
    failed = [g for g in latest.values() if not g.passed]
    if failed and (last_confirmed is None or max(g.at for g in failed) >= last_confirmed):
        checks = ", ".join(sorted(g.check for g in failed))
        kept = f"version {current.version} stays current" if current else "nothing is published"
        return GATE_FAILED, f"the latest audit ({checks}) failed on snapshot {failed[0].snapshot_id}; {kept}"
    if current is None:
        return NOT_PUBLISHED, "no version was ever published (run the domain and its hand-off)"
    anchor = last_confirmed or datetime.fromisoformat(current.published_at)
    age = now - anchor
    latency = contract.sla.freshness
    if latency is not None and age > latency:
        return STALE, f"last confirmed {age_text(age)} ago; the SLA's latency is {age_text(latency)}"
    promise = f" (SLA latency {age_text(latency)})" if latency is not None else " (no SLA latency)"
    return FRESH, f"last confirmed {age_text(age)} ago{promise}"


def age_text(span: timedelta) -> str:
    """A span in its two largest units: 26 hours is ``1d 2h``, 90 seconds ``1m 30s``."""
    seconds = max(int(span.total_seconds()), 0)
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    first = next(i for i, (_, size) in enumerate(units) if seconds >= size or size == 1)
    parts = [f"{seconds // units[first][1]}{units[first][0]}"]
    if first + 1 < len(units):
        unit, size = units[first + 1]
        rest = seconds % units[first][1] // size
        if rest:
            parts.append(f"{rest}{unit}")
    return " ".join(parts[:2])


def product_facts(
    instance: dg.DagsterInstance,
    spec: DomainSpec,
    contract: Contract,
    cat: Catalog,
    now: datetime,
    consumed_by: Iterable[str] = (),
) -> ProductFacts:
    """Everything the catalogue says about one product."""
    key = names.handoff_key(contract.domain, contract.product)
    try:
        table = load_port(contract.domain, contract.product, cat)
    except PortNotPublishedError:
        table = None
    kept = published_versions(table) if table is not None else []
    head = table.current_snapshot() if table is not None else None
    current_id = head.snapshot_id if head is not None else None
    gates = _gates(instance, key)
    handoffs = _handoffs(instance, key)
    published_by: dict[str, str] = {}
    for _at, run_id, metadata in reversed(handoffs):  # oldest first: the run that first published it
        snapshot = str(_value(metadata, "snapshot_id") or "")
        if _value(metadata, "published") and snapshot not in published_by:
            published_by[snapshot] = run_id
    feeds = [i.name for i in contract.inputs if i.kind == "feed"]
    versions = []
    for port in reversed(kept):
        staged = table.snapshot_by_id(port.snapshot_id) if table is not None else None
        published = datetime.fromisoformat(port.published_at)
        written = _when(staged.timestamp_ms / 1000) if staged else published
        versions.append(
            VersionFacts(
                port=port,
                gates=tuple(g for g in gates if g.snapshot_id == str(port.snapshot_id)),
                handoff_run_id=published_by.get(str(port.snapshot_id)),
                feeds=tuple(_feed_input(instance, spec, name, written) for name in feeds),
                products=tuple(
                    ProductInput(
                        i.name,
                        port.inputs.get(i.name, {}).get("version"),
                        port.inputs.get(i.name, {}).get("snapshot_id"),
                    )
                    for i in contract.inputs
                    if i.kind == "product"
                ),
                current=port.snapshot_id == current_id,
            )
        )
    published_ids = {str(v.snapshot_id) for v in kept}
    rejected: dict[str, list[Gate]] = {}
    for gate in gates:
        if gate.snapshot_id not in published_ids:
            rejected.setdefault(gate.snapshot_id, []).append(gate)
    batches = [
        RejectedBatch(snapshot_id, max(g.at for g in found), tuple(found))
        for snapshot_id, found in rejected.items()
        if any(not g.passed for g in found)
    ]
    last_confirmed = handoffs[0][0] if handoffs else None
    current = next((v.port for v in versions if v.current), None)
    status, reason = _status(contract, current, gates, last_confirmed, now)
    models, problem = _how(spec, contract)
    return ProductFacts(
        contract=contract,
        location=spec.name,
        status=status,
        status_reason=reason,
        versions=tuple(versions),
        rejected=tuple(sorted(batches, key=lambda b: b.at, reverse=True)),
        last_confirmed=last_confirmed,
        models=models,
        sql_checks=tuple(f"{c.name}: {c.description}".rstrip(": ") for c in spec.checks),
        how_problem=problem,
        consumed_by=tuple(sorted(consumed_by)),
    )


def toolchain() -> dict[str, str]:
    found = {}
    for package in TOOLCHAIN:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def collect(
    instance: dg.DagsterInstance,
    ui_url: str,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Catalogue:
    """The catalogue of every product of every domain whose spec and contracts load."""
    now = now or datetime.now(UTC)
    specs, errors = load_valid_specs()
    problems = {name: str(error) for name, error in errors.items()}
    contracts: dict[str, tuple[DomainSpec, Contract]] = {}
    for name, spec in sorted(specs.items()):
        for product in spec.products:
            try:
                contract = load_contract(name, product)
            except MeshError as exc:
                problems[f"{name}.{product}"] = str(exc)
                continue
            contracts[contract.id] = (spec, contract)
    consumers: dict[str, list[str]] = {}
    for product_id, (_spec, contract) in contracts.items():
        for item in contract.inputs:
            if item.kind == "product":
                consumers.setdefault(item.name, []).append(product_id)
    cat = catalog()
    products = []
    for product_id, (spec, contract) in contracts.items():
        progress(f"{product_id}: versions, gates and lineage")
        products.append(product_facts(instance, spec, contract, cat, now, consumers.get(product_id, ())))
    return Catalogue(
        products=tuple(products),
        built_at=now,
        catalog=public_properties(),
        toolchain=toolchain(),
        ui_url=ui_url.rstrip("/"),
        problems=problems,
    )
