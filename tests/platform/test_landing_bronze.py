"""Landing idempotency, quarantine reasons and the reconciliation that nothing is lost."""

from pathlib import Path

import duckdb
import pytest

from mesh_orchestrator.bronze import build_bronze, quarantine_reasons, reconcile
from mesh_orchestrator.landing import ingest_feed
from mesh_orchestrator.spec import ColumnSpec, FeedSpec

COLUMNS = (
    ColumnSpec("sku", "VARCHAR", required=True),
    ColumnSpec("item_name", "VARCHAR", required=True),
    ColumnSpec("unit_cost", "DECIMAL(18,2)", required=True),
    ColumnSpec("uom", "VARCHAR", allowed=("each", "box")),
)
CSV = (
    "sku,item_name,unit_cost,uom\n"
    'A1,"Widget, large",10.50,each\n'  # line 2: good, later superseded by line 8
    "A2,Gadget\n"  # line 3: too few fields
    "A3,Thing,3.20,box,extra\n"  # line 4: too many fields
    "A4,Bolt,twelve,each\n"  # line 5: bad type
    ",Nut,1.00,each\n"  # line 6: missing key
    "A5,Screw,1.00,crate\n"  # line 7: value not allowed
    "A1,Widget XL,11.00,each\n"  # line 8: same key as line 2, kept (latest)
    "A6,Washer,,box\n"  # line 9: missing required
    "A7,Nail,0.05,\n"  # line 10: good (optional empty)
)
JSONL = (
    '{"sku": "B1", "item_name": "Pump", "unit_cost": 99.9, "uom": "each"}\n'
    '{"sku": "B2", "item_name": "Pipe"\n'
    "\n"
    '{"sku": "B3", "item_name": "Valve", "unit_cost": "5", "colour": "red"}\n'
    "[1, 2]\n"
)


def _feed(fmt: str) -> FeedSpec:
    return FeedSpec(name=f"items_{fmt}", format=fmt, key=("sku",), columns=COLUMNS)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _drop(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_same_file_is_ingested_once(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    feed = _feed("csv")
    _drop(tmp_path, "a.csv", CSV)
    first = ingest_feed(con, feed, tmp_path)
    _drop(tmp_path, "a_copy.csv", CSV)  # same content under another name
    second = ingest_feed(con, feed, tmp_path)
    assert [f.path for f in first.ingested] == ["a.csv"]
    assert second.ingested == [] and sorted(second.skipped) == ["a.csv", "a_copy.csv"]
    assert con.execute("SELECT count(*) FROM landing.items_csv").fetchall() == [(9,)]


def test_partial_and_hidden_files_wait(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    feed = _feed("csv")
    _drop(tmp_path, "b.csv.part", CSV)
    _drop(tmp_path, ".c.csv", CSV)
    assert ingest_feed(con, feed, tmp_path).ingested == []


def test_landing_keeps_records_and_line_numbers(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    _drop(tmp_path, "a.csv", CSV)
    ingest_feed(con, _feed("csv"), tmp_path)
    rows = dict(con.execute("SELECT _row_number, _record FROM landing.items_csv").fetchall())
    assert sorted(rows) == list(range(2, 11))
    assert rows[3] == "A2,Gadget"
    assert '"sku":"A4"' in rows[5]


def test_csv_quarantine_reasons(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    feed = _feed("csv")
    _drop(tmp_path, "a.csv", CSV)
    ingest_feed(con, feed, tmp_path)
    rec = build_bronze(con, feed)
    reasons = dict(con.execute("SELECT _row_number, reason FROM quarantine.items_csv").fetchall())
    assert reasons[2].startswith("duplicate_key")
    assert reasons[3].startswith("unparseable: MISSING COLUMNS")
    assert reasons[4].startswith("unparseable: TOO MANY COLUMNS")
    assert reasons[5] == "bad_type: unit_cost=twelve is not DECIMAL(18,2)"
    assert reasons[6] == "missing_key: sku"
    assert reasons[7] == "not_allowed: uom=crate"
    assert reasons[9] == "missing_required: unit_cost"
    bronze = dict(con.execute("SELECT sku, item_name FROM bronze.items_csv").fetchall())
    assert bronze == {"A1": "Widget XL", "A7": "Nail"}
    assert (rec.landed, rec.bronze, rec.duplicates, rec.quarantined) == (9, 2, 1, 6)
    assert rec.holds
    assert quarantine_reasons(con, feed)["unparseable"] == 2


def test_jsonl_quarantine_reasons(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    feed = _feed("jsonl")
    _drop(tmp_path, "e.jsonl", JSONL)
    ingest_feed(con, feed, tmp_path)
    rec = build_bronze(con, feed)
    reasons = dict(con.execute("SELECT _row_number, reason FROM quarantine.items_jsonl").fetchall())
    assert reasons == {
        2: "unparseable: not a JSON object",
        4: "unknown_column: colour",
        5: "unparseable: not a JSON object",
    }
    assert con.execute("SELECT sku, unit_cost::VARCHAR FROM bronze.items_jsonl").fetchall() == [
        ("B1", "99.90")
    ]
    assert rec.holds and rec.landed == 4


def test_undecodable_bytes_are_quarantined_not_lost(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    feed = _feed("jsonl")
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "bad.jsonl").write_bytes(b'{"sku": "\xff\xfe", "item_name": "x", "unit_cost": 1}\n')
    ingest_feed(con, feed, tmp_path)
    rec = build_bronze(con, feed)
    assert rec.quarantined == 1 and rec.holds
    (reason,) = con.execute("SELECT reason FROM quarantine.items_jsonl").fetchall()[0]
    assert reason.startswith("unparseable: INVALID UNICODE")


def test_rebuilding_bronze_is_idempotent(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    feed = _feed("csv")
    _drop(tmp_path, "a.csv", CSV)
    ingest_feed(con, feed, tmp_path)
    first = build_bronze(con, feed)
    assert build_bronze(con, feed) == first


def test_reconciliation_detects_a_lost_row(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    feed = _feed("csv")
    _drop(tmp_path, "a.csv", CSV)
    ingest_feed(con, feed, tmp_path)
    build_bronze(con, feed)
    con.execute("DELETE FROM bronze.items_csv WHERE sku = 'A7'")
    rec = reconcile(con, feed)
    assert not rec.holds and rec.difference == 1


def test_crash_mid_file_leaves_nothing_half_done(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mesh_orchestrator.landing as landing

    feed = _feed("jsonl")
    _drop(tmp_path, "e.jsonl", JSONL)
    monkeypatch.setattr(landing, "JSONL_BATCH_LINES", 2)
    real = landing._jsonl_batches

    def crash_after_first_batch(path: Path):  # type: ignore[no-untyped-def]
        batches = real(path)
        yield next(batches)
        raise OSError("disk went away")

    monkeypatch.setattr(landing, "_jsonl_batches", crash_after_first_batch)
    with pytest.raises(OSError):
        ingest_feed(con, feed, tmp_path)
    assert con.execute("SELECT count(*) FROM landing.items_jsonl").fetchall() == [(0,)]
    monkeypatch.setattr(landing, "_jsonl_batches", real)
    assert [f.rows for f in ingest_feed(con, feed, tmp_path).ingested] == [4]
