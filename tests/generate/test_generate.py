"""The sample-data generator: reproducible, true to the domain specs, and dirty only on request."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from mesh_orchestrator.devtools.generate import FAULT_KINDS, GENERATORS, GenerationReport, catalogue, generate
from tests.generate.helpers import (
    FEEDS,
    LINE_FEEDS,
    SEED,
    SOURCES,
    SPECS,
    check_value,
    files,
    is_malformed,
    is_valid,
    lines,
    parsed_rows,
    records,
    supplier_files,
)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes(dirty: tuple[Path, GenerationReport], tmp_path: Path) -> None:
    root, _ = dirty
    again = generate(tmp_path / "again", scale=1, seed=SEED, faults=0.05)
    assert _snapshot(root) == _snapshot(again.data_dir)


def test_other_seed_gives_other_data(clean: tuple[Path, GenerationReport], tmp_path: Path) -> None:
    root, _ = clean
    other = _snapshot(generate(tmp_path, scale=1, seed=SEED + 1).data_dir)
    ours = _snapshot(root)
    assert other.keys() == ours.keys()  # same layout ...
    for name in (
        "landing/inventory/items/items.csv",
        "landing/sales/web_order_events/web_order_events_2026-01-01.jsonl",
        "landing/sales/customer_payments/customer_payments_2026-01.csv",
        "landing/hr/employees/employees.csv",
        "landing/procurement/purchase_orders/purchase_orders_2026-01.csv",
        "landing/procurement/supplier_invoices/atlas/atlas_invoices_2026-02.json",
        "landing/finance/opening_balances/opening_balances.csv",
    ):
        assert other[name] != ours[name]  # ... other contents


@pytest.mark.parametrize("domain", ["sales", "hr", "procurement", "finance"])
def test_one_domain_alone_gives_the_same_files(
    clean: tuple[Path, GenerationReport], tmp_path: Path, domain: str
) -> None:
    """Domains share keys through the seed, never through each other's files."""
    root, _ = clean
    report = generate(tmp_path, scale=1, seed=SEED, domains=[domain])
    assert {d for d, _ in report.feeds} == {domain}
    assert [p.name for p in (tmp_path / "landing").iterdir()] == [domain]
    alone = _snapshot(tmp_path)
    assert alone == {k: v for k, v in _snapshot(root).items() if k.startswith(f"landing/{domain}/")}


def test_generators_run_in_dependency_order() -> None:
    assert list(GENERATORS) == ["inventory", "hr", "procurement", "sales", "finance"]


def test_layout_and_report(clean: tuple[Path, GenerationReport]) -> None:
    root, report = clean
    assert set(report.feeds) == {(d, f) for d, feeds in FEEDS.items() for f in feeds}
    for (domain, feed), counts in report.feeds.items():
        assert not counts.faults
        if feed == "supplier_invoices":
            continue  # documents: see test_supplier_invoice_layout
        found = files(root, domain, feed)
        assert counts.files == len(found) > 0
        assert counts.rows == sum(len(lines(p)) for p in found)
    names = {p.name for p in files(root, "sales", "distributor_orders")}
    assert "distributor_DIST-01_2026-01-05.csv" in names and len(names) == 3 * 14
    names = {p.name for p in files(root, "sales", "web_order_events")}
    assert "web_order_events_2026-01-01.jsonl" in names and len(names) == 90
    names = {p.name for p in files(root, "hr", "timecards")}  # one file per working day
    assert "timecards_2026-01-02.csv" in names and "timecards_2026-01-03.csv" not in names  # a Saturday
    assert len(names) == 64
    months = ("2026-01", "2026-02", "2026-03")
    for domain, feed, pattern in (
        ("inventory", "stock_movements", "stock_movements_{}.csv"),
        ("sales", "customer_payments", "customer_payments_{}.csv"),
        ("hr", "payroll_runs", "payroll_{}.jsonl"),
        ("procurement", "purchase_orders", "purchase_orders_{}.csv"),
        ("procurement", "goods_receipts", "goods_receipts_{}.csv"),
    ):
        assert [p.name for p in files(root, domain, feed)] == [pattern.format(m) for m in months]
    rows = {name: counts.rows for (_, name), counts in report.feeds.items()}
    assert rows["items"] == 200 and rows["warehouses"] == 4
    assert 4_000 < rows["distributor_orders"] + rows["web_order_events"] < 6_000
    assert rows["departments"] == 7 and rows["employees"] == 40 and rows["suppliers"] == 4
    assert 100 <= rows["payroll_runs"] <= 120  # at most 40 employees x 3 months
    assert 250 < rows["purchase_orders"] < 350
    assert rows["chart_of_accounts"] == 19 and rows["fiscal_periods"] == 3 and rows["exchange_rates"] == 12
    assert "sales/customer_payments" in report.summary()


