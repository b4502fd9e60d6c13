"""A feed with several senders: each sender's format and field names land as sent and are mapped
onto the feed's columns in bronze (procurement's supplier invoices, the real spec)."""

from pathlib import Path

import duckdb
import pytest

from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.spec import FeedSpec, load_domain_spec, parse_domain_spec
from mesh_orchestrator.ingestion.bronze import build_bronze
from mesh_orchestrator.ingestion.landing import ingest_feed

NORDWERK = (
    "Rechnungsnummer;Position;Rechnungsdatum;Faelligkeitsdatum;Bestellnummer;Artikelnummer;Menge;"
    "Einzelpreis;Betrag\n"
    "NW-000001;1;05.01.2026;04.02.2026;PO-0000001;SKU-00001;3;1.234,50;3.703,50\n"
    "NW-000001;2;05.01.2026;04.02.2026;PO-0000001;SKU-00002;1;9,99\n"  # a field missing
)
ATLAS = (
    '{"supplier": "Atlas", "invoices": [{"invoiceId": "AT-000001", "issuedOn": "2026-01-07", '
    '"dueOn": "2026-02-21", "customerPo": "PO-0000002", "currencyCode": "USD", "lines": ['
    '{"lineNo": 1, "partNumber": "SKU-00003", "qty": 2, "unitPrice": 10.10, "extendedPrice": 20.20}, '
    '{"lineNo": 2, "partNumber": "SKU-00004", "qty": 1, "unitPrice": "5.00", "extendedPrice": "5.00", '
    '"colour": "red"}]}]}'
)
BRIGHTLINE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<InvoiceBatch><Invoice><InvoiceNo>BL-000001</InvoiceNo>'
    "<InvoiceDate>08/01/2026</InvoiceDate><PaymentDue>07/02/2026</PaymentDue><OrderRef>PO-0000003"
    "</OrderRef><Currency>GBP</Currency><InvoiceLine><LineNo>1</LineNo><ItemCode>SKU-00005</ItemCode>"
    "<Quantity>4</Quantity><Price>2.50</Price><LineTotal>10.00</LineTotal></InvoiceLine></Invoice>"
    "</InvoiceBatch>\n"
)
FJORD_LINE = "FJ-000001 " + "   1" + "20260109" + "20260310" + "PO-0000004  " + "SKU-00006 "
FJORD_LINE += "00000007" + "000000012345" + "00000000086415"


