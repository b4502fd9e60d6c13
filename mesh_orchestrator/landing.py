"""Landing: every file dropped in a feed's folder is ingested once, kept as received.

Each record lands as its original text (a JSON object per row) with ingestion metadata: source
file, content hash, ingested-at and row number. A feed with several senders (``sources:`` in the
spec) reads each sender's folder ``<feed>/<source>/`` in that sender's format; its files land as
``<source>/<file name>`` so that bronze applies the right mapping.

Structural problems (a CSV line with the wrong number of fields, undecodable bytes, a document
that does not parse) are kept too, with the parser's message, so that bronze can quarantine them:
nothing that arrived is dropped. A file is ingested in one transaction together with its entry in
``landing._files``: a crash mid-file leaves nothing half-done, and the file is picked up again on
the next run.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from mesh_orchestrator.errors import LandingError
from mesh_orchestrator.partitions import DayRange, file_day
from mesh_orchestrator.record_formats import RawRecord, read_fixed_width, read_json_document, read_xml
from mesh_orchestrator.spec import FeedSpec, SourceSpec
from mesh_orchestrator.sql import identifier, literal
from mesh_orchestrator.storage import fetch_one

FILE_SUFFIXES = {
    "csv": (".csv",),
    "jsonl": (".jsonl", ".ndjson", ".json"),
    "json": (".json",),
    "xml": (".xml",),
    "fixed_width": (".txt", ".dat"),
}
#: Files still being written by their producer are skipped until they are renamed.
PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
JSONL_BATCH_LINES = 250_000

LANDING_COLUMNS = (
    "_source_file VARCHAR NOT NULL, _content_hash VARCHAR NOT NULL, _ingested_at TIMESTAMP NOT NULL, "
    "_row_number BIGINT NOT NULL, _record VARCHAR, _parse_error VARCHAR"
)


@dataclass
class FileIngested:
    path: str
    content_hash: str
    rows: int
    parse_errors: int


@dataclass
class LandingReport:
    feed: str
    ingested: list[FileIngested] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: Files of a partitioned feed without a day in their name: no partition reads them.
    undated: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.ingested)


def ensure_landing_tables(con: duckdb.DuckDBPyConnection, feed: FeedSpec) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS landing")
    con.execute(
        "CREATE TABLE IF NOT EXISTS landing._files (feed VARCHAR NOT NULL, source_file VARCHAR NOT NULL, "
        "content_hash VARCHAR NOT NULL, ingested_at TIMESTAMP NOT NULL, rows BIGINT NOT NULL, "
        "parse_errors BIGINT NOT NULL, PRIMARY KEY (feed, content_hash))"
    )
    con.execute(f"CREATE TABLE IF NOT EXISTS landing.{identifier(feed.name)} ({LANDING_COLUMNS})")


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def candidate_files(folder: Path, fmt: str) -> list[Path]:
    """Complete files of the format, oldest name first; hidden and partial files skipped."""
    if not folder.is_dir():
        return []
    suffixes = FILE_SUFFIXES[fmt]
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith((".", "_"))
        and p.suffix.lower() in suffixes
        and not p.name.lower().endswith(PARTIAL_SUFFIXES)
    )


def ingest_feed(
    con: duckdb.DuckDBPyConnection,
    feed: FeedSpec,
    folder: Path,
    log: Callable[[str], None] = lambda _msg: None,
    days: DayRange | None = None,
) -> LandingReport:
    """Ingest every file of ``folder`` that has not been ingested before (by content hash).

    A feed with sources reads ``folder/<source>/`` for each of them (one sender's identical
    resend is skipped; two senders' identical files are not confused). With ``days`` (a partitioned
    feed's run), only the files for those days (the date in their name) are read.
    """
    ensure_landing_tables(con, feed)
    report = LandingReport(feed=feed.name)
    plain = SourceSpec(name="", format=feed.format, fields=())
    for source in feed.sources or (plain,):
        ledger = f"{feed.name}/{source.name}" if source.name else feed.name
        known = {
            row[0]
            for row in con.execute(
                "SELECT content_hash FROM landing._files WHERE feed = ?", [ledger]
            ).fetchall()
        }
        source_folder = folder / source.name if source.name else folder
        for path in candidate_files(source_folder, source.format):
            label = f"{source.name}/{path.name}" if source.name else path.name
            if feed.partitioned_by is not None:
                day = file_day(label)
                if day is None:
                    report.undated.append(label)
                    continue
                if days is not None and day not in days:
                    continue
            digest = content_hash(path)
            if digest in known:
                report.skipped.append(label)
                continue
            ingested = _ingest_file(con, feed, source, path, label, ledger, digest)
            known.add(digest)
            report.ingested.append(ingested)
            log(
                f"{feed.name}: ingested {label} ({ingested.rows:,} rows, {ingested.parse_errors} unparseable)"
            )
    return report


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    feed: FeedSpec,
    source: SourceSpec,
    path: Path,
    label: str,
    ledger: str,
    digest: str,
) -> FileIngested:
    ingested_at = datetime.now(UTC).replace(tzinfo=None)
    table = f"landing.{identifier(feed.name)}"
    meta = _FileMeta(table, label, digest, ingested_at)
    con.execute("BEGIN TRANSACTION")
    try:
        if source.format == "csv":
            rows, errors = _land_csv(con, meta, path, source.delimiter)
        elif source.format == "jsonl":
            rows, errors = _land_jsonl(con, meta, path)
        elif source.format == "json":
            rows, errors = _land_records(con, meta, read_json_document(path, source.records))
        elif source.format == "xml":
            rows, errors = _land_records(con, meta, read_xml(path, str(source.records)))
        else:
            rows, errors = _land_records(con, meta, read_fixed_width(path, source.layout))
        con.execute(
            "INSERT INTO landing._files VALUES (?, ?, ?, ?, ?, ?)",
            [ledger, label, digest, ingested_at, rows, errors],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return FileIngested(path=label, content_hash=digest, rows=rows, parse_errors=errors)


@dataclass(frozen=True)
class _FileMeta:
    """Where a file lands and the metadata every one of its rows carries."""

    table: str
    label: str
    digest: str
    ingested_at: datetime

    def sql(self) -> str:
        at = literal(self.ingested_at.isoformat(sep=" "))
        return f"{literal(self.label)}, {literal(self.digest)}, {at}::TIMESTAMP"


def _csv_header(path: Path, delimiter: str) -> list[str]:
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        try:
            header = next(csv.reader(handle, delimiter=delimiter))
        except StopIteration:
            return []
    if len(set(header)) != len(header) or any(not h.strip() for h in header):
        raise LandingError(
            f"{path}: the CSV header {header!r} has empty or repeated column names; "
            "fix the file and drop it again"
        )
    return header


def _land_csv(con: duckdb.DuckDBPyConnection, file: _FileMeta, path: Path, delimiter: str) -> tuple[int, int]:
    """Parse with DuckDB (all text, strict); rejected lines are landed with the parser's message."""
    header = _csv_header(path, delimiter)
    if not header:
        return 0, 0
    table = file.table
    columns = "{" + ", ".join(f"{literal(h)}: 'VARCHAR'" for h in header) + "}"
    meta = file.sql()
    con.execute("DROP TABLE IF EXISTS temp.csv_rejects; DROP TABLE IF EXISTS temp.csv_scans")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE csv_good AS SELECT row_number() OVER () AS k, "
        f"to_json(t)::VARCHAR AS rec FROM read_csv({literal(str(path))}, columns={columns}, "
        f"header=true, delim={literal(delimiter)}, quote='\"', escape='\"', auto_detect=false, "
        "strict_mode=true, encoding='utf-8', store_rejects=true, rejects_table='csv_rejects', "
        "rejects_scan='csv_scans') t"
    )
    # Good rows do not carry their line number: derive it from the rejected lines around them.
    # good_before = good rows before the i-th rejected line (single-line records assumed).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE csv_bad AS SELECT line, csv_line, error_type, error_message, "
        "line - 1 - row_number() OVER (ORDER BY line) AS good_before, "
        "row_number() OVER (ORDER BY line) AS i FROM (SELECT DISTINCT ON (line) * FROM temp.csv_rejects)"
    )
    con.execute(
        f"INSERT INTO {table} SELECT {meta}, g.k + 1 + coalesce(b.i, 0), g.rec, NULL "
        "FROM temp.csv_good g ASOF LEFT JOIN (SELECT good_before, max(i) AS i FROM temp.csv_bad "
        "GROUP BY good_before) b ON g.k > b.good_before ORDER BY g.k"
    )
    con.execute(
        f"INSERT INTO {table} SELECT {meta}, line, csv_line, error_type || ': ' || error_message "
        "FROM temp.csv_bad ORDER BY line"
    )
    good, bad = fetch_one(
        con, "SELECT (SELECT count(*) FROM temp.csv_good), (SELECT count(*) FROM temp.csv_bad)"
    )
    con.execute("DROP TABLE temp.csv_good; DROP TABLE temp.csv_bad")
    return int(good) + int(bad), int(bad)


