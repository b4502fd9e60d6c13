"""Bronze: landed records typed to the feed's schema, de-duplicated on its key.

Every landed record ends in exactly one place: the bronze table, or the feed's quarantine table
with the reason(s) it was rejected (unparseable, unknown column, missing key, missing required
value, bad type, value not allowed, duplicate key). Bronze is rebuilt from landing in one
transaction, so it is always consistent with what landed and re-running it changes nothing; a feed
partitioned by day is rebuilt one day (or range of days) at a time, the same way.
De-duplication keeps the latest arrival of a key (ingested last, then the later line). Values are
typed by the rules of ``value_parsing``: one SQL expression per column gives both the typed value
and, where it is NULL, the ``bad_type`` reason, so the two never disagree. A feed with several
senders maps each sender's fields onto the feed's columns (renames, constants) and types each
value in its sender's conventions (decimal comma, date format, time zone, units).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from mesh_orchestrator.core.errors import LandingError
from mesh_orchestrator.core.partitions import FILE_DAY_SQL, DayRange, DayScope
from mesh_orchestrator.core.spec import ColumnSpec, FeedSpec, SourceSpec
from mesh_orchestrator.core.sql import identifier, literal
from mesh_orchestrator.core.storage import fetch_one
from mesh_orchestrator.ingestion.landing import ensure_landing_tables
from mesh_orchestrator.ingestion.value_parsing import Conventions, Parsed, bad_type, parse

DUPLICATE_REASON = "duplicate_key"
#: A partitioned feed's rows carry the day of the file they came in (``partitions.file_day``).
PARTITION_COLUMN = "_partition"
#: The order of arrival of landed rows: of two rows with one key, bronze keeps the later. Files
#: arrive in the order of their ingestion (then path and content), lines in their file's order.
FILE_ARRIVAL = "_ingested_at, _source_file, _content_hash"
#: Lines of one file that ``ARRIVAL`` can number: the file's rank goes above them.
LINES_PER_FILE = 1 << 32
#: A landed row's arrival as one BIGINT (the file's rank, then the line), so that finding the
#: latest row of each key hashes and joins eight bytes a row, not the file's path and hash.
ARRIVAL = f"_file_rank * {LINES_PER_FILE} + _row_number"
#: The file rank and line number an arrival is made of.
FILE_RANK = f"_arrival // {LINES_PER_FILE}"
ROW_NUMBER = f"_arrival % {LINES_PER_FILE}"
#: The sender of a record of a feed with sources: the first folder of its file's path.
SENDER = "split_part(_source_file, '/', 1)"


@dataclass(frozen=True)
class Reconciliation:
    """Row counts that must add up: landed = bronze + duplicates dropped + quarantined."""

    landed: int
    bronze: int
    duplicates: int
    quarantined: int
    scope: DayScope | None = None  # a partitioned run's days; None: the whole table

    @property
    def holds(self) -> bool:
        return self.landed == self.bronze + self.duplicates + self.quarantined

    @property
    def difference(self) -> int:
        return self.landed - (self.bronze + self.duplicates + self.quarantined)


def _field(record: str, name: str) -> str:
    # CSV cells arrive as strings (empty = missing); JSON values may be numbers or booleans.
    path = literal(f'$."{name}"')
    return f"nullif(json_extract_string({record}, {path}), '')"


def _raw(column: ColumnSpec) -> str:
    return _field("_canonical", column.name)


def _sender_parsing(
    feed: FeedSpec, column: ColumnSpec, source: SourceSpec
) -> tuple[Conventions, float | None]:
    """How a source writes a column: in its own conventions and units, but a constant of the spec
    in the feed's."""
    if column.name in dict(source.constants):
        return Conventions(timezone=feed.timezone), None
    conventions = Conventions(
        decimal_separator=source.decimal_separator,
        timezone=source.timezone or feed.timezone,
        date_format=source.date_format,
    )
    return conventions, dict(source.scale).get(column.name)


