"""The hostile-file corpus (``tests/corpus/hostile``) through landing and bronze with the real specs:
every file is accounted for (rows landed = bronze + duplicates + quarantined), every rejected row
says why, no wrong value reaches bronze, and a link or a FIFO is never read."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from mesh_orchestrator.cli.run import MeshRunSummary, StepOutcome, format_summary
from mesh_orchestrator.core.errors import NotRegularFileError
from mesh_orchestrator.core.spec import FeedSpec, load_domain_spec
from mesh_orchestrator.ingestion.assets import landing_asset
from mesh_orchestrator.ingestion.bronze import build_bronze
from mesh_orchestrator.ingestion.feed_files import (
    NO_SOURCE,
    NOT_REGULAR,
    UNPARSEABLE_METADATA,
    UNREAD_METADATA,
    WRONG_EXTENSION,
    FeedFile,
    open_regular,
    select_files,
)
from mesh_orchestrator.ingestion.landing import ingest_feed
from mesh_orchestrator.ingestion.triggers import evaluate_feed

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "hostile"
SECRET = "root:x:0:0:root:/root:/bin/bash\n"

Check = Callable[[duckdb.DuckDBPyConnection], None]


def _no_quantity(order_id: str, line: int) -> Check:
    def check(con: duckdb.DuckDBPyConnection) -> None:
        rows = con.execute(
            "SELECT quantity FROM bronze.distributor_orders WHERE order_id = ? AND line_number = ?",
            [order_id, line],
        ).fetchall()
        assert rows == [], f"{order_id}/{line}: a fractional quantity reached bronze as {rows}"

    return check


def _instant_or_nothing(table: str, key: str, value: str, column: str, instant: datetime) -> Check:
    """The row is quarantined, or its time is the instant the sender meant (not its wall clock)."""

    def check(con: duckdb.DuckDBPyConnection) -> None:
        rows = con.execute(f"SELECT {column} FROM bronze.{table} WHERE {key} = ?", [value]).fetchall()
        for (found,) in rows:
            seen = found if found.tzinfo is not None else found.replace(tzinfo=UTC)
            assert seen == instant, f"{value}: {column} {found} is not {instant} (the offset was dropped)"

    return check


def _no_unit_price(invoice: str, line: int) -> Check:
    def check(con: duckdb.DuckDBPyConnection) -> None:
        rows = con.execute(
            "SELECT unit_price FROM bronze.supplier_invoices WHERE invoice_number = ? AND line_number = ?",
            [invoice, line],
        ).fetchall()
        assert rows == [], (
            f"{invoice}/{line}: 1,234.56 in the decimal-comma convention reached bronze as {rows}"
        )
        (ok,) = con.execute(
            "SELECT unit_price FROM bronze.supplier_invoices WHERE invoice_number = ? AND line_number = 2",
            [invoice],
        ).fetchall()
        assert ok == (Decimal("9.99"),)

    return check


@dataclass(frozen=True)
class Case:
    """One corpus file: what bronze keeps and what every rejected row's reason must name."""

    path: str  # below CORPUS: <domain>/<feed>/[<source>/]<file>
    bronze: int
    rejected: int  # quarantined or dropped as duplicates
    reasons: tuple[str, ...]  # each rejected row's reason contains one of these
    whole_file: bool = False  # landed as one unparseable record naming the reason
    check: Check | None = None
    #: Passes only once bronze's parsing rules (``value_parsing``, another change) are in.
    parsing_rule: bool = False
    #: The rejected row may instead be kept, if ``check`` finds its value right (a timestamp with
    #: an offset is the instant it names in a TIMESTAMPTZ column).
    may_be_kept: bool = False


