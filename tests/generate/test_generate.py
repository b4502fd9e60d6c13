"""The sample-data generator: reproducible, true to the domain specs, and dirty only on request."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
import yaml

from mesh_orchestrator.generate import FAULT_KINDS, GenerationReport, catalogue, generate
from mesh_orchestrator.paths import REPO_ROOT

SEED = 20260101
FEEDS = {
    "inventory": ("items", "warehouses", "stock_movements"),
    "sales": ("distributor_orders", "web_order_events"),
}


def _spec(domain: str) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "domains" / domain / "domain.yaml").read_text())["feeds"]


SPECS = {domain: _spec(domain) for domain in FEEDS}


def _files(root: Path, domain: str, feed: str) -> list[Path]:
    return sorted((root / "landing" / domain / feed).iterdir())


def _lines(path: Path) -> list[str]:
    """Data lines of a landing file (CSV header dropped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[1:] if path.suffix == ".csv" else lines


def _records(root: Path, domain: str, feed: str) -> list[dict[str, Any]]:
    """Every row of a clean feed as a dict of raw values (CSV text or JSON values)."""
    rows: list[dict[str, Any]] = []
    for path in _files(root, domain, feed):
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                rows.extend(csv.DictReader(handle))
        else:
            rows.extend(json.loads(line) for line in _lines(path))
    return rows


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationReport]:
    root = tmp_path_factory.mktemp("clean")
    return root, generate(root, scale=1, seed=SEED)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationReport]:
    root = tmp_path_factory.mktemp("dirty")
    return root, generate(root, scale=1, seed=SEED, faults=0.05)


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
    ):
        assert other[name] != ours[name]  # ... other contents


def test_one_domain_alone_gives_the_same_files(clean: tuple[Path, GenerationReport], tmp_path: Path) -> None:
    root, _ = clean
    report = generate(tmp_path, scale=1, seed=SEED, domains=["sales"])
    assert {d for d, _ in report.feeds} == {"sales"}
    assert not (tmp_path / "landing" / "inventory").exists()
    sales = _snapshot(tmp_path)
    assert sales == {k: v for k, v in _snapshot(root).items() if k.startswith("landing/sales/")}


def test_layout_and_report(clean: tuple[Path, GenerationReport]) -> None:
    root, report = clean
    assert set(report.feeds) == {(d, f) for d, feeds in FEEDS.items() for f in feeds}
    for (domain, feed), counts in report.feeds.items():
        files = _files(root, domain, feed)
        assert counts.files == len(files) > 0
        assert counts.rows == sum(len(_lines(p)) for p in files)
        assert not counts.faults
    names = {p.name for p in _files(root, "sales", "distributor_orders")}
    assert "distributor_DIST-01_2026-01-05.csv" in names and len(names) == 3 * 14
    names = {p.name for p in _files(root, "sales", "web_order_events")}
    assert "web_order_events_2026-01-01.jsonl" in names and len(names) == 90
    assert [p.name for p in _files(root, "inventory", "stock_movements")] == [
        f"stock_movements_2026-0{m}.csv" for m in (1, 2, 3)
    ]
    assert report.feeds[("inventory", "items")].rows == 200
    assert report.feeds[("inventory", "warehouses")].rows == 4
    sales = sum(report.feeds[("sales", f)].rows for f in FEEDS["sales"])
    assert 4_000 < sales < 6_000
    assert "sales/web_order_events" in report.summary()


def _check_value(value: Any, column: dict[str, Any], where: str) -> None:
    text = "" if value is None else str(value)
    if not text:
        assert not column.get("required"), f"{where}: required value missing"
        return
    kind = column["type"].upper()
    if kind == "INTEGER":
        int(text)
    elif kind.startswith("DECIMAL"):
        try:
            Decimal(text)
        except InvalidOperation:
            pytest.fail(f"{where}: {text!r} is not a decimal")
    elif kind == "DATE":
        date.fromisoformat(text)
    elif kind == "TIMESTAMP":
        datetime.fromisoformat(text)
    if column.get("allowed"):
        assert text in column["allowed"], f"{where}: {text!r} not allowed"


@pytest.mark.parametrize(("domain", "feed"), [(d, f) for d, fs in FEEDS.items() for f in fs])
def test_feeds_match_domain_spec(clean: tuple[Path, GenerationReport], domain: str, feed: str) -> None:
    root, _ = clean
    spec = SPECS[domain][feed]
    names = [c["name"] for c in spec["columns"]]
    assert spec["format"] == ("csv" if feed != "web_order_events" else "jsonl")
    for path in _files(root, domain, feed):
        if spec["format"] == "csv":
            assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(names)
    rows = _records(root, domain, feed)
    keys = Counter(tuple(str(r[k]) for k in spec["key"]) for r in rows)
    assert max(keys.values()) == 1, "duplicate keys without faults"
    for i, row in enumerate(rows):
        assert list(row) == names, f"{feed} row {i}: {list(row)}"
        for column in spec["columns"]:
            _check_value(row[column["name"]], column, f"{feed} row {i} {column['name']}")