def _parsing(feed: FeedSpec, column: ColumnSpec) -> Parsed:
    """The column's typed value and rejection reason (``value_parsing``), per sender for a feed
    with sources that write it differently."""
    raw, name = f"raw_{column.name}", f"_p_{column.name}"
    if not feed.is_mapped:
        return parse(raw, column.type, Conventions(timezone=feed.timezone), name=name)
    ways: dict[tuple[Conventions, float | None], list[str]] = {}
    for source in feed.sources:
        ways.setdefault(_sender_parsing(feed, column, source), []).append(source.name)
    if len(ways) == 1:
        ((conventions, factor),) = ways
        return parse(raw, column.type, conventions, factor, name=name)
    parsed = [
        (senders, parse(raw, column.type, conventions, factor, name=f"{name}_{i}"))
        for i, ((conventions, factor), senders) in enumerate(ways.items())
    ]

    def by_sender(part: str) -> str:
        whens = " ".join(
            f"WHEN _sender IN ({', '.join(literal(s) for s in senders)}) THEN {getattr(p, part)}"
            for senders, p in parsed
        )
        return f"CASE {whens} END"

    return Parsed(by_sender("value"), by_sender("problem"), _merged_stages(p for _, p in parsed))


def _mapping(feed: FeedSpec) -> tuple[str, str]:
    """SQL for ``_canonical`` (the record under the feed's column names) and ``_unknown`` (fields
    the sender was not expected to send), per source for a feed with sources."""
    if not feed.is_mapped:
        declared = ", ".join(literal(c.name) for c in feed.columns)
        return "_record", f"list_filter(json_keys(_record), lambda k: k NOT IN ({declared}))"
    canonical, unknown = [], []
    for source in feed.sources:
        fields, constants = dict(source.fields), dict(source.constants)
        pairs = []
        for column in feed.columns:
            if column.name in constants:
                pairs.append(f"{literal(column.name)}, {literal(constants[column.name])}")
            elif column.name in fields:
                pairs.append(f"{literal(column.name)}, trim({_field('_record', fields[column.name])})")
        when = f"WHEN {literal(source.name)}"
        canonical.append(f"{when} THEN json_object({', '.join(pairs)})")
        sent = ", ".join(literal(f) for f in source.source_fields)
        unknown.append(f"{when} THEN list_filter(json_keys(_record), lambda k: k NOT IN ({sent}))")
    return (
        f"CASE {SENDER} {' '.join(canonical)} END",
        f"CASE {SENDER} {' '.join(unknown)} ELSE [] END",
    )


def _reasons(feed: FeedSpec, parsing: dict[str, Parsed]) -> str:
    """SQL list of rejection reasons for one parsed record (empty list = clean), given the typed
    value of each column in ``val_<column>``."""
    checks = ["list_transform(_unknown, lambda k: 'unknown_column: ' || k)"]
    for col in feed.columns:
        raw, value = f"raw_{col.name}", f"val_{col.name}"
        name = literal(col.name)
        items = []
        if col.name in feed.key:
            items.append(f"CASE WHEN {raw} IS NULL THEN 'missing_key: ' || {name} END")
        elif col.required:
            items.append(f"CASE WHEN {raw} IS NULL THEN 'missing_required: ' || {name} END")
        items.append(bad_type(col.name, col.type, raw, value, parsing[col.name].problem))
        if col.allowed:
            allowed = ", ".join(literal(v) for v in col.allowed)
            items.append(
                f"CASE WHEN {value} IS NOT NULL AND {value}::VARCHAR NOT IN ({allowed}) THEN "
                f"'not_allowed: ' || {name} || '=' || left({raw}, 40) END"
            )
        checks.append("[" + ", ".join(items) + "]")
    merged = "list_filter(flatten([" + ", ".join(checks) + "]), lambda x: x IS NOT NULL)"
    return (
        "CASE WHEN _parse_error IS NOT NULL THEN ['unparseable: ' || _parse_error] "
        "WHEN NOT _is_object THEN ['unparseable: not a JSON object'] "
        f"WHEN _canonical IS NULL THEN ['unknown_source: ' || {SENDER} || "
        "' is not among the feed''s sources'] "
        f"ELSE {merged} END"
    )


