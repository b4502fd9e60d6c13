"""Output ports: each data product is an Iceberg table of the ``mesh`` catalog, written, audited and
published the Iceberg way (write-audit-publish on a branch).

- **write** (the provider's own run, ``stage``): the gold table becomes a new snapshot on the
  table's ``staging`` branch, started from ``main``; an unchanged batch adds no snapshot.
- **audit** (the hand-off, in the meta-orchestrator's location): exactly the staged snapshot's data
  files are scanned and validated (``snapshot_files``).
- **publish** (``publish``): ``main`` is fast-forwarded to the audited snapshot in one catalog
  commit. A failed audit leaves ``main`` where it was and the snapshot on ``staging``.

A version is a snapshot of ``main``: its summary records the version number, the contract version,
the rows, the Dagster run that wrote it and the consumed snapshots it was built from. Consumers read
``main`` at a snapshot pinned when their run starts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shutil
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from mesh_orchestrator.core.errors import (
    CatalogError,
    LegacyPortsError,
    PortNotPublishedError,
    ProductSchemaError,
    PublishConflictError,
    VersionNotFoundError,
)
from mesh_orchestrator.core.paths import data_dir
from mesh_orchestrator.core.sql import identifier
from mesh_orchestrator.ports.catalog import open_catalog, product_table, table_name

if TYPE_CHECKING:
    import duckdb
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

    from mesh_orchestrator.core.contracts import Contract

MAIN = "main"
STAGING = "staging"
#: Snapshot summary keys written by the mesh (values are strings, as Iceberg requires).
VERSION = "mesh.version"
CONTRACT_VERSION = "mesh.contract-version"
ROWS = "mesh.rows"
RUN_ID = "mesh.run-id"
INPUTS = "mesh.inputs"
FINGERPRINT = "mesh.fingerprint"
#: Rows per Arrow batch handed from DuckDB to the Iceberg writer.
WRITE_BATCH_ROWS = 256_000
_TASK_ID = re.compile(r"^\d+-(\d+)-")


@dataclass(frozen=True)
class PortVersion:
    """One published version of a product: a snapshot of its table's ``main``."""

    domain: str
    product: str
    version: int
    contract_version: str
    rows: int
    snapshot_id: int
    published_at: str
    run_id: str
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return table_name(self.domain, self.product)


@dataclass(frozen=True)
class StagedBatch:
    """What ``stage`` left on the staging branch."""

    snapshot_id: int
    version: int
    rows: int
    unchanged: bool  # identical to main: no snapshot was added


def refuse_legacy_layout() -> None:
    """Ports of the layout before Iceberg are not read any more: say so and what to do."""
    root = data_dir() / "products"
    old = sorted(p.parent for p in root.glob("*/*/current.parquet"))
    if old:
        raise LegacyPortsError(
            f"{root} holds {len(old)} output port(s) in the layout before Iceberg tables (for example "
            f"{old[0]}: versions/*.parquet and current.parquet); they are no longer read or published. "
            f"Move them out of the data folder (for example `mv {root} {root}.before-iceberg`), then "
            "run `mesh run`: every product is rebuilt from its landing files and published as version 1 "
            "of its Iceberg table in the `mesh` catalog"
        )


def catalog() -> Catalog:
    """The ``mesh`` catalog, after checking the data folder holds no ports of the old layout."""
    refuse_legacy_layout()
    return open_catalog()


def load_port(domain: str, product: str, cat: Catalog | None = None) -> Table:
    """The product's table, or ``PortNotPublishedError`` if it was never written."""
    from pyiceberg.exceptions import NoSuchTableError

    try:
        return (cat or catalog()).load_table(table_name(domain, product))
    except NoSuchTableError:
        raise PortNotPublishedError(domain, product, table_name(domain, product)) from None


def _summary(snapshot: Snapshot) -> dict[str, str]:
    return dict(snapshot.summary.additional_properties) if snapshot.summary else {}


def _version(domain: str, product: str, snapshot: Snapshot, published_ms: int) -> PortVersion:
    summary = _summary(snapshot)
    return PortVersion(
        domain=domain,
        product=product,
        version=int(summary[VERSION]),
        contract_version=summary.get(CONTRACT_VERSION, "?"),
        rows=int(summary.get(ROWS, "0")),
        snapshot_id=snapshot.snapshot_id,
        published_at=datetime.fromtimestamp(published_ms / 1000, UTC).isoformat(timespec="milliseconds"),
        run_id=summary.get(RUN_ID, ""),
        inputs=json.loads(summary.get(INPUTS, "{}")),
    )