def test_formats_of_identifiers(clean: tuple[Path, GenerationReport]) -> None:
    root, _ = clean
    items = _records(root, "inventory", "items")
    assert items[0]["sku"] == "SKU-00001" and len({r["category"] for r in items}) == 8
    assert all(Decimal(r["list_price"]) > Decimal(r["unit_cost"]) > 0 for r in items)
    assert _records(root, "inventory", "stock_movements")[0]["movement_id"] == "MV-00000001"
    orders = _records(root, "sales", "distributor_orders")
    assert {r["distributor_id"] for r in orders} == {"DIST-01", "DIST-02", "DIST-03"}
    assert all(1 <= int(r["quantity"]) <= 50 for r in orders)
    events = _records(root, "sales", "web_order_events")
    assert all(1 <= e["quantity"] <= 5 and e["customer_id"].startswith("C-") for e in events)
    assert Counter(e["channel"] for e in events).most_common(1)[0][0] == "web"
    for rows in (orders, events):  # line numbers run 1..n within each order
        lines = defaultdict(set)
        for r in rows:
            lines[r["order_id"]].add(int(r["line_number"]))
        assert all(n == set(range(1, len(n) + 1)) for n in lines.values())


def test_quantity_on_hand_never_negative(clean: tuple[Path, GenerationReport]) -> None:
    root, _ = clean
    moves = _records(root, "inventory", "stock_movements")
    on_hand: Counter[tuple[str, str]] = Counter()
    for m in sorted(moves, key=lambda m: (m["moved_at"], m["movement_id"])):
        on_hand[m["sku"], m["warehouse_id"]] += int(m["quantity"])
        assert on_hand[m["sku"], m["warehouse_id"]] >= 0, m
        sign = {"receipt": 1, "issue": -1}.get(m["movement_type"])
        assert sign is None or int(m["quantity"]) * sign > 0, m


def test_sales_skus_exist_in_items(clean: tuple[Path, GenerationReport]) -> None:
    root, _ = clean
    skus = {r["sku"] for r in _records(root, "inventory", "items")}
    assert len(catalogue(SEED, 1)) == len(skus)
    for feed in FEEDS["sales"]:
        assert {r["sku"] for r in _records(root, "sales", feed)} <= skus


def _is_malformed(line: str, fields: int, fmt: str) -> bool:
    if fmt == "jsonl":
        try:
            json.loads(line)
        except json.JSONDecodeError:
            return True
        return False
    return len(next(csv.reader([line]))) != fields


def test_faults_are_injected_and_files_stay_readable(dirty: tuple[Path, GenerationReport]) -> None:
    root, report = dirty
    assert set(report.faults) == set(FAULT_KINDS)
    assert sum(report.feeds[("inventory", "warehouses")].faults.values()) <= 1
    for (domain, feed), counts in report.feeds.items():
        spec = SPECS[domain][feed]
        names = [c["name"] for c in spec["columns"]]
        expected = (
            {"duplicate"} if feed == "warehouses" else {"duplicate", "malformed", "missing_key", "bad_type"}
        )
        if domain == "sales":
            expected.add("unknown_sku")
        if spec["format"] == "jsonl":
            expected.add("unknown_column")
        assert set(counts.faults) == expected, feed
        assert sum(counts.faults.values()) <= 0.1 * counts.rows + 6
        lines = [line for p in _files(root, domain, feed) for line in _lines(p)]
        assert len(lines) == counts.rows
        malformed = sum(_is_malformed(line, len(names), spec["format"]) for line in lines)
        assert malformed == counts.faults["malformed"], feed
        assert sum(n - 1 for n in Counter(lines).values()) >= counts.faults["duplicate"] > 0
        for path in _files(root, domain, feed):
            if spec["format"] == "csv":
                assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(names)


def test_fault_kinds_look_right(dirty: tuple[Path, GenerationReport]) -> None:
    root, _ = dirty
    skus = {f"SKU-{n:05d}" for n in catalogue(SEED, 1).numbers}
    events = [
        json.loads(line)
        for p in _files(root, "sales", "web_order_events")
        for line in _lines(p)
        if not _is_malformed(line, 9, "jsonl")
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
        r for p in _files(root, "sales", "distributor_orders") for r in csv.reader(_lines(p)) if len(r) == 8
    ]
    assert any(not r[0] or not r[1] for r in orders)
    assert any(r[5] not in skus for r in orders)


def test_faults_do_not_break_stock_levels(
    clean: tuple[Path, GenerationReport], dirty: tuple[Path, GenerationReport]
) -> None:
    """Faulty movements are extra lines: the valid, de-duplicated movements equal the clean ones."""
    columns = SPECS["inventory"]["stock_movements"]["columns"]

    def valid(root: Path) -> set[tuple[str, ...]]:
        rows = set()
        for path in _files(root, "inventory", "stock_movements"):
            for r in csv.reader(_lines(path)):
                try:
                    assert len(r) == len(columns) and r[0]
                    for value, column in zip(r, columns, strict=True):
                        _check_value(value, column, "")
                except (AssertionError, ValueError):
                    continue
                rows.add(tuple(r))
        return rows

    assert valid(dirty[0]) == valid(clean[0])


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown domain"):
        generate(tmp_path, scale=1, seed=1, domains=["hr"])
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, scale=0, seed=1)
    with pytest.raises(ValueError, match="faults"):
        generate(tmp_path, scale=1, seed=1, faults=1.5)