def build_bronze(
    con: duckdb.DuckDBPyConnection, feed: FeedSpec, days: DayRange | None = None
) -> Reconciliation:
    """Rebuild ``bronze.<feed>`` and ``quarantine.<feed>`` from ``landing.<feed>`` atomically.

    For a feed partitioned by day, ``days`` is the run's partitions: those days are replaced in
    both tables, together with any other day holding a row whose key a row of theirs shares (see
    ``DayScope``). Every landed row is classified, so a day comes out the same whether it runs
    alone, in a range or in a full rebuild.
    """
    ensure_landing_tables(con, feed)
    name = identifier(feed.name)
    partitioned = feed.partitioned_by is not None
    raws = ", ".join(f"{_raw(c)} AS raw_{c.name}" for c in feed.columns)
    canonical, unknown = _mapping(feed)
    _check_zones(con, feed)
    parsing = {c.name: _parsing(feed, c) for c in feed.columns}
    staged = Parsed("", "", _merged_stages(parsing.values())).select("extracted")
    helpers = [name for p in parsing.values() for stage in p.stages for name, _ in stage]
    values = ", ".join(f"{parsing[c.name].value} AS val_{c.name}" for c in feed.columns)
    sender = f"{SENDER} AS _sender, " if feed.is_mapped else ""
    without_helpers = f" EXCLUDE ({', '.join(helpers)})" if helpers else ""
    typed = ", ".join(f"val_{c.name} AS {identifier(c.name)}" for c in feed.columns)
    key = ", ".join(f"raw_{k}" for k in feed.key)
    # What the later queries read of each classified row: its arrival (which file, which line),
    # the typed values, the raw key and its reasons. Not the file's path and hash (``temp.files``
    # has them once per file) nor the record: quarantine reads the records of the rows it takes
    # back from landing, so the wide text is not copied for every row.
    kept_columns = ", ".join(
        ["_arrival", *(PARTITION_COLUMN,) * partitioned]
        + [f"val_{c.name}" for c in feed.columns]
        + [f"raw_{k}" for k in feed.key]
    )
    partition = f", {FILE_DAY_SQL} AS {PARTITION_COLUMN}" if partitioned else ""
    day = f", {PARTITION_COLUMN}" if partitioned else ""
    # The metadata columns of an output row, from its file (``f``) and its arrival.
    meta = f"f._source_file, f._content_hash, {ROW_NUMBER} AS _row_number, f._ingested_at{day}"
    of_file = f"JOIN temp.files f ON f._file_rank = {FILE_RANK}"
    scope = None
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS bronze; CREATE SCHEMA IF NOT EXISTS quarantine")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE files AS SELECT {FILE_ARRIVAL}, row_number() OVER "
            f"(ORDER BY {FILE_ARRIVAL}) AS _file_rank "
            f"FROM (SELECT DISTINCT {FILE_ARRIVAL} FROM landing.{name})"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE classified AS "
            f"WITH parsed AS (SELECT _source_file, _record, _parse_error{partition}, "
            f"  coalesce(_parse_error IS NULL AND json_type(CASE WHEN json_valid(_record) "
            f"  THEN _record END) = 'OBJECT', false) AS _is_object, "
            f"  CASE WHEN _row_number < {LINES_PER_FILE} THEN {ARRIVAL} ELSE error('file ' || "
            f"  _source_file || ' has more than {LINES_PER_FILE:,} lines: split it') END AS _arrival "
            f"  FROM landing.{name} JOIN temp.files USING ({FILE_ARRIVAL})), "
            f"mapped AS (SELECT *, {sender}{canonical} AS _canonical, {unknown} AS _unknown "
            f"  FROM parsed WHERE _is_object), "
            f"extracted AS (SELECT *, {raws} FROM mapped "
            f"  UNION ALL BY NAME SELECT * FROM parsed WHERE NOT _is_object), "
            f"typed AS (SELECT *, {values} FROM {staged}), "
            f"checked AS (SELECT *{without_helpers}, {_reasons(feed, parsing)} AS _reasons FROM typed) "
            f"SELECT {kept_columns}, _reasons FROM checked"
        )
        # Of a key landed more than once, the rows before its latest arrival are superseded. The
        # keys are counted on narrow rows (a hash aggregate of the key and the arrival); only the
        # repeated ones are kept, so finding their rows, keeping the rest and quarantining them
        # probe small tables. Joining every row with its key's latest arrival, or ranking the wide
        # rows, outgrew memory at 40 million rows. A landed row's arrival is unique.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE repeated AS SELECT {key}, max(_arrival) AS _latest "
            f"FROM temp.classified WHERE len(_reasons) = 0 GROUP BY {key} HAVING count(*) > 1"
        )
        same_key = " AND ".join(f"c.raw_{k} IS NOT DISTINCT FROM r.raw_{k}" for k in feed.key)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE superseded AS SELECT c._arrival FROM temp.classified c "
            f"JOIN temp.repeated r ON {same_key} WHERE len(c._reasons) = 0 AND c._arrival < r._latest"
        )
        if partitioned and days is not None:
            scope = _day_scope(con, days, key)
        only = f"AND {scope.sql(PARTITION_COLUMN)}" if scope is not None else ""
        superseded = "JOIN temp.superseded USING (_arrival)"
        kept = (
            f"SELECT {typed}, {meta} FROM temp.classified ANTI {superseded} {of_file} "
            f"WHERE len(_reasons) = 0 {only} ORDER BY _arrival"
        )
        # The records of the rejected rows, read back from landing by their file and line.
        rejected = (
            f"WITH rejected AS (SELECT _arrival{day}, array_to_string(_reasons, '; ') AS reason "
            f"  FROM temp.classified WHERE len(_reasons) > 0 {only} UNION ALL "
            f"  SELECT _arrival{day}, '{DUPLICATE_REASON}: a later row with the same key was kept' "
            f"  FROM temp.classified SEMI {superseded} WHERE true {only}) "
            f"SELECT {meta}, l._record, reason FROM rejected {of_file} "
            f"JOIN landing.{name} l ON l._source_file = f._source_file "
            f"AND l._content_hash = f._content_hash AND l._ingested_at = f._ingested_at "
            f"AND l._row_number = {ROW_NUMBER} "
            "ORDER BY _source_file, _row_number"
        )
        for schema, query in (("bronze", kept), ("quarantine", rejected)):
            if scope is not None:
                _replace_days(con, schema, query, scope, feed)
            else:
                con.execute(f"CREATE OR REPLACE TABLE {schema}.{name} AS {query}")
        con.execute(
            "DROP TABLE temp.files; DROP TABLE temp.classified; DROP TABLE temp.repeated; "
            "DROP TABLE temp.superseded"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return reconcile(con, feed, scope)


def _merged_stages(parsing: Iterable[Parsed]) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The helper columns of every column's parsing, stage by stage."""
    all_stages = [p.stages for p in parsing]
    depth = max((len(s) for s in all_stages), default=0)
    return tuple(tuple(c for s in all_stages if k < len(s) for c in s[k]) for k in range(depth))


def _check_zones(con: duckdb.DuckDBPyConnection, feed: FeedSpec) -> None:
    """Every zone the feed declares is known to the database (it would fail mid-query)."""
    declared = {feed.timezone} | {s.timezone for s in feed.sources if s.timezone}
    known = {str(r[0]) for r in con.execute("SELECT name FROM pg_timezone_names()").fetchall()}
    missing = sorted(declared - known)
    if missing:
        raise LandingError(
            f"feed {feed.name!r} declares time zone {missing[0]!r}, which this DuckDB's ICU time zone "
            "data does not know: declare another name for the same zone or upgrade DuckDB"
        )


def _day_scope(con: duckdb.DuckDBPyConnection, days: DayRange, key: str) -> DayScope:
    """The run's days, and the other days whose rows share a key with a valid row of the run's."""
    rows = con.execute(
        f"SELECT DISTINCT c.{PARTITION_COLUMN} FROM temp.classified c SEMI JOIN ("
        f"  SELECT {key} FROM temp.classified WHERE len(_reasons) = 0 AND {days.sql(PARTITION_COLUMN)}"
        f") k USING ({key}) WHERE len(c._reasons) = 0 AND NOT ({days.sql(f'c.{PARTITION_COLUMN}')}) "
        f"ORDER BY 1"
    ).fetchall()
    return DayScope(days, tuple(r[0] for r in rows if r[0] is not None))


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(str(r[0]), str(r[1])) for r in con.execute(f"DESCRIBE {relation}").fetchall()]


