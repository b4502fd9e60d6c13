"""A feed partitioned by day: landing and bronze replace whole days, so a range run, day-by-day runs
and re-runs all give the same tables, and every landed row is accounted for within its day."""

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from mesh_orchestrator.core.errors import LandingError
from mesh_orchestrator.core.partitions import DayRange, PartitionSpec, file_day
from mesh_orchestrator.core.spec import ColumnSpec, FeedSpec
from mesh_orchestrator.ingestion.bronze import build_bronze, quarantine_reasons, reconcile
from mesh_orchestrator.ingestion.landing import ingest_feed

FEED = FeedSpec(
    name="events",
    format="jsonl",
    key=("event_id",),
    columns=(
        ColumnSpec("event_id", "VARCHAR", required=True),
        ColumnSpec("event_time", "TIMESTAMP", required=True),
        ColumnSpec("quantity", "INTEGER", required=True),
    ),
    partitioned_by=PartitionSpec("day", date(2026, 1, 1)),
)
JAN = DayRange(date(2026, 1, 1), date(2026, 2, 1))
ALL = DayRange(date(2026, 1, 1), date(2026, 3, 1))


def _day(d: date) -> DayRange:
    return DayRange(d, d + timedelta(days=1))


def _event(i: int, day: date, quantity: object = 1) -> str:
    return f'{{"event_id": "E{i}", "event_time": "{day} 10:00:00", "quantity": {quantity}}}\n'