def published_versions(table: Table) -> list[PortVersion]:
    """Every version ``main`` has held and still has a snapshot for, oldest first."""
    domain, product = table.name()[-2:]
    seen: dict[int, PortVersion] = {}
    for entry in table.history():
        snapshot = table.snapshot_by_id(entry.snapshot_id)
        if snapshot is None or VERSION not in _summary(snapshot) or snapshot.snapshot_id in seen:
            continue
        seen[snapshot.snapshot_id] = _version(domain, product, snapshot, entry.timestamp_ms)
    return sorted(seen.values(), key=lambda v: v.version)


def _main_version(table: Table) -> PortVersion | None:
    snapshot = table.current_snapshot()
    if snapshot is None or VERSION not in _summary(snapshot):
        return None  # no snapshot, or the empty one a new table starts from
    published = [e.timestamp_ms for e in table.history() if e.snapshot_id == snapshot.snapshot_id]
    domain, product = table.name()[-2:]
    return _version(domain, product, snapshot, published[-1] if published else snapshot.timestamp_ms)


def current_version(domain: str, product: str, cat: Catalog | None = None) -> PortVersion | None:
    """The version consumers read now, or None if nothing was ever published."""
    try:
        return _main_version(load_port(domain, product, cat))
    except PortNotPublishedError:
        return None


def require_current(domain: str, product: str, cat: Catalog | None = None) -> PortVersion:
    published = current_version(domain, product, cat)
    if published is None:
        raise PortNotPublishedError(domain, product, table_name(domain, product))
    return published


def select_version(
    domain: str, product: str, version: int | None = None, as_of: datetime | None = None
) -> PortVersion:
    """The current version, version number ``version``, or the version that was current at ``as_of``."""
    table = load_port(domain, product)
    if version is None and as_of is None:
        current = _main_version(table)
        if current is None:
            raise PortNotPublishedError(domain, product, table_name(domain, product))
        return current
    versions = published_versions(table)
    if version is not None:
        for candidate in versions:
            if candidate.version == version:
                return candidate
        known = ", ".join(str(v.version) for v in versions) or "none"
        raise VersionNotFoundError(
            f"{table_name(domain, product)} has no version {version} (versions kept: {known}; older "
            "ones expire after the contract's sla.retention)"
        )
    assert as_of is not None
    moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    earlier = [v for v in versions if datetime.fromisoformat(v.published_at) <= moment]
    if not earlier:
        first = versions[0].published_at if versions else "never"
        raise VersionNotFoundError(
            f"{table_name(domain, product)} had no published version at {moment.isoformat()} "
            f"(first kept version published {first})"
        )
    return earlier[-1]


def _task_order(path: str) -> tuple[int, str]:
    match = _TASK_ID.match(path.rsplit("/", 1)[-1])
    return (int(match.group(1)) if match else 0, path)


def snapshot_files(table: Table, snapshot_id: int) -> list[str]:
    """The data files of one snapshot, in the order they were written (the batch's key order)."""
    tasks = list(table.scan(snapshot_id=snapshot_id).plan_files())
    if any(task.delete_files for task in tasks):
        raise CatalogError(
            f"snapshot {snapshot_id} of {'.'.join(table.name())} has delete files; the mesh writes "
            "copy-on-write snapshots only (was the table written by another engine?)"
        )
    return sorted((task.file.file_path for task in tasks), key=_task_order)


def local_paths(table: Table, files: list[str]) -> list[str]:
    """Paths DuckDB can read: a local warehouse's files as they are, remote ones copied once into
    ``<data dir>/port-cache/`` (data files never change, so a copy is as good as the file)."""
    paths = []
    for uri in files:
        parts = urlsplit(uri)
        if parts.scheme in ("", "file"):
            paths.append(unquote(parts.path))
            continue
        digest = hashlib.sha256(uri.encode()).hexdigest()[:16]
        target = data_dir() / "port-cache" / f"{digest}-{Path(parts.path).name}"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            with table.io.new_input(uri).open() as source, partial.open("wb") as sink:
                shutil.copyfileobj(source, sink, 8 * 1024 * 1024)
            partial.replace(target)
        paths.append(str(target))
    return paths


def version_paths(version: PortVersion, cat: Catalog | None = None) -> list[str]:
    """Local paths of the data files of a published version (see ``local_paths``)."""
    table = load_port(version.domain, version.product, cat)
    return local_paths(table, snapshot_files(table, version.snapshot_id))


def parquet_relation(paths: list[str]) -> str:
    """A DuckDB table function over data files (DuckDB streams them, nothing is loaded in Python)."""
    from mesh_orchestrator.core.sql import literal

    return f"read_parquet([{', '.join(literal(p) for p in paths)}])"


def staged_snapshot(table: Table) -> Snapshot | None:
    """The head of the staging branch: the batch the next hand-off audits."""
    ref = table.refs().get(STAGING)
    return None if ref is None else table.snapshot_by_id(ref.snapshot_id)