def _replace_days(
    con: duckdb.DuckDBPyConnection, schema: str, query: str, scope: DayScope, feed: FeedSpec
) -> None:
    """Replace the rows of the scope's days in the table with ``query``'s (inside the caller's
    transaction).

    When the feed's columns changed since the table was built, the table is rebuilt if this run
    covers every day it holds; otherwise the run stops, saying how to rebuild it.
    """
    table = f"{schema}.{identifier(feed.name)}"
    exists = fetch_one(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ? AND NOT temporary",
        [schema, feed.name],
    )[0]
    if exists and _columns(con, table) != _columns(con, query):
        (outside,) = fetch_one(con, f"SELECT count(*) FROM {table} WHERE NOT {scope.sql(PARTITION_COLUMN)}")
        if outside:
            raise LandingError(
                f"{schema}.{feed.name} was built with other columns than feed {feed.name!r} declares "
                f"now, and holds {outside:,} row(s) outside this run's days ({scope.run}): rebuild every "
                "partition of the feed in one run (`mesh backfill <domain>`) so that no day mixes the "
                "two layouts"
            )
        con.execute(f"DROP TABLE {table}")
        exists = False
    if not exists:
        con.execute(f"CREATE TABLE {table} AS {query}")
        return
    con.execute(f"DELETE FROM {table} WHERE {scope.sql(PARTITION_COLUMN)}")
    con.execute(f"INSERT INTO {table} {query}")