CASES = [
    Case("sales/distributor_orders/repeated_header.csv", 0, 1, ("REPEATED COLUMN NAME",), whole_file=True),
    Case("sales/distributor_orders/empty_header_cell.csv", 0, 1, ("EMPTY COLUMN NAME",), whole_file=True),
    Case("sales/distributor_orders/undecodable_header.csv", 0, 1, ("INVALID UNICODE",), whole_file=True),
    Case("sales/distributor_orders/undecodable_bytes.csv", 1, 1, ("unparseable: INVALID",)),
    Case("sales/distributor_orders/mixed_line_endings.csv", 0, 1, ("NOT READABLE AS CSV",), whole_file=True),
    Case("sales/distributor_orders/duplicates.csv", 2, 1, ("duplicate_key",)),
    Case("sales/distributor_orders/missing_keys.csv", 1, 2, ("missing_key",)),
    Case("sales/distributor_orders/unknown_columns.csv", 0, 1, ("unknown_column: coupon_code",)),
    Case(
        "sales/distributor_orders/fractional_integer.csv",
        1,
        1,
        ("bad_type: quantity",),
        check=_no_quantity("HX-9", 1),
        parsing_rule=True,
    ),
    Case(
        "sales/customer_payments/offset_timestamps.csv",
        0,
        1,
        ("bad_type: paid_at",),
        check=_instant_or_nothing(
            "customer_payments", "payment_id", "PX-1", "paid_at", datetime(2026, 3, 6, 4, 30, tzinfo=UTC)
        ),
        parsing_rule=True,
        may_be_kept=True,
    ),
    Case("sales/web_order_events/malformed_json_line_2026-03-05.jsonl", 1, 2, ("unparseable",)),
    Case(
        "sales/web_order_events/offset_timestamps_2026-03-06.jsonl",
        0,
        1,
        ("bad_type: event_time",),
        check=_instant_or_nothing(
            "web_order_events", "event_id", "EX-4", "event_time", datetime(2026, 3, 6, 8, tzinfo=UTC)
        ),
        parsing_rule=True,
        may_be_kept=True,
    ),
    Case(
        "procurement/supplier_invoices/atlas/truncated_document.json",
        0,
        1,
        ("INVALID JSON DOCUMENT",),
        whole_file=True,
    ),
    Case(
        "procurement/supplier_invoices/brightline/billion_laughs.xml",
        0,
        1,
        ("XML REFUSED: DTD or entity",),
        whole_file=True,
    ),
    Case("procurement/supplier_invoices/fjord/wrong_line_length.txt", 1, 1, ("WRONG LINE LENGTH",)),
    Case(
        "procurement/supplier_invoices/nordwerk/other_decimal_convention.csv",
        1,
        1,
        ("bad_type: unit_price",),
        check=_no_unit_price("NW-900001", 1),
        parsing_rule=True,
    ),
]


def _feed(path: str) -> tuple[FeedSpec, str]:
    """The feed a corpus file belongs to, and its label in that feed's folder."""
    domain, feed, label = path.split("/", 2)
    return load_domain_spec(domain).feed(feed), label


def test_every_corpus_file_has_a_case() -> None:
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file() and p.name != "README.md"}
    assert files == {case.path for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[Path(c.path).stem for c in CASES])
def test_a_hostile_file_is_accounted_for(case: Case, tmp_path: Path) -> None:
    feed, label = _feed(case.path)
    folder = tmp_path / "landing"
    (folder / label).parent.mkdir(parents=True)
    shutil.copyfile(CORPUS / case.path, folder / label)
    con = duckdb.connect(str(tmp_path / "domain.duckdb"))
    report = ingest_feed(con, feed, folder)
    assert [f.path for f in report.ingested] == [label] and not report.unread

    rec = build_bronze(con, feed)
    assert rec.holds and rec.landed == report.rows > 0
    counts = (rec.bronze, rec.duplicates + rec.quarantined)
    kept = (case.bronze + case.rejected, 0)
    assert counts == (case.bronze, case.rejected) or (case.may_be_kept and counts == kept), counts
    reasons = [r for (r,) in con.execute(f"SELECT reason FROM quarantine.{feed.name}").fetchall()]
    assert len(reasons) == counts[1]
    for reason in reasons:
        assert any(kind in reason for kind in case.reasons), reason
    if case.whole_file:
        (failed,) = report.unparseable
        assert any(kind in str(failed.problem) for kind in case.reasons)
        (source_file,) = con.execute(f"SELECT _source_file FROM quarantine.{feed.name}").fetchone() or ()
        assert source_file == label  # the quarantined record names the file
    if case.check is not None:
        case.check(con)