@pytest.mark.parametrize(("domain", "feed"), LINE_FEEDS)
def test_feeds_match_domain_spec(clean: tuple[Path, GenerationReport], domain: str, feed: str) -> None:
    root, _ = clean
    spec = SPECS[domain][feed]
    names = [c["name"] for c in spec["columns"]]
    for path in files(root, domain, feed):
        assert path.suffix == {"csv": ".csv", "jsonl": ".jsonl"}[spec["format"]]
        if spec["format"] == "csv":
            assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(names)
    rows = records(root, domain, feed)
    keys = Counter(tuple(str(r[k]) for k in spec["key"]) for r in rows)
    assert max(keys.values()) == 1, "duplicate keys without faults"
    for i, row in enumerate(rows):
        assert list(row) == names, f"{feed} row {i}: {list(row)}"
        for column in spec["columns"]:
            check_value(row[column["name"]], column, f"{feed} row {i} {column['name']}")


def test_formats_of_identifiers(clean: tuple[Path, GenerationReport]) -> None:
    root, _ = clean
    items = records(root, "inventory", "items")
    assert items[0]["sku"] == "SKU-00001" and len({r["category"] for r in items}) == 8
    assert all(Decimal(r["list_price"]) > Decimal(r["unit_cost"]) > 0 for r in items)
    assert records(root, "inventory", "stock_movements")[0]["movement_id"] == "MV-00000001"
    orders = records(root, "sales", "distributor_orders")
    assert {r["distributor_id"] for r in orders} == {"DIST-01", "DIST-02", "DIST-03"}
    assert all(1 <= int(r["quantity"]) <= 50 for r in orders)
    events = records(root, "sales", "web_order_events")
    assert all(1 <= e["quantity"] <= 5 and e["customer_id"].startswith("C-") for e in events)
    assert Counter(e["channel"] for e in events).most_common(1)[0][0] == "web"
    for rows in (orders, events):  # line numbers run 1..n within each order
        numbers = defaultdict(set)
        for r in rows:
            numbers[r["order_id"]].add(int(r["line_number"]))
        assert all(n == set(range(1, len(n) + 1)) for n in numbers.values())
    first_ids = {
        ("hr", "employees", "employee_id"): "E-000001",
        ("hr", "rewards", "award_id"): "AW-000001",
        ("procurement", "purchase_orders", "po_number"): "PO-0000001",
        ("procurement", "goods_receipts", "receipt_id"): "GR-0000001",
        ("procurement", "supplier_payments", "payment_id"): "PAY-0000001",
        ("sales", "customer_payments", "payment_id"): "CP-00000001",
        ("finance", "manual_journals", "journal_id"): "MJ-000001",
    }
    for (domain, feed, column), first in first_ids.items():
        assert records(root, domain, feed)[0][column] == first, feed
    assert all(len(r["po_number"]) == 10 for r in records(root, "procurement", "purchase_orders"))


def test_quantity_on_hand_never_negative(clean: tuple[Path, GenerationReport]) -> None:
    root, _ = clean
    moves = records(root, "inventory", "stock_movements")
    on_hand: Counter[tuple[str, str]] = Counter()
    for m in sorted(moves, key=lambda m: (m["moved_at"], m["movement_id"])):
        on_hand[m["sku"], m["warehouse_id"]] += int(m["quantity"])
        assert on_hand[m["sku"], m["warehouse_id"]] >= 0, m
        sign = {"receipt": 1, "issue": -1}.get(m["movement_type"])
        assert sign is None or int(m["quantity"]) * sign > 0, m


def test_sales_skus_exist_in_items(clean: tuple[Path, GenerationReport]) -> None:
    root, _ = clean
    skus = {r["sku"] for r in records(root, "inventory", "items")}
    assert len(catalogue(SEED, 1)) == len(skus)
    for feed in ("distributor_orders", "web_order_events"):
        assert {r["sku"] for r in records(root, "sales", feed)} <= skus


#: Fault kinds each feed gets (besides the row kinds every full feed gets).
ONLY_DUPLICATES = {
    "warehouses",
    "departments",
    "suppliers",
    "chart_of_accounts",
    "fiscal_periods",
    "exchange_rates",
    "opening_balances",
}
UNKNOWN_REFERENCES = {
    "payroll_runs",
    "timecards",
    "rewards",
    "purchase_orders",
    "goods_receipts",
    "supplier_payments",
    "supplier_invoices",
    "customer_payments",
}