def _drop_files(folder: Path) -> None:
    """Five days in January and February; one duplicate, one bad row and one broken line."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, day in enumerate([date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 31), date(2026, 2, 1)]):
        body = "".join(_event(10 * n + i, day) for i in range(3))
        if n == 1:
            body += _event(10, day, 2) + _event(99, day, '"many"') + "{not json\n"
        (folder / f"events_{day}.jsonl").write_text(body)


def _built(folder: Path) -> duckdb.DuckDBPyConnection:
    """The sample files landed and built as one range run."""
    _drop_files(folder)
    con = duckdb.connect()
    ingest_feed(con, FEED, folder, days=ALL)
    build_bronze(con, FEED, ALL)
    return con


def _table(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    rows = con.execute(f"SELECT * EXCLUDE (_ingested_at) FROM {table} ORDER BY ALL").fetchall()
    return [tuple(r) for r in rows]


def _state(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple], ...]:
    return tuple(_table(con, t) for t in ("landing.events", "bronze.events", "quarantine.events"))


def test_file_day_is_the_last_date_in_the_name() -> None:
    assert file_day("web_order_events_2026-03-05.jsonl") == date(2026, 3, 5)
    assert file_day("shop/2026-01-01_export_2026-01-02.csv") == date(2026, 1, 2)
    assert file_day("timecards_2026-02.csv") is None
    assert file_day("events_2026-02-30.jsonl") is None


def test_range_run_equals_day_by_day_runs(tmp_path: Path) -> None:
    _drop_files(tmp_path)
    at_once = duckdb.connect()
    ingest_feed(at_once, FEED, tmp_path, days=ALL)
    rec = build_bronze(at_once, FEED, ALL)
    assert rec.holds and (rec.landed, rec.bronze, rec.duplicates, rec.quarantined) == (15, 12, 1, 2)

    daily = duckdb.connect()
    day = ALL.start
    while day < ALL.end:
        ingest_feed(daily, FEED, tmp_path, days=_day(day))
        assert build_bronze(daily, FEED, _day(day)).holds
        day += timedelta(days=1)
    assert _state(daily)[1:] == _state(at_once)[1:]
    assert [r[1:] for r in _state(daily)[0]] == [r[1:] for r in _state(at_once)[0]]


def test_rerunning_a_partition_changes_nothing(tmp_path: Path) -> None:
    con = _built(tmp_path)
    before = _state(con)
    for _ in range(2):
        assert ingest_feed(con, FEED, tmp_path, days=JAN).ingested == []
        assert build_bronze(con, FEED, _day(date(2026, 1, 6))).holds
        build_bronze(con, FEED, JAN)
    assert _state(con) == before


def test_a_run_touches_only_its_days(tmp_path: Path) -> None:
    _drop_files(tmp_path)
    con = duckdb.connect()
    ingest_feed(con, FEED, tmp_path, days=JAN)
    rec = build_bronze(con, FEED, JAN)
    assert (rec.landed, rec.bronze) == (12, 9)
    assert con.execute("SELECT max(_partition) FROM bronze.events").fetchall() == [(date(2026, 1, 31),)]
    ingest_feed(con, FEED, tmp_path, days=_day(date(2026, 2, 1)))
    feb = build_bronze(con, FEED, _day(date(2026, 2, 1)))
    assert (feb.landed, feb.bronze, feb.quarantined) == (3, 3, 0)
    assert con.execute("SELECT count(*) FROM bronze.events").fetchall() == [(12,)]
    assert quarantine_reasons(con, FEED, scope=_day(date(2026, 2, 1))) == {}
    assert quarantine_reasons(con, FEED, scope=JAN) == {"unparseable": 1, "bad_type": 1, "duplicate_key": 1}
    assert reconcile(con, FEED).holds  # and the whole table adds up too


def test_a_corrected_file_replaces_its_day(tmp_path: Path) -> None:
    con = _built(tmp_path)
    (tmp_path / "events_2026-01-05.jsonl").write_text(_event(0, date(2026, 1, 5), 7))  # resent, one row
    ingest_feed(con, FEED, tmp_path, days=_day(date(2026, 1, 5)))
    rec = build_bronze(con, FEED, _day(date(2026, 1, 5)))
    assert rec.holds and (rec.landed, rec.bronze, rec.duplicates) == (4, 3, 1)
    rows = con.execute("SELECT event_id, quantity FROM bronze.events WHERE event_id = 'E0'").fetchall()
    assert rows == [("E0", 7)]  # the later arrival wins; the earlier one is quarantined as duplicate


def test_files_without_a_day_are_reported_not_read(tmp_path: Path) -> None:
    _drop_files(tmp_path)
    (tmp_path / "events_latest.jsonl").write_text(_event(500, date(2026, 1, 5)))
    report = ingest_feed(duckdb.connect(), FEED, tmp_path, days=ALL)
    assert report.undated == ["events_latest.jsonl"] and len(report.ingested) == 4


def test_a_changed_layout_needs_every_day_rebuilt(tmp_path: Path) -> None:
    con = _built(tmp_path)
    wider = FeedSpec(
        name=FEED.name,
        format=FEED.format,
        key=FEED.key,
        columns=(*FEED.columns, ColumnSpec("channel", "VARCHAR")),
        partitioned_by=FEED.partitioned_by,
    )
    with pytest.raises(LandingError, match=r"bronze\.events was built with other columns.*mesh backfill"):
        build_bronze(con, wider, JAN)
    assert con.execute("SELECT count(*) FROM bronze.events").fetchall() == [(12,)]  # rolled back
    assert build_bronze(con, wider, ALL).holds  # a run over every day rebuilds the table
    assert "channel" in [c[0] for c in con.execute("DESCRIBE bronze.events").fetchall()]


def test_a_key_resent_on_a_later_day_replaces_the_earlier_row(tmp_path: Path) -> None:
    """De-duplication spans days: running only the later day removes the earlier day's copy."""
    con = _built(tmp_path)
    before = _state(con)
    (tmp_path / "events_2026-02-02.jsonl").write_text(_event(1, date(2026, 1, 5), 9))  # E1 again
    ingest_feed(con, FEED, tmp_path, days=_day(date(2026, 2, 2)))
    rec = build_bronze(con, FEED, _day(date(2026, 2, 2)))
    assert rec.scope is not None and rec.scope.shared == (date(2026, 1, 5),)
    assert rec.holds and (rec.landed, rec.bronze, rec.duplicates) == (4, 3, 1)  # Jan 5 and Feb 2
    assert con.execute("SELECT quantity, _partition FROM bronze.events WHERE event_id = 'E1'").fetchall() == [
        (9, date(2026, 2, 2))
    ]
    assert reconcile(con, FEED).holds and reconcile(con, FEED).bronze == 12  # none lost, none twice
    everything = duckdb.connect()  # and the same as rebuilding every day from scratch
    ingest_feed(everything, FEED, tmp_path, days=DayRange(date(2026, 1, 1), date(2026, 3, 1)))
    build_bronze(everything, FEED, ALL)
    assert _state(everything)[1:] == _state(con)[1:] != before[1:]