def _jsonl_batches(path: Path) -> Iterator[tuple[list[int], list[str], list[str | None]]]:
    """Lines of a JSON Lines file in batches: (line numbers, text, decode error)."""
    numbers: list[int] = []
    texts: list[str] = []
    errors: list[str | None] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                texts.append(line.decode("utf-8"))
                errors.append(None)
            except UnicodeDecodeError as exc:
                texts.append(line.decode("utf-8", errors="replace"))
                errors.append(f"INVALID UNICODE: {exc.reason} at byte {exc.start}")
            numbers.append(number)
            if len(numbers) >= JSONL_BATCH_LINES:
                yield numbers, texts, errors
                numbers, texts, errors = [], [], []
    if numbers:
        yield numbers, texts, errors


def _insert_batch(
    con: duckdb.DuckDBPyConnection,
    file: _FileMeta,
    numbers: list[int],
    texts: list[str | None],
    errors: list[str | None],
) -> None:
    batch = pa.table(
        {
            "_row_number": pa.array(numbers, pa.int64()),
            "_record": pa.array(texts, pa.string()),
            "_parse_error": pa.array(errors, pa.string()),
        }
    )
    con.register("landing_batch", batch)
    try:
        con.execute(
            f"INSERT INTO {file.table} SELECT {file.sql()}, _row_number, _record, _parse_error "
            "FROM landing_batch"
        )
    finally:
        con.unregister("landing_batch")