def _expected_kinds(domain: str, feed: str) -> set[str]:
    if feed in ONLY_DUPLICATES:
        return {"duplicate"}
    kinds = {"duplicate", "malformed", "missing_key", "bad_type"}
    if feed in ("distributor_orders", "web_order_events"):
        kinds.add("unknown_sku")
    if feed in UNKNOWN_REFERENCES:
        kinds.add("unknown_reference")
    if SPECS[domain][feed].get("format") == "jsonl":
        kinds.add("unknown_column")
    return kinds


def test_faults_are_injected_and_files_stay_readable(dirty: tuple[Path, GenerationReport]) -> None:
    root, report = dirty
    assert set(report.faults) == set(FAULT_KINDS)
    for (domain, feed), counts in report.feeds.items():
        assert set(counts.faults) == _expected_kinds(domain, feed), feed
        if feed in ONLY_DUPLICATES:
            assert sum(counts.faults.values()) == 1, feed
        assert sum(counts.faults.values()) <= 0.1 * counts.rows + 10, feed
        if feed == "supplier_invoices":
            continue  # documents: see test_dirty_supplier_invoices
        spec = SPECS[domain][feed]
        names = [c["name"] for c in spec["columns"]]
        found = [line for p in files(root, domain, feed) for line in lines(p)]
        assert len(found) == counts.rows
        malformed = sum(is_malformed(line, len(names), spec["format"]) for line in found)
        assert malformed == counts.faults["malformed"], feed
        assert sum(n - 1 for n in Counter(found).values()) >= counts.faults["duplicate"] > 0
        for path in files(root, domain, feed):
            if spec["format"] == "csv":
                assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(names)


def test_fault_kinds_look_right(dirty: tuple[Path, GenerationReport]) -> None:
    root, _ = dirty
    skus = {f"SKU-{n:05d}" for n in catalogue(SEED, 1).numbers}
    events = [
        json.loads(line)
        for p in files(root, "sales", "web_order_events")
        for line in lines(p)
        if not is_malformed(line, 9, "jsonl")
    ]
    assert any(set(e) - {c["name"] for c in SPECS["sales"]["web_order_events"]["columns"]} for e in events)
    assert any(e["event_id"] is None for e in events)
    assert any(e["sku"] not in skus for e in events)
    assert any(
        isinstance(e["quantity"], str)
        or isinstance(e["line_number"], str)
        or not str(e["event_time"]).startswith("2026-0")
        for e in events
    )
    orders = [
        r for p in files(root, "sales", "distributor_orders") for r in csv.reader(lines(p)) if len(r) == 8
    ]
    assert any(not r[0] or not r[1] for r in orders)
    assert any(r[5] not in skus for r in orders)


def test_unknown_references_point_nowhere(
    clean: tuple[Path, GenerationReport], dirty: tuple[Path, GenerationReport]
) -> None:
    """Payslips, timecards and awards of employees hr does not know; payments for invoices nobody
    issued; purchase order lines for items inventory does not list. Always with a new key."""
    root, _ = dirty
    employees = {r["employee_id"] for r in records(clean[0], "hr", "employees")}
    orders = {
        r["order_id"]
        for f in ("distributor_orders", "web_order_events")
        for r in records(clean[0], "sales", f)
    }
    skus = {r["sku"] for r in records(clean[0], "inventory", "items")}
    pos = {r["po_number"] for r in records(clean[0], "procurement", "purchase_orders")}
    for domain, feed, column, known in (
        ("hr", "payroll_runs", "employee_id", employees),
        ("hr", "timecards", "employee_id", employees),
        ("hr", "rewards", "employee_id", employees),
        ("sales", "customer_payments", "invoice_id", orders),
        ("procurement", "purchase_orders", "sku", skus),
        ("procurement", "goods_receipts", "po_number", pos),
    ):
        rows = [r for r in parsed_rows(root, domain, feed) if is_valid(r, domain, feed)]
        strangers = [r for r in rows if r[column] not in known]
        assert strangers, feed
        keys = Counter(tuple(str(r[k]) for k in SPECS[domain][feed]["key"]) for r in rows)
        for row in strangers:  # a new key: bronze cannot mistake it for a resend of a clean row
            assert keys[tuple(str(row[k]) for k in SPECS[domain][feed]["key"])] == 1, row


