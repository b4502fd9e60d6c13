"""Output ports: staged batches, immutable published versions and the ``current.parquet`` pointer.

Layout under ``<data>/products/<domain>/<product>/``::

    versions/000001.parquet, 000002.parquet ...   immutable, one per successful publish
    current.parquet                               hard link to the newest version

Publishing is atomic: the new version is written under a temporary name, renamed into
``versions/``, then ``current.parquet`` is replaced with one ``os.replace`` of a hard link. A reader
opening ``current.parquet`` sees either the previous version or the new one, never half of one.
That swap is the publish's commit: a publish killed before it leaves a version newer than
``current`` (or temporary files), which the next publish of the product removes before numbering
its own, so every version is published exactly once and ``current`` is always the newest.
The version number, contract version and publish time are stored in the Parquet footer.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mesh_orchestrator.errors import PortNotPublishedError
from mesh_orchestrator.paths import products_dir, staging_dir

CURRENT = "current.parquet"
META_PREFIX = b"mesh."


@dataclass(frozen=True)
class PublishedVersion:
    domain: str
    product: str
    version: int
    contract_version: str
    rows: int
    published_at: str
    path: Path


def current_path(domain: str, product: str) -> Path:
    return products_dir(domain, product) / CURRENT


def stage_path(domain: str, product: str, run_id: str) -> Path:
    """A fresh staging file for one hand-off run."""
    folder = staging_dir(domain, product)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{run_id}.parquet"


def _version_meta(path: Path) -> dict[str, str]:
    meta = pq.read_schema(path).metadata or {}
    return {k[len(META_PREFIX) :].decode(): v.decode() for k, v in meta.items() if k.startswith(META_PREFIX)}


def current_version(domain: str, product: str) -> PublishedVersion | None:
    """The version consumers read now, or None if nothing was ever published."""
    path = current_path(domain, product)
    if not path.exists():
        return None
    meta = _version_meta(path)
    version = int(meta.get("version", "0"))
    return PublishedVersion(
        domain=domain,
        product=product,
        version=version,
        contract_version=meta.get("contract_version", "?"),
        rows=int(meta.get("rows", "0")),
        published_at=meta.get("published_at", "?"),
        path=products_dir(domain, product) / "versions" / f"{version:06d}.parquet",
    )


def require_current(domain: str, product: str) -> PublishedVersion:
    published = current_version(domain, product)
    if published is None:
        raise PortNotPublishedError(domain, product, products_dir(domain, product))
    return published


def same_data(a: Path, b: Path) -> bool:
    """Whether two Parquet files hold the same rows and columns (file metadata aside).

    Compared column by column, so memory is bounded by two columns, not two whole products.
    """
    first, second = pq.ParquetFile(a), pq.ParquetFile(b)
    if first.metadata.num_rows != second.metadata.num_rows:
        return False
    if not first.schema_arrow.remove_metadata().equals(second.schema_arrow.remove_metadata()):
        return False
    return all(
        first.read(columns=[name]).column(0).equals(second.read(columns=[name]).column(0))
        for name in first.schema_arrow.names
    )


def publish(domain: str, product: str, staged: Path, contract_version: str) -> PublishedVersion:
    """Publish an audited staged file as the next version and point ``current`` at it.

    A batch identical to the current version (same rows, same contract version) publishes nothing
    new: re-running a hand-off on unchanged data leaves the port, and its consumers, as they are.
    """
    port = products_dir(domain, product)
    versions = port / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    source = pq.ParquetFile(staged)
    previous = current_version(domain, product)
    _discard_uncommitted(port, previous)
    if (
        previous is not None
        and previous.contract_version == contract_version
        and same_data(staged, previous.path)
    ):
        return previous
    existing = [int(p.stem) for p in versions.glob("*.parquet") if p.stem.isdigit()]
    version = max(existing, default=0) + 1
    published_at = datetime.now(UTC).isoformat(timespec="seconds")
    rows = source.metadata.num_rows
    meta = dict(source.schema_arrow.metadata or {})
    meta.update(
        {
            META_PREFIX + b"version": str(version).encode(),
            META_PREFIX + b"contract_version": contract_version.encode(),
            META_PREFIX + b"rows": str(rows).encode(),
            META_PREFIX + b"published_at": published_at.encode(),
        }
    )
    final = versions / f"{version:06d}.parquet"
    tmp = versions / f".{version:06d}.parquet.tmp"
    # Row group by row group: memory is bounded by a row group, not the product.
    with pq.ParquetWriter(tmp, source.schema_arrow.with_metadata(meta)) as writer:
        for group in range(source.num_row_groups):
            writer.write_table(source.read_row_group(group))
    _fsync(tmp)
    os.replace(tmp, final)
    link = port / f".{CURRENT}.{version}.tmp"
    try:
        os.link(final, link)
    except OSError:  # file systems without hard links: a copy, still swapped in atomically
        shutil.copyfile(final, link)
        _fsync(link)
    os.replace(link, port / CURRENT)  # the commit
    _fsync(port)
    return PublishedVersion(domain, product, version, contract_version, rows, published_at, final)


def _discard_uncommitted(port: Path, current: PublishedVersion | None) -> None:
    """Remove what a publish killed before its commit left: temporary files and versions newer
    than ``current`` (never read: consumers read ``current``). Runs under the domain's pool, the
    only place that publishes the product, so no publish is under way meanwhile."""
    versions = port / "versions"
    leftovers = [*versions.glob(".*.tmp"), *port.glob(f".{CURRENT}.*.tmp")]
    committed = current.version if current is not None else 0
    leftovers += [p for p in versions.glob("*.parquet") if p.stem.isdigit() and int(p.stem) > committed]
    for path in leftovers:
        path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk: a publish survives a power cut, not just a kill."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_current(domain: str, product: str) -> pa.Table:
    return pq.read_table(require_current(domain, product).path)