def _land_jsonl(con: duckdb.DuckDBPyConnection, file: _FileMeta, path: Path) -> tuple[int, int]:
    """Keep each line as text; JSON validity is judged in bronze, where bad lines are quarantined."""
    rows = errors = 0
    for numbers, texts, decode_errors in _jsonl_batches(path):
        _insert_batch(con, file, numbers, list(texts), decode_errors)
        rows += len(numbers)
        errors += sum(e is not None for e in decode_errors)
    return rows, errors


def _land_records(
    con: duckdb.DuckDBPyConnection, file: _FileMeta, records: Iterator[RawRecord]
) -> tuple[int, int]:
    """Land parsed records as JSON text (fields as sent); unreadable parts with their reason."""
    rows = errors = 0
    numbers: list[int] = []
    texts: list[str | None] = []
    problems: list[str | None] = []
    for record in records:
        numbers.append(record.number)
        texts.append(
            json.dumps(record.fields, ensure_ascii=False) if record.fields is not None else record.text
        )
        problems.append(record.error)
        if len(numbers) >= JSONL_BATCH_LINES:
            _insert_batch(con, file, numbers, texts, problems)
            rows, errors = rows + len(numbers), errors + sum(p is not None for p in problems)
            numbers, texts, problems = [], [], []
    if numbers:
        _insert_batch(con, file, numbers, texts, problems)
        rows, errors = rows + len(numbers), errors + sum(p is not None for p in problems)
    return rows, errors