def fingerprint(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> str:
    """Rows and an order-independent sum of row hashes: equal batches have equal fingerprints."""
    cols = ", ".join(identifier(c, "contract column") for c in columns)
    rows, total = con.execute(f"SELECT count(*), sum(hash({cols})::HUGEINT) FROM {relation}").fetchall()[0]
    return f"{rows}:{total or 0}"


def _check_columns(con: duckdb.DuckDBPyConnection, relation: str, contract: Contract) -> None:
    from mesh_orchestrator.core.sql import normalise_type

    spelled = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}  # DESCRIBE's name for it
    actual = [
        (str(r[0]), normalise_type(spelled.get(str(r[1]), str(r[1]))) or str(r[1]))
        for r in con.execute(f"DESCRIBE {relation}").fetchall()
    ]
    wanted = [(c.name, c.type) for c in contract.columns]
    if actual == wanted:
        return
    have, want = dict(actual), dict(wanted)
    problems = [f"missing column {n} {t}" for n, t in wanted if n not in have]
    problems += [f"column {n} is not in the contract" for n, _ in actual if n not in want]
    problems += [
        f"column {n} is {have[n]}, the contract says {t}" for n, t in wanted if n in have and have[n] != t
    ]
    if not problems:
        problems = ["columns are not in the contract's order: " + ", ".join(n for n, _ in wanted)]
    raise ProductSchemaError(
        f"{relation} cannot be staged as {contract.id} {contract.version}: {'; '.join(problems)}; "
        f"make the model match {contract.path.name} (its dbt contract enforces the same columns)"
    )


def stage(
    contract: Contract,
    con: duckdb.DuckDBPyConnection,
    relation: str,
    run_id: str,
    inputs: Mapping[str, Any] | None = None,
    cat: Catalog | None = None,
) -> StagedBatch:
    """Write ``relation`` (the gold table, in the provider's own database) as the product's next
    snapshot on the staging branch, ordered by the primary key.

    The branch starts from ``main``, so the audited snapshot is a fast-forward of it. A batch
    identical to ``main`` (same rows, same contract version) adds no snapshot: staging points at
    ``main`` and the hand-off publishes nothing. Memory is bounded by the writer's file size, not
    the product: DuckDB streams the rows to pyiceberg in batches.
    """
    _check_columns(con, relation, contract)
    table = product_table(cat or catalog(), contract)
    con.execute("SET TimeZone = 'UTC'")  # timestamptz leaves DuckDB as UTC instants
    columns = [c.name for c in contract.columns]
    mark = fingerprint(con, relation, columns)
    main = table.current_snapshot()
    current = _main_version(table)

    def same(s):
        return (
            s is not None
            and _summary(s).get(FINGERPRINT) == mark
            and _summary(s).get(CONTRACT_VERSION) == contract.version
        )

    if current is not None and same(main):
        assert main is not None
        table.manage_snapshots().create_branch(main.snapshot_id, STAGING).commit()
        return StagedBatch(main.snapshot_id, current.version, current.rows, unchanged=True)
    staged = staged_snapshot(table)
    if staged is not None and same(staged) and main is not None and staged.parent_snapshot_id is not None:
        from pyiceberg.table.snapshots import ancestors_of

        if main.snapshot_id in {s.snapshot_id for s in ancestors_of(staged, table.metadata)}:
            summary = _summary(staged)  # already staged (an earlier attempt): keep that snapshot
            return StagedBatch(staged.snapshot_id, int(summary[VERSION]), int(summary[ROWS]), unchanged=False)
    if main is None:  # a branch needs a snapshot to start from: an empty one, never a version
        import pyarrow as pa

        table.append(pa.Table.from_pylist([], schema=table.schema().as_arrow()))
        main = table.current_snapshot()
        assert main is not None
    table.manage_snapshots().create_branch(main.snapshot_id, STAGING).commit()
    rows = int(mark.split(":", 1)[0])
    version = (current.version if current else 0) + 1
    keys = [identifier(k, "primary key") for k in contract.primary_key]
    select = ", ".join(identifier(c, "contract column") for c in columns)
    order = f" ORDER BY {', '.join(keys)}" if keys else ""
    reader = con.sql(f"SELECT {select} FROM {relation}{order}").to_arrow_reader(WRITE_BATCH_ROWS)
    with warnings.catch_warnings():  # the branch starts from main's files: the delete is expected
        warnings.filterwarnings("ignore", "Delete operation did not match any records")
        table.overwrite(
            reader,
            branch=STAGING,
            snapshot_properties={
                VERSION: str(version),
                CONTRACT_VERSION: contract.version,
                ROWS: str(rows),
                RUN_ID: run_id,
                INPUTS: json.dumps(dict(inputs or {}), sort_keys=True),
                FINGERPRINT: mark,
            },
        )
    head = staged_snapshot(table)
    assert head is not None
    return StagedBatch(head.snapshot_id, version, rows, unchanged=False)