def _drop(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


@pytest.fixture
def feed() -> FeedSpec:
    return load_domain_spec("procurement").feed("supplier_invoices")


def test_every_supplier_format_maps_onto_the_feed_columns(tmp_path: Path, feed: FeedSpec) -> None:
    _drop(tmp_path / "nordwerk", "2026-01.csv", NORDWERK)
    _drop(tmp_path / "atlas", "batch.json", ATLAS)
    _drop(tmp_path / "brightline", "jan.xml", BRIGHTLINE)
    _drop(tmp_path / "fjord", "INV0109.txt", FJORD_LINE + "\n" + FJORD_LINE[:40] + "\n")
    con = duckdb.connect()
    report = ingest_feed(con, feed, tmp_path)
    assert sorted(f.path for f in report.ingested) == [
        "atlas/batch.json",
        "brightline/jan.xml",
        "fjord/INV0109.txt",
        "nordwerk/2026-01.csv",
    ]
    recon = build_bronze(con, feed)
    assert recon.holds and recon.landed == 7 and recon.bronze == 4 and recon.quarantined == 3
    rows = con.execute(
        "SELECT supplier_id, invoice_number, line_number, invoice_date, due_date, po_number, sku, quantity, "
        "unit_price::VARCHAR, line_amount::VARCHAR, currency FROM bronze.supplier_invoices ORDER BY 1"
    ).fetchall()
    assert [r[:2] + r[7:] for r in rows] == [
        ("SUP-001", "NW-000001", 3, "1234.50", "3703.50", "EUR"),
        ("SUP-002", "AT-000001", 2, "10.10", "20.20", "USD"),
        ("SUP-003", "BL-000001", 4, "2.50", "10.00", "GBP"),
        ("SUP-004", "FJ-000001", 7, "123.45", "864.15", "SEK"),
    ]
    assert {str(r[3]) for r in rows} == {"2026-01-05", "2026-01-07", "2026-01-08", "2026-01-09"}
    reasons = dict(con.execute("SELECT _source_file, reason FROM quarantine.supplier_invoices").fetchall())
    assert "unparseable" in reasons["nordwerk/2026-01.csv"]
    assert reasons["atlas/batch.json"] == "unknown_column: colour"
    assert "WRONG LINE LENGTH: 40 characters, the layout needs 86" in reasons["fjord/INV0109.txt"]


@pytest.mark.parametrize(
    ("folder", "name", "text", "expected"),
    [
        ("atlas", "broken.json", '{"invoices": [{"invoiceId": "AT-1"', "INVALID JSON DOCUMENT"),
        ("atlas", "shape.json", '{"bills": []}', "UNEXPECTED JSON SHAPE: no field 'invoices'"),
        ("brightline", "broken.xml", "<InvoiceBatch><Invoice>", "XML NOT WELL-FORMED"),
        (
            "brightline",
            "bomb.xml",
            '<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaa">]><InvoiceBatch>&a;</InvoiceBatch>',
            "XML REFUSED: DTD or entity declarations are not accepted",
        ),
        ("brightline", "empty.xml", "<InvoiceBatch/>", "NO RECORDS: no <InvoiceLine> element"),
    ],
)
def test_a_malformed_document_is_quarantined_whole(
    tmp_path: Path, feed: FeedSpec, folder: str, name: str, text: str, expected: str
) -> None:
    _drop(tmp_path / folder, name, text)
    con = duckdb.connect()
    ingest_feed(con, feed, tmp_path)
    recon = build_bronze(con, feed)
    assert recon.holds and (recon.landed, recon.quarantined) == (1, 1)
    (reason,) = con.execute("SELECT reason FROM quarantine.supplier_invoices").fetchone() or ("",)
    assert reason.startswith("unparseable: " + expected)


def test_a_bad_value_is_quarantined_with_what_the_supplier_sent(tmp_path: Path, feed: FeedSpec) -> None:
    _drop(
        tmp_path / "nordwerk",
        "bad.csv",
        NORDWERK.splitlines()[0]
        + "\n"
        + NORDWERK.splitlines()[1].replace("05.01.2026", "32.01.2026").replace("1.234,50", "1,2,3")
        + "\n",
    )
    con = duckdb.connect()
    ingest_feed(con, feed, tmp_path)
    build_bronze(con, feed)
    (reason,) = con.execute("SELECT reason FROM quarantine.supplier_invoices").fetchone() or ("",)
    assert "bad_type: invoice_date=32.01.2026 is not DATE" in reason
    assert "bad_type: unit_price=1,2,3 is not DECIMAL(18,2) (a number written like -1234,56" in reason


def test_a_source_must_map_every_required_column() -> None:
    spec = {
        "name": "p",
        "owner": "team:p",
        "dbt_project": "dbt_projects/procurement",
        "feeds": {
            "f": {
                "key": ["a"],
                "columns": [{"name": "a", "type": "VARCHAR", "required": True}],
                "sources": {"s": {"format": "xml", "records": "R", "fields": {}}},
            }
        },
    }
    with pytest.raises(SpecError, match="required column 'a' has no field or constant"):
        parse_domain_spec(spec, Path("p.yaml"))


@pytest.mark.parametrize(
    ("price", "problem"),
    [
        ("1,234.56", "(a number written like -1234,56 or 1.234,56"),  # the other convention
        ("12.5", "(a number written like -1234,56 or 1.234,56"),  # not a group of three
        ("1,239", "(at most 2 decimal places, it would be rounded)"),
    ],
)
def test_a_decimal_comma_source_reads_its_own_convention_exactly(
    tmp_path: Path, feed: FeedSpec, price: str, problem: str
) -> None:
    header, good, _ = NORDWERK.splitlines()
    _drop(
        tmp_path / "nordwerk",
        "mixed.csv",
        f"{header}\n{good}\n{good.replace(';1;', ';2;').replace('1.234,50', price)}\n",
    )
    con = duckdb.connect()
    ingest_feed(con, feed, tmp_path)
    recon = build_bronze(con, feed)
    assert recon.holds and (recon.landed, recon.bronze, recon.quarantined) == (2, 1, 1)
    assert con.execute("SELECT unit_price::VARCHAR FROM bronze.supplier_invoices").fetchall() == [
        ("1234.50",)
    ]
    (reason,) = con.execute("SELECT reason FROM quarantine.supplier_invoices").fetchone() or ("",)
    assert reason.startswith(f"bad_type: unit_price={price} is not DECIMAL(18,2) {problem}")


def _spec_with(feed_extra: dict[str, object], source_extra: dict[str, object]) -> dict[str, object]:
    return {
        "name": "p",
        "owner": "team:p",
        "dbt_project": "dbt_projects/procurement",
        "feeds": {
            "f": {
                "key": ["a"],
                "columns": [
                    {"name": "a", "type": "VARCHAR", "required": True},
                    {"name": "t", "type": "TIMESTAMPTZ"},
                ],
                "sources": {"s": {"format": "jsonl", "fields": {"a": "A", "t": "T"}, **source_extra}},
                **feed_extra,
            }
        },
    }


def test_feeds_and_sources_declare_their_time_zone() -> None:
    spec = parse_domain_spec(
        _spec_with({"timezone": "Europe/Berlin"}, {"timezone": "America/New_York"}), Path("p.yaml")
    )
    assert (
        spec.feeds[0].timezone == "Europe/Berlin" and spec.feeds[0].sources[0].timezone == "America/New_York"
    )
    plain = parse_domain_spec(_spec_with({}, {}), Path("p.yaml")).feeds[0]
    assert plain.timezone == "UTC" and plain.sources[0].timezone is None
    with pytest.raises(SpecError, match=r"feeds\.f\.timezone.*'Mars/Olympus' is not an IANA time zone"):
        parse_domain_spec(_spec_with({"timezone": "Mars/Olympus"}, {}), Path("p.yaml"))
    with pytest.raises(SpecError, match=r"feeds\.f\.sources\.s\.timezone.*'CEST' is not an IANA time zone"):
        parse_domain_spec(_spec_with({}, {"timezone": "CEST"}), Path("p.yaml"))


def test_a_source_time_zone_reads_its_local_times(tmp_path: Path) -> None:
    spec = parse_domain_spec(
        _spec_with({"timezone": "Europe/Berlin"}, {"timezone": "America/New_York"}), Path("p.yaml")
    )
    (feed,) = spec.feeds
    _drop(
        tmp_path / "s",
        "a.jsonl",
        '{"A": "x", "T": "2026-03-05 10:00:00"}\n{"A": "y", "T": "2026-03-08 02:30"}\n',
    )
    con = duckdb.connect()
    ingest_feed(con, feed, tmp_path)
    assert build_bronze(con, feed).holds
    assert con.execute("SELECT a, epoch(t)::BIGINT FROM bronze.f").fetchall() == [
        ("x", 1772722800)
    ]  # 15:00 UTC
    (reason,) = con.execute("SELECT reason FROM quarantine.f").fetchone() or ("",)
    assert "does not exist in America/New_York" in reason