def reconcile(
    con: duckdb.DuckDBPyConnection, feed: FeedSpec, scope: DayScope | None = None
) -> Reconciliation:
    """Count each place independently, so the check catches any row lost between layers.

    With a partitioned feed's run ``scope``, counts only its days: the landed rows of their files
    against the rows of bronze and quarantine tagged with those days.
    """
    name = identifier(feed.name)
    landed = f"WHERE {scope.sql(FILE_DAY_SQL)}" if scope is not None else ""
    tagged = scope.sql(PARTITION_COLUMN) if scope is not None else "true"
    row = fetch_one(
        con,
        f"SELECT (SELECT count(*) FROM landing.{name} {landed}), "
        f"(SELECT count(*) FROM bronze.{name} WHERE {tagged}), "
        f"(SELECT count(*) FILTER (WHERE reason LIKE '{DUPLICATE_REASON}%') FROM quarantine.{name} "
        f"WHERE {tagged}), "
        f"(SELECT count(*) FILTER (WHERE reason NOT LIKE '{DUPLICATE_REASON}%') FROM quarantine.{name} "
        f"WHERE {tagged})",
    )
    counts = [int(v) for v in row]
    return Reconciliation(counts[0], counts[1], counts[2], counts[3], scope=scope)


def quarantine_reasons(
    con: duckdb.DuckDBPyConnection, feed: FeedSpec, limit: int = 10, scope: DayScope | DayRange | None = None
) -> dict[str, int]:
    """Most frequent kinds of rejection (the part of each reason before ':'), of ``scope`` if given."""
    where = f"WHERE {scope.sql(PARTITION_COLUMN)}" if scope is not None else ""
    rows = con.execute(
        f"SELECT split_part(unnest(string_split(reason, '; ')), ':', 1) AS kind, count(*) "
        f"FROM quarantine.{identifier(feed.name)} {where} GROUP BY kind ORDER BY 2 DESC LIMIT {int(limit)}"
    ).fetchall()
    return {str(kind): int(n) for kind, n in rows}