def publish(table: Table, snapshot_id: int) -> tuple[PortVersion, bool]:
    """Fast-forward ``main`` to an audited snapshot in one catalog commit.

    Returns the version ``main`` now holds and whether it moved (an unchanged batch is already there).
    Refuses when ``main`` is not an ancestor of the snapshot (it moved since the batch was staged).
    """
    from pyiceberg.table.snapshots import ancestors_of

    main = table.current_snapshot()
    if main is not None and main.snapshot_id == snapshot_id:
        current = _main_version(table)
        assert current is not None
        return current, False
    staged = table.snapshot_by_id(snapshot_id)
    if staged is None or VERSION not in _summary(staged):
        raise CatalogError(
            f"snapshot {snapshot_id} of {'.'.join(table.name())} is not a staged batch of the mesh"
        )
    if main is not None and main.snapshot_id not in {
        s.snapshot_id for s in ancestors_of(staged, table.metadata)
    }:
        raise PublishConflictError(
            f"{'.'.join(table.name())}: main moved since snapshot {snapshot_id} was staged; "
            "materialise the product's gold model again to stage a batch on top of it"
        )
    table.manage_snapshots().set_current_snapshot(snapshot_id=snapshot_id).commit()
    current = _main_version(table)
    assert current is not None
    return current, True


def _reachable(table: Table, snapshot: Snapshot) -> set[str]:
    """Every file a snapshot needs: its manifest list, manifests and live data files."""
    files = {snapshot.manifest_list}
    for manifest in snapshot.manifests(table.io):
        files.add(manifest.manifest_path)
        files.update(entry.data_file.file_path for entry in manifest.fetch_manifest_entry(table.io))
    return files


def expire(table: Table, retention: timedelta | None, now: datetime | None = None) -> list[int]:
    """Expire snapshots past the contract's ``sla.retention``, and delete their files.

    A published version is kept for ``retention`` after it stopped being current (consumers may
    still read it, and time travel reaches it); a batch that was never published, after it was
    written. Branch heads are never expired. Returns the expired snapshot ids.
    """
    if retention is None:
        return []
    cutoff = int(((now or datetime.now(UTC)) - retention).timestamp() * 1000)
    heads = {ref.snapshot_id for ref in table.refs().values()}
    history = table.history()
    superseded = {entry.snapshot_id: later.timestamp_ms for entry, later in itertools.pairwise(history)}
    doomed = [
        s
        for s in table.snapshots()
        if s.snapshot_id not in heads and superseded.get(s.snapshot_id, s.timestamp_ms) < cutoff
    ]
    if not doomed:
        return []
    candidates: set[str] = set()
    for snapshot in doomed:
        candidates |= _reachable(table, snapshot)
    table.maintenance.expire_snapshots().by_ids([s.snapshot_id for s in doomed]).commit()
    table.refresh()
    live: set[str] = set()
    for snapshot in table.snapshots():
        live |= _reachable(table, snapshot)
    for path in sorted(candidates - live):
        table.io.delete(path)
    return [s.snapshot_id for s in doomed]


#: A data file that no snapshot references is an orphan once it is this old: a write killed before
#: its commit left it. A write in progress is younger (they take minutes even at 50M rows).
ORPHAN_GRACE = timedelta(hours=6)


def sweep_orphans(table: Table, grace: timedelta = ORPHAN_GRACE, now: datetime | None = None) -> list[str]:
    """Delete the table's data files that no snapshot references and that are older than ``grace``.

    A provider's run killed while it streams a batch leaves Parquet files that no commit names;
    nothing reads them, nothing else would ever delete them. Returns the deleted locations.
    """
    from pyarrow import fs as pafs
    from pyiceberg.io.pyarrow import PyArrowFileIO

    if not isinstance(table.io, PyArrowFileIO):
        return []  # another FileIO cannot list: its orphans are left to the storage's lifecycle rules
    scheme, netloc, folder = PyArrowFileIO.parse_location(f"{table.location()}/data")
    filesystem = table.io.fs_by_scheme(scheme, netloc)
    found = filesystem.get_file_info(pafs.FileSelector(folder, recursive=True, allow_not_found=True))
    referenced: set[str] = set()
    for snapshot in table.snapshots():
        referenced |= {PyArrowFileIO.parse_location(path)[2] for path in _reachable(table, snapshot)}
    cutoff = (now or datetime.now(UTC)) - grace
    swept = []
    for info in found:
        if info.type != pafs.FileType.File or info.path in referenced or info.mtime is None:
            continue
        written = info.mtime if info.mtime.tzinfo else info.mtime.replace(tzinfo=UTC)
        if written < cutoff:
            filesystem.delete_file(info.path)
            swept.append(f"{scheme}://{info.path}")
    return swept
