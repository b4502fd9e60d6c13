"""Landing: every file dropped in a feed's folder is ingested once, kept as received.

Each record lands as its original text (a JSON object per row) with ingestion metadata: source
file, content hash, ingested-at and row number. A feed with several senders (``sources:`` in the
spec) reads each sender's folder ``<feed>/<source>/`` in that sender's format; its files land as
``<source>/<file name>`` so that bronze applies the right mapping. Which files are read, and why the
others are not (links, FIFOs, wrong extension, no source's folder, undated), is decided by
:func:`mesh_orchestrator.ingestion.feed_files.select_files`; the unread ones are reported, never opened.

Structural problems (a CSV line with the wrong number of fields, undecodable bytes, a document
that does not parse) are kept too, with the parser's message, so that bronze can quarantine them:
nothing that arrived is dropped. A file that cannot be read as its format at all (a CSV header with
an empty or repeated column name or undecodable bytes, a file the mesh may not read, a CSV DuckDB
refuses) lands as one unparseable record naming the reason, so one bad file never stops the
feed's others. A file is ingested in one transaction together with its entry in
``landing._files``: a crash mid-file leaves nothing half-done, and the file is picked up again on
the next run.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa

from mesh_orchestrator.core.errors import NotRegularFileError
from mesh_orchestrator.core.partitions import DayRange, file_day
from mesh_orchestrator.core.spec import FeedSpec
from mesh_orchestrator.core.sql import identifier, literal
from mesh_orchestrator.core.storage import fetch_one
from mesh_orchestrator.ingestion.feed_files import (
    NOT_REGULAR,
    UNDATED,
    FeedFile,
    Unread,
    content_hash,
    open_regular,
    readable_path,
    select_files,
    unreadable_digest,
)
from mesh_orchestrator.ingestion.record_formats import (
    RawRecord,
    read_fixed_width,
    read_json_document,
    read_xml,
)

JSONL_BATCH_LINES = 250_000
#: A CSV header line longer than this is not read (the file lands as one unparseable record).
MAX_HEADER_BYTES = 1 << 20

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
    #: Why the file could not be read as its format (it landed as one unparseable record).
    problem: str | None = None


@dataclass
class LandingReport:
    feed: str
    ingested: list[FileIngested] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: Files in the folder that landing does not read, and why (see ``feed_files``).
    unread: list[Unread] = field(default_factory=list)
    #: Partial files (``*.part``, ``*.tmp``) waiting for their final name.
    waiting: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.ingested)

    @property
    def undated(self) -> list[str]:
        """Files of a partitioned feed without a day in their name: no partition reads them."""
        return [u.label for u in self.unread if u.why == UNDATED]

    @property
    def unparseable(self) -> list[FileIngested]:
        """Files that landed as one unparseable record."""
        return [f for f in self.ingested if f.problem is not None]


class _WholeFileError(Exception):
    """The file cannot be read as its format at all; it lands as one unparseable record."""

    def __init__(self, reason: str, text: str | None = None) -> None:
        self.reason = reason
        self.text = text
        super().__init__(reason)


def ensure_landing_tables(con: duckdb.DuckDBPyConnection, feed: FeedSpec) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS landing")
    con.execute(
        "CREATE TABLE IF NOT EXISTS landing._files (feed VARCHAR NOT NULL, source_file VARCHAR NOT NULL, "
        "content_hash VARCHAR NOT NULL, ingested_at TIMESTAMP NOT NULL, rows BIGINT NOT NULL, "
        "parse_errors BIGINT NOT NULL, PRIMARY KEY (feed, content_hash))"
    )
    con.execute(f"CREATE TABLE IF NOT EXISTS landing.{identifier(feed.name)} ({LANDING_COLUMNS})")


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
    selection = select_files(feed, folder)
    report = LandingReport(feed=feed.name, unread=selection.unread, waiting=selection.waiting)
    known: dict[str, set[str]] = {}
    for file in selection.read:
        if days is not None and file_day(file.label) not in days:
            continue
        ledger = f"{feed.name}/{file.source.name}" if file.source.name else feed.name
        if ledger not in known:
            rows = con.execute("SELECT content_hash FROM landing._files WHERE feed = ?", [ledger]).fetchall()
            known[ledger] = {row[0] for row in rows}
        try:
            ingested = _ingest_checked(con, feed, file, ledger, known[ledger])
        except NotRegularFileError as exc:  # swapped for a link or a FIFO since it was listed
            report.unread.append(Unread(file.label, NOT_REGULAR, exc.what))
            continue
        except FileNotFoundError:  # moved away since it was listed
            continue
        if ingested is None:
            report.skipped.append(file.label)
            continue
        known[ledger].add(ingested.content_hash)
        report.ingested.append(ingested)
        if ingested.problem is not None:
            log(
                f"{feed.name}: {file.label} is not readable as {file.source.format}, landed as one "
                f"unparseable record: {ingested.problem}"
            )
        else:
            log(
                f"{feed.name}: ingested {file.label} ({ingested.rows:,} rows, "
                f"{ingested.parse_errors} unparseable)"
            )
    return report


def _ingest_checked(
    con: duckdb.DuckDBPyConnection, feed: FeedSpec, file: FeedFile, ledger: str, known: set[str]
) -> FileIngested | None:
    """Open the file safely, hash and land what was opened; None when that content is known."""
    try:
        with open_regular(file) as handle:
            digest = content_hash(handle)
            if digest in known:
                return None
            return _ingest_file(con, feed, file, handle, ledger, digest)
    except PermissionError as exc:
        digest = unreadable_digest(file)
        if digest in known:
            return None
        problem = f"UNREADABLE FILE: {exc.strerror or exc}; give the mesh read access and drop it again"
        return _land_failure(con, feed, file, ledger, digest, _WholeFileError(problem))


def _meta(feed: FeedSpec, file: FeedFile, digest: str) -> _FileMeta:
    return _FileMeta(
        f"landing.{identifier(feed.name)}", file.label, digest, datetime.now(UTC).replace(tzinfo=None)
    )


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    feed: FeedSpec,
    file: FeedFile,
    handle: BinaryIO,
    ledger: str,
    digest: str,
) -> FileIngested:
    """Land the records of an open file; one that cannot be read as its format lands as one record."""
    meta = _meta(feed, file, digest)
    try:
        rows, errors = _in_transaction(con, meta, ledger, lambda: _land(con, meta, file, handle))
    except _WholeFileError as exc:
        return _land_failure(con, feed, file, ledger, digest, exc)
    except (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.BinderException) as exc:
        problem = f"NOT READABLE AS {file.source.format.upper()}: {_first_line(exc)}"
        return _land_failure(con, feed, file, ledger, digest, _WholeFileError(problem))
    return FileIngested(file.label, digest, rows, errors)


def _land_failure(
    con: duckdb.DuckDBPyConnection,
    feed: FeedSpec,
    file: FeedFile,
    ledger: str,
    digest: str,
    failure: _WholeFileError,
) -> FileIngested:
    """The file as one unparseable record carrying why (bronze quarantines it as ``unparseable``)."""
    meta = _meta(feed, file, digest)

    def land() -> tuple[int, int]:
        _insert_batch(con, meta, [1], [failure.text], [failure.reason])
        return 1, 1

    rows, errors = _in_transaction(con, meta, ledger, land)
    return FileIngested(file.label, digest, rows, errors, problem=failure.reason)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _in_transaction(
    con: duckdb.DuckDBPyConnection, meta: _FileMeta, ledger: str, land: Callable[[], tuple[int, int]]
) -> tuple[int, int]:
    """Land a file and record it in ``landing._files`` in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        rows, errors = land()
        con.execute(
            "INSERT INTO landing._files VALUES (?, ?, ?, ?, ?, ?)",
            [ledger, meta.label, meta.digest, meta.ingested_at, rows, errors],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    # DuckDB 2.0.0 can lose rows from a scan of a table that large appends committed in the same
    # connection before a checkpoint: a later query of this connection (the landed count, bronze
    # in a run that lands and builds it together) saw only the first of three 250,000-line files.
    # A checkpoint writes the file's rows into the database file, where every scan finds them.
    # Another transaction of this process on the same file makes DuckDB refuse it; the rows are
    # committed all the same, and that transaction's own connection is not the one reading them.
    with contextlib.suppress(duckdb.TransactionException):
        con.execute("CHECKPOINT")
    return rows, errors


def _land(
    con: duckdb.DuckDBPyConnection, meta: _FileMeta, file: FeedFile, handle: BinaryIO
) -> tuple[int, int]:
    source = file.source
    if source.format == "csv":
        return _land_csv(con, meta, handle, readable_path(handle, file), source.delimiter)
    if source.format == "jsonl":
        return _land_jsonl(con, meta, handle)
    if source.format == "json":
        return _land_records(con, meta, read_json_document(handle, source.records))
    if source.format == "xml":
        return _land_records(con, meta, read_xml(handle, str(source.records)))
    return _land_records(con, meta, read_fixed_width(handle, source.layout))


@dataclass(frozen=True)
class _FileMeta:
    """Where a file lands and the metadata every one of its rows carries."""

    table: str
    label: str
    digest: str
    ingested_at: datetime

    def sql(self) -> str:
        return f"{literal(self.label)}, {literal(self.digest)}, {self._at()}"

    def rows(self) -> str:
        """A condition true of this file's rows in its landing table."""
        return (
            f"_source_file = {literal(self.label)} AND _content_hash = {literal(self.digest)} "
            f"AND _ingested_at = {self._at()}"
        )

    def _at(self) -> str:
        return f"{literal(self.ingested_at.isoformat(sep=' '))}::TIMESTAMP"


def _csv_header(handle: BinaryIO, delimiter: str) -> list[str]:
    """The header's column names; a header no column can be named from fails the whole file."""
    handle.seek(0)
    raw = handle.readline(MAX_HEADER_BYTES + 1)
    handle.seek(0)
    if len(raw) > MAX_HEADER_BYTES:
        raise _WholeFileError(f"BAD CSV HEADER: the first line is longer than {MAX_HEADER_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _WholeFileError(
            f"BAD CSV HEADER: INVALID UNICODE at byte {exc.start} of the header line; "
            "send the file as UTF-8 and drop it again",
            raw.decode("utf-8-sig", errors="replace").rstrip("\r\n"),
        ) from exc
    line = text.rstrip("\r\n")
    if not line.strip():
        return []
    header = next(csv.reader([line], delimiter=delimiter), [])
    seen: set[str] = set()
    for number, name in enumerate(header, start=1):
        if not name.strip():
            raise _WholeFileError(
                f"BAD CSV HEADER: EMPTY COLUMN NAME in column {number}; name every column and drop "
                "the file again",
                line,
            )
        if name.strip().lower() in seen:
            raise _WholeFileError(
                f"BAD CSV HEADER: REPEATED COLUMN NAME {name.strip()!r} (column {number}); "
                "name every column once and drop the file again",
                line,
            )
        seen.add(name.strip().lower())
    return header


def _land_csv(
    con: duckdb.DuckDBPyConnection, file: _FileMeta, handle: BinaryIO, path: str, delimiter: str
) -> tuple[int, int]:
    """Parse with DuckDB (all text, strict); rejected lines are landed with the parser's message.

    ``path`` reads the file ``handle`` has open (``feed_files.readable_path``).
    """
    header = _csv_header(handle, delimiter)
    if not header:
        return 0, 0
    table = file.table
    columns = "{" + ", ".join(f"{literal(h)}: 'VARCHAR'" for h in header) + "}"
    meta = file.sql()
    con.execute("DROP TABLE IF EXISTS temp.csv_rejects; DROP TABLE IF EXISTS temp.csv_scans")
    # The good rows go straight into landing, numbered in the file's order (a window with an
    # empty OVER keeps it): no copy of the file in a temporary table and no sort, whose cost
    # bent upwards once a file outgrew memory.
    (good,) = fetch_one(
        con,
        f"INSERT INTO {table} SELECT {meta}, row_number() OVER () + 1, to_json(t)::VARCHAR, NULL "
        f"FROM read_csv({literal(path)}, columns={columns}, "
        f"header=true, delim={literal(delimiter)}, quote='\"', escape='\"', auto_detect=false, "
        "strict_mode=true, encoding='utf-8', store_rejects=true, rejects_table='csv_rejects', "
        "rejects_scan='csv_scans') t",
    )
    # Good rows are numbered as if no line had been rejected (the header is line 1); each sits
    # below the rejected lines before it. good_before = good rows before a rejected line
    # (single-line records assumed).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE csv_bad AS SELECT line, csv_line, error_type, error_message, "
        "line - 1 - row_number() OVER (ORDER BY line) AS good_before "
        "FROM (SELECT DISTINCT ON (line) * FROM temp.csv_rejects)"
    )
    (bad,) = fetch_one(con, "SELECT count(*) FROM temp.csv_bad")
    if bad:
        # Each good row moves down by the rejected lines before it (found with an ASOF join on
        # sorted runs, not a count per row).
        this_file = file.rows()
        con.execute(
            f"UPDATE {table} AS l SET _row_number = l._row_number + shift.rejected_before FROM ("
            f"  SELECT g._row_number AS numbered, b.rejected_before FROM (SELECT _row_number "
            f"  FROM {table} WHERE {this_file}) g ASOF JOIN (SELECT good_before, count(*) OVER "
            f"  (ORDER BY good_before) AS rejected_before FROM temp.csv_bad) b "
            f"  ON g._row_number - 1 > b.good_before) shift "
            f"WHERE {this_file} AND l._row_number = shift.numbered"
        )
    con.execute(
        f"INSERT INTO {table} SELECT {meta}, line, csv_line, error_type || ': ' || error_message "
        "FROM temp.csv_bad ORDER BY line"
    )
    con.execute("DROP TABLE temp.csv_bad")
    return int(good) + int(bad), int(bad)


def _jsonl_batches(handle: BinaryIO) -> Iterator[tuple[list[int], list[str], list[str | None]]]:
    """Lines of a JSON Lines file in batches: (line numbers, text, decode error)."""
    numbers: list[int] = []
    texts: list[str] = []
    errors: list[str | None] = []
    handle.seek(0)
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


def _land_jsonl(con: duckdb.DuckDBPyConnection, file: _FileMeta, handle: BinaryIO) -> tuple[int, int]:
    """Keep each line as text; JSON validity is judged in bronze, where bad lines are quarantined."""
    rows = errors = 0
    for numbers, texts, decode_errors in _jsonl_batches(handle):
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
        if record.whole_file:
            raise _WholeFileError(str(record.error), record.text)
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