@pytest.mark.parametrize(("domain", "feed"), [(d, f) for d, f in LINE_FEEDS if f != "customer_payments"])
def test_faults_keep_the_clean_rows(
    clean: tuple[Path, GenerationReport], dirty: tuple[Path, GenerationReport], domain: str, feed: str
) -> None:
    """Faulty lines are extra lines: the valid rows of a dirty run are the clean rows, plus rows
    pointing at unknown references, minus rows whose SKU a fault replaced (sales only)."""

    def valid(root: Path) -> set[str]:
        rows = [r for r in parsed_rows(root, domain, feed) if is_valid(r, domain, feed)]
        return {json.dumps(r) for r in rows}

    ours, theirs = valid(clean[0]), valid(dirty[0])
    if feed in ("distributor_orders", "web_order_events"):
        skus = {f"SKU-{n:05d}" for n in catalogue(SEED, 1).numbers}
        replaced = [json.loads(r) for r in theirs - ours]
        assert replaced and all(r["sku"] not in skus for r in replaced)
        assert 0 < len(ours - theirs) == len(replaced)
        return
    assert ours <= theirs
    extra = [json.loads(r) for r in theirs - ours]
    assert bool(extra) == (feed in UNKNOWN_REFERENCES), feed


def test_faults_do_not_break_stock_levels(
    clean: tuple[Path, GenerationReport], dirty: tuple[Path, GenerationReport]
) -> None:
    """Faulty movements are extra lines: the valid, de-duplicated movements equal the clean ones."""
    columns = SPECS["inventory"]["stock_movements"]["columns"]

    def valid(root: Path) -> set[tuple[str, ...]]:
        rows = set()
        for path in files(root, "inventory", "stock_movements"):
            for r in csv.reader(lines(path)):
                try:
                    assert len(r) == len(columns) and r[0]
                    for value, column in zip(r, columns, strict=True):
                        check_value(value, column, "")
                except (AssertionError, ValueError):
                    continue
                rows.add(tuple(r))
        return rows

    assert valid(dirty[0]) == valid(clean[0])


def test_dirty_supplier_invoices(
    clean: tuple[Path, GenerationReport], dirty: tuple[Path, GenerationReport]
) -> None:
    """With faults, each supplier also sends one file that does not parse; the others still do."""
    names = {source: {p.name for p in supplier_files(clean[0], source)} for source in SOURCES}
    for source in SOURCES:
        extra = [p for p in supplier_files(dirty[0], source) if p.name not in names[source]]
        assert len(extra) == 1, source
        (bad,) = extra
        text = bad.read_text(encoding="utf-8")
        if source == "atlas":
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
        elif source == "brightline":
            from xml.etree import ElementTree

            with pytest.raises(ElementTree.ParseError):
                ElementTree.fromstring(text)
        elif source == "fjord":
            widths = sorted(len(line) for line in text.splitlines())
            assert widths[0] < 86 < widths[-1]
        else:
            assert {len(next(csv.reader([line], delimiter=";"))) for line in text.splitlines()} == {9, 10}


def _raw_supplier_records(root: Path, source: str, names: set[str]) -> list[str]:
    """Each invoice line of the sender's files named ``names``, as sent (fields untyped)."""
    from xml.etree import ElementTree

    found: list[str] = []
    for path in supplier_files(root, source):
        if path.name not in names:
            continue
        if source == "atlas":
            for invoice in json.loads(path.read_text())["invoices"]:
                head = {k: v for k, v in invoice.items() if k != "lines"}
                found += [json.dumps({**head, **line}) for line in invoice["lines"]]
        elif source == "brightline":
            for invoice in ElementTree.parse(path).getroot().findall("Invoice"):
                head = {c.tag: c.text for c in invoice if c.tag != "InvoiceLine"}
                for line in invoice.findall("InvoiceLine"):
                    found.append(json.dumps({**head, **{c.tag: c.text for c in line}}))
        else:
            found += lines(path)
    return found


@pytest.mark.parametrize("source", SOURCES)
def test_faults_keep_the_clean_supplier_invoices(
    clean: tuple[Path, GenerationReport], dirty: tuple[Path, GenerationReport], source: str
) -> None:
    names = {p.name for p in supplier_files(clean[0], source)}
    ours = _raw_supplier_records(clean[0], source, names)
    theirs = _raw_supplier_records(dirty[0], source, names)
    assert not Counter(ours) - Counter(theirs)  # every clean record is still there, unchanged
    assert len(theirs) > len(ours)
    if source == "fjord":  # unknown references: an invoice nobody issued, each with a new key
        strangers = [(line[:10], line[10:14]) for line in theirs if line.startswith("FJ-9")]
        assert strangers and len(set(strangers)) == len(strangers)


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown domain"):
        generate(tmp_path, scale=1, seed=1, domains=["marketing"])
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, scale=0, seed=1)
    with pytest.raises(ValueError, match="faults"):
        generate(tmp_path, scale=1, seed=1, faults=1.5)