def test_one_bad_file_does_not_stop_the_feed(tmp_path: Path) -> None:
    """Every whole-file failure of distributor_orders next to a good file: the good file lands."""
    feed, _ = _feed("sales/distributor_orders/x.csv")
    folder = tmp_path / "landing"
    folder.mkdir()
    broken = [c for c in CASES if c.whole_file and c.path.startswith("sales/distributor_orders/")]
    for case in broken:
        shutil.copyfile(CORPUS / case.path, folder / Path(case.path).name)
    shutil.copyfile(CORPUS / "sales/distributor_orders/duplicates.csv", folder / "good.csv")
    con = duckdb.connect()
    report = ingest_feed(con, feed, folder)
    assert sorted(f.path for f in report.unparseable) == sorted(Path(c.path).name for c in broken)
    rec = build_bronze(con, feed)
    assert rec.holds and (rec.landed, rec.bronze, rec.duplicates, rec.quarantined) == (7, 2, 1, 4)


# --- what landing never opens ----------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the landing folder (think /etc/passwd) and a folder holding one."""
    secret = tmp_path / "outside" / "passwd.csv"
    secret.parent.mkdir()
    secret.write_text("order_id,customer_id\n" + SECRET)
    return secret


def _assert_not_landed(con: duckdb.DuckDBPyConnection, table: str) -> None:
    rows = con.execute(f"SELECT count(*) FROM landing.{table} WHERE _record LIKE '%root:x%'").fetchall()
    assert rows == [(0,)]


def test_links_and_fifos_are_named_never_read(tmp_path: Path, outside: Path) -> None:
    feed, _ = _feed("sales/distributor_orders/x.csv")
    folder = tmp_path / "landing"
    folder.mkdir()
    (folder / "passwd.csv").symlink_to(outside)
    (folder / "inside_link.csv").symlink_to(folder / "good.csv")  # even a link within the folder
    os.mkfifo(folder / "pipe.csv")  # opening it for reading would block forever
    shutil.copyfile(CORPUS / "sales/distributor_orders/duplicates.csv", folder / "good.csv")
    con = duckdb.connect()
    report = ingest_feed(con, feed, folder)
    assert [f.path for f in report.ingested] == ["good.csv"]
    assert {(u.label, u.why) for u in report.unread} == {
        ("inside_link.csv", NOT_REGULAR),
        ("passwd.csv", NOT_REGULAR),
        ("pipe.csv", NOT_REGULAR),
    }
    assert "FIFO" in next(u.detail for u in report.unread if u.label == "pipe.csv")
    _assert_not_landed(con, "distributor_orders")
    assert build_bronze(con, feed).holds


def test_a_sender_folder_that_is_a_link_is_not_followed(tmp_path: Path, outside: Path) -> None:
    feed, _ = _feed("procurement/supplier_invoices/nordwerk/x.csv")
    folder = tmp_path / "landing"
    folder.mkdir()
    (folder / "nordwerk").symlink_to(outside.parent, target_is_directory=True)
    con = duckdb.connect()
    report = ingest_feed(con, feed, folder)
    assert report.ingested == []
    assert [(u.label, u.why) for u in report.unread] == [("nordwerk/", NOT_REGULAR)]
    _assert_not_landed(con, "supplier_invoices")


def test_a_file_swapped_for_a_link_after_listing_is_refused(tmp_path: Path, outside: Path) -> None:
    """TOCTOU: listed as a regular file, replaced by a link before it is opened."""
    feed, _ = _feed("sales/distributor_orders/x.csv")
    folder = tmp_path / "landing"
    folder.mkdir()
    path = folder / "orders.csv"
    shutil.copyfile(CORPUS / "sales/distributor_orders/duplicates.csv", path)
    (listed,) = select_files(feed, folder).read
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(NotRegularFileError), open_regular(listed):
        pass
    os.unlink(path)
    os.mkfifo(path)
    with pytest.raises(NotRegularFileError), open_regular(listed):  # does not block either
        pass

    stale = select_files(feed, folder)
    stale.read = [listed]
    con = duckdb.connect()
    import mesh_orchestrator.ingestion.landing as landing

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(landing, "select_files", lambda _feed, _folder: stale)
        report = ingest_feed(con, feed, folder)
    assert report.ingested == [] and [u.label for u in report.unread] == ["orders.csv", "orders.csv"]
    _assert_not_landed(con, "distributor_orders")


def test_a_parent_folder_swapped_for_a_link_is_refused(tmp_path: Path, outside: Path) -> None:
    feed, _ = _feed("procurement/supplier_invoices/nordwerk/x.csv")
    folder = tmp_path / "landing"
    (folder / "nordwerk").mkdir(parents=True)
    (folder / "nordwerk" / "passwd.csv").write_text("x")
    (listed,) = select_files(feed, folder).read
    shutil.rmtree(folder / "nordwerk")
    (folder / "nordwerk").symlink_to(outside.parent, target_is_directory=True)
    with pytest.raises(NotRegularFileError), open_regular(listed):
        pass


def test_a_file_the_mesh_may_not_read_lands_as_one_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied (simulated: the tests may run as root, who reads anything)."""
    import mesh_orchestrator.ingestion.landing as landing

    feed, _ = _feed("sales/distributor_orders/x.csv")
    folder = tmp_path / "landing"
    folder.mkdir()
    shutil.copyfile(CORPUS / "sales/distributor_orders/duplicates.csv", folder / "locked.csv")
    shutil.copyfile(CORPUS / "sales/distributor_orders/missing_keys.csv", folder / "other.csv")
    real = landing.open_regular

    def denied(file: FeedFile):  # type: ignore[no-untyped-def]
        if file.label == "locked.csv":
            raise PermissionError(13, "Permission denied")
        return real(file)

    monkeypatch.setattr(landing, "open_regular", denied)
    con = duckdb.connect()
    report = ingest_feed(con, feed, folder)
    again = ingest_feed(con, feed, folder)  # still unreadable: not landed twice
    assert [f.path for f in report.unparseable] == ["locked.csv"]
    assert "UNREADABLE FILE: Permission denied" in str(report.unparseable[0].problem)
    assert again.ingested == [] and again.skipped == ["locked.csv", "other.csv"]
    rec = build_bronze(con, feed)
    assert rec.holds and (rec.landed, rec.quarantined) == (4, 3)
    monkeypatch.setattr(landing, "open_regular", real)
    fixed = ingest_feed(con, feed, folder)  # readable now: its rows land
    assert [f.path for f in fixed.ingested] == ["locked.csv"] and fixed.rows == 3


# --- files nobody reads are named ------------------------------------------------------------------


def _supplier_folder(folder: Path) -> None:
    for name, text in {
        "nordwerk/inv_1.csv": "Rechnungsnummer\n",
        "nordwerk/inv_1.xlsx": "PK",  # not the sender's format
        "stray.csv": "x\n",  # outside every sender's folder
        "acme/inv_1.csv": "x\n",  # a sender nobody declared
        "nordwerk/inv_2.csv.part": "x",  # still being written: waits
        "nordwerk/.DS_Store": "x",  # hidden: not data
        "_SUCCESS": "",
    }.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        stamp = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
        os.utime(path, (stamp, stamp))


def test_one_selection_names_what_is_not_read(tmp_path: Path) -> None:
    feed, _ = _feed("procurement/supplier_invoices/nordwerk/x.csv")
    _supplier_folder(tmp_path)
    found = select_files(feed, tmp_path)
    assert [f.label for f in found.read] == ["nordwerk/inv_1.csv"]
    assert {(u.label, u.why) for u in found.unread} == {
        ("nordwerk/inv_1.xlsx", WRONG_EXTENSION),
        ("stray.csv", NO_SOURCE),
        ("acme/inv_1.csv", NO_SOURCE),
    }
    assert found.waiting == ["nordwerk/inv_2.csv.part"]
    assert isinstance(found.read[0], FeedFile)


def test_the_sensor_tick_names_what_is_not_read(data_dir: Path, outside: Path) -> None:
    spec = load_domain_spec("procurement")
    folder = data_dir / "landing" / "procurement" / "supplier_invoices"
    _supplier_folder(folder)
    (folder / "nordwerk" / "passwd.csv").symlink_to(outside)
    now = int(datetime(2026, 1, 2, tzinfo=UTC).timestamp() * 1e9)
    first = evaluate_feed(spec, spec.feed("supplier_invoices"), None, now_ns=now)
    (request,) = first.run_requests or []
    assert request.tags["mesh/new_files"] == "nordwerk/inv_1.csv"
    for label in ("nordwerk/inv_1.xlsx", "stray.csv", "acme/inv_1.csv", "nordwerk/passwd.csv"):
        assert label in request.tags["mesh/files_not_read"]
    again = evaluate_feed(spec, spec.feed("supplier_invoices"), first.cursor, now_ns=now)
    reason = again.skip_reason.skip_message if again.skip_reason else ""
    assert "4 file(s) not read: " in reason
    assert "nordwerk/passwd.csv (not a regular file: a symbolic link (never followed))" in reason
    assert "stray.csv (no source declares the folder: " in reason
    assert "nordwerk/inv_1.xlsx (wrong extension: nordwerk sends csv: .csv)" in reason
    assert "1 partial file(s) wait for their final name: nordwerk/inv_2.csv.part" in reason
    assert ".DS_Store" not in reason and "_SUCCESS" not in reason


def test_the_landing_run_reports_unread_and_unparseable_files(data_dir: Path) -> None:
    spec = load_domain_spec("sales")
    feed = spec.feed("distributor_orders")
    folder = data_dir / "landing" / "sales" / "distributor_orders"
    folder.mkdir(parents=True)
    shutil.copyfile(CORPUS / "sales/distributor_orders/repeated_header.csv", folder / "bad.csv")
    shutil.copyfile(CORPUS / "sales/distributor_orders/duplicates.csv", folder / "good.csv")
    (folder / "notes.txt").write_text("call the distributor")
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([landing_asset(spec, feed)], instance=instance, raise_on_error=False)
    assert result.success  # one bad file no longer fails the whole landing
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["files_ingested"].value == 2
    assert metadata["files_not_read"].value == 1
    assert metadata[UNREAD_METADATA].value == {"notes.txt": "wrong extension: the feed is csv: .csv"}
    assert "REPEATED COLUMN NAME 'quantity'" in metadata[UNPARSEABLE_METADATA].value["bad.csv"]
    log_text = "\n".join(e.user_message for e in instance.all_logs(result.run_id))
    assert "bad.csv could not be read as its format" in log_text
    assert "notes.txt (wrong extension" in log_text


def test_the_mesh_run_summary_lists_files_not_read() -> None:
    step = StepOutcome("sales", "sales__all_assets", "r1", True, 1.0)
    step.files_not_read = {"sales/distributor_orders/notes.txt": "wrong extension: the feed is csv: .csv"}
    step.files_unparseable = {"sales/distributor_orders/bad.csv": "BAD CSV HEADER: REPEATED COLUMN NAME"}
    text = format_summary(MeshRunSummary(steps=[step]))
    assert "files not read" in text
    assert "    sales/distributor_orders/notes.txt: wrong extension: the feed is csv: .csv" in text
    assert "    sales/distributor_orders/bad.csv: BAD CSV HEADER: REPEATED COLUMN NAME" in text


def test_files_read_through_the_same_descriptor_number_are_not_confused(tmp_path: Path) -> None:
    """DuckDB reads each CSV through ``/proc/self/fd/<n>``: the same path for consecutive files."""
    feed, _ = _feed("sales/distributor_orders/x.csv")
    header = (CORPUS / "sales/distributor_orders/duplicates.csv").read_text().splitlines()[0]
    for name, order in (("a.csv", "HA-1"), ("b.csv", "HB-1")):
        path = tmp_path / name
        path.write_text(f"{header}\n{order},1,2026-03-05,DIST-01,C-000001,SKU-00001,2,\n")
        os.utime(path, (1e9, 1e9))  # same size, same mtime
    con = duckdb.connect()
    ingest_feed(con, feed, tmp_path)
    rows = con.execute("SELECT _source_file, _record->>'order_id' FROM landing.distributor_orders ORDER BY 1")
    assert rows.fetchall() == [("a.csv", "HA-1"), ("b.csv", "HB-1")]


def test_a_sub_folder_of_a_plain_feed_is_named_unless_underscored(tmp_path: Path) -> None:
    feed, _ = _feed("sales/distributor_orders/x.csv")
    (tmp_path / "archive").mkdir()
    (tmp_path / "_processed").mkdir()
    found = select_files(feed, tmp_path)
    assert [(u.label, u.why) for u in found.unread] == [("archive/", NOT_REGULAR)]
