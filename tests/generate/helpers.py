"""Reading generated landing files back, independently of the generator and the platform."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from mesh_orchestrator.core.paths import REPO_ROOT

SEED = 20260101
FEEDS = {
    "inventory": ("items", "warehouses", "stock_movements"),
    "hr": ("departments", "employees", "payroll_runs", "timecards", "rewards"),
    "procurement": (
        "suppliers",
        "purchase_orders",
        "goods_receipts",
        "supplier_invoices",
        "supplier_payments",
    ),
    "sales": ("distributor_orders", "web_order_events", "customer_payments"),
    "finance": (
        "chart_of_accounts",
        "fiscal_periods",
        "exchange_rates",
        "opening_balances",
        "manual_journals",
    ),
}
#: Feeds written one record per line (CSV or JSON Lines); supplier invoices come in four shapes.
LINE_FEEDS = [(d, f) for d, feeds in FEEDS.items() for f in feeds if f != "supplier_invoices"]
SOURCES = ("nordwerk", "atlas", "brightline", "fjord")
FJORD_LAYOUT = (
    ("invoice_no", 10),
    ("line_no", 4),
    ("inv_date", 8),
    ("due_date", 8),
    ("po_ref", 12),
    ("article", 10),
    ("qty", 8),
    ("price_ore", 12),
    ("amount_ore", 14),
)
CENT = Decimal("0.01")


def _spec(domain: str) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "domains" / domain / "defs.yaml").read_text())["attributes"]["feeds"]


SPECS = {domain: _spec(domain) for domain in FEEDS}


def files(root: Path, domain: str, feed: str) -> list[Path]:
    return sorted(p for p in (root / "landing" / domain / feed).iterdir() if p.is_file())


def lines(path: Path) -> list[str]:
    """Data lines of a landing file (CSV header dropped)."""
    text = path.read_text(encoding="utf-8").splitlines()
    return text[1:] if path.suffix == ".csv" else text


def records(root: Path, domain: str, feed: str) -> list[dict[str, Any]]:
    """Every row of a clean feed as a dict of raw values (CSV text or JSON values)."""
    rows: list[dict[str, Any]] = []
    for path in files(root, domain, feed):
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                rows.extend(csv.DictReader(handle))
        else:
            rows.extend(json.loads(line) for line in lines(path))
    return rows


def check_value(value: Any, column: dict[str, Any], where: str) -> None:
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
    elif kind in ("TIMESTAMP", "TIMESTAMPTZ"):
        datetime.fromisoformat(text)
    if column.get("allowed"):
        assert text in column["allowed"], f"{where}: {text!r} not allowed"


def is_valid(row: dict[str, Any], domain: str, feed: str) -> bool:
    """Whether bronze would keep a parsed row: every column typed, allowed and present."""
    columns = SPECS[domain][feed]["columns"]
    if list(row) != [c["name"] for c in columns]:
        return False
    try:
        for column in columns:
            check_value(row[column["name"]], column, "")
    except (AssertionError, ValueError, pytest.fail.Exception):
        return False
    return all(row[k] not in (None, "") for k in SPECS[domain][feed]["key"])


def parsed_rows(root: Path, domain: str, feed: str) -> list[dict[str, Any]]:
    """Rows of a possibly dirty line feed that parse (right number of fields, valid JSON)."""
    names = [c["name"] for c in SPECS[domain][feed]["columns"]]
    rows: list[dict[str, Any]] = []
    for path in files(root, domain, feed):
        for line in lines(path):
            if path.suffix == ".csv":
                cells = next(csv.reader([line]))
                if len(cells) == len(names):
                    rows.append(dict(zip(names, cells, strict=True)))
            else:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return rows


def is_malformed(line: str, fields: int, fmt: str, delimiter: str = ",") -> bool:
    if fmt == "jsonl":
        try:
            json.loads(line)
        except json.JSONDecodeError:
            return True
        return False
    return len(next(csv.reader([line], delimiter=delimiter))) != fields


# Supplier invoices, read from each sender's own shape into the feed's columns ------------------


def _folder(root: Path, source: str) -> Path:
    return root / "landing" / "procurement" / "supplier_invoices" / source


def supplier_files(root: Path, source: str) -> list[Path]:
    return sorted(_folder(root, source).iterdir())


def _german(text: str) -> Decimal:
    return Decimal(text.replace(".", "").replace(",", "."))


def _dmy(text: str, sep: str) -> date:
    day, month, year = text.split(sep)
    return date(int(year), int(month), int(day))


def read_nordwerk(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    return [
        {
            "supplier_id": "SUP-001",
            "invoice_number": r["Rechnungsnummer"],
            "line_number": int(r["Position"]),
            "invoice_date": _dmy(r["Rechnungsdatum"], "."),
            "due_date": _dmy(r["Faelligkeitsdatum"], "."),
            "po_number": r["Bestellnummer"],
            "sku": r["Artikelnummer"],
            "quantity": int(r["Menge"]),
            "unit_price": _german(r["Einzelpreis"]),
            "line_amount": _german(r["Betrag"]),
            "currency": "EUR",
        }
        for r in rows
    ]


def read_atlas(path: Path) -> list[dict[str, Any]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["supplier"] == "Atlas Industrial Supply"
    return [
        {
            "supplier_id": "SUP-002",
            "invoice_number": invoice["invoiceId"],
            "line_number": int(line["lineNo"]),
            "invoice_date": date.fromisoformat(invoice["issuedOn"]),
            "due_date": date.fromisoformat(invoice["dueOn"]),
            "po_number": invoice["customerPo"],
            "sku": line["partNumber"],
            "quantity": int(line["qty"]),
            "unit_price": Decimal(line["unitPrice"]),
            "line_amount": Decimal(line["extendedPrice"]),
            "currency": invoice["currencyCode"],
        }
        for invoice in document["invoices"]
        for line in invoice["lines"]
    ]


def read_brightline(path: Path) -> list[dict[str, Any]]:
    root = ElementTree.parse(path).getroot()
    assert root.tag == "InvoiceBatch"
    rows = []
    for invoice in root.findall("Invoice"):
        tags = [child.tag for child in invoice]
        assert tags[:5] == ["InvoiceNo", "InvoiceDate", "PaymentDue", "OrderRef", "Currency"], tags
        assert set(tags[5:]) == {"InvoiceLine"}, "the header elements come before the lines"
        head = {child.tag: child.text or "" for child in invoice if child.tag != "InvoiceLine"}
        for line in invoice.findall("InvoiceLine"):
            fields = {child.tag: child.text or "" for child in line}
            rows.append(
                {
                    "supplier_id": "SUP-003",
                    "invoice_number": head["InvoiceNo"],
                    "line_number": int(fields["LineNo"]),
                    "invoice_date": _dmy(head["InvoiceDate"], "/"),
                    "due_date": _dmy(head["PaymentDue"], "/"),
                    "po_number": head["OrderRef"],
                    "sku": fields["ItemCode"],
                    "quantity": int(fields["Quantity"]),
                    "unit_price": Decimal(fields["Price"]),
                    "line_amount": Decimal(fields["LineTotal"]),
                    "currency": head["Currency"],
                }
            )
    return rows


def fjord_fields(line: str) -> dict[str, str]:
    fields, position = {}, 0
    for name, width in FJORD_LAYOUT:
        fields[name] = line[position : position + width].strip()
        position += width
    return fields


def read_fjord(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        f = fjord_fields(line)
        rows.append(
            {
                "supplier_id": "SUP-004",
                "invoice_number": f["invoice_no"],
                "line_number": int(f["line_no"]),
                "invoice_date": datetime.strptime(f["inv_date"], "%Y%m%d").date(),
                "due_date": datetime.strptime(f["due_date"], "%Y%m%d").date(),
                "po_number": f["po_ref"],
                "sku": f["article"],
                "quantity": int(f["qty"]),
                "unit_price": Decimal(f["price_ore"]) * CENT,
                "line_amount": Decimal(f["amount_ore"]) * CENT,
                "currency": "SEK",
            }
        )
    return rows


READERS = {"nordwerk": read_nordwerk, "atlas": read_atlas, "brightline": read_brightline, "fjord": read_fjord}


def supplier_invoices(root: Path) -> list[dict[str, Any]]:
    """Every invoice line of a clean run, in the feed's columns, whatever the sender's shape."""
    return [
        row for source in SOURCES for path in supplier_files(root, source) for row in READERS[source](path)
    ]


def dbt_net(quantity: int, list_price: Decimal, discount_pct: Decimal | None) -> Decimal:
    """A sales line's net amount as ``int_order_lines_priced`` computes it (DuckDB DECIMAL round
    is half away from zero; all amounts here are positive)."""
    gross = quantity * list_price
    discount = (gross * (discount_pct or Decimal(0)) * Decimal("0.01")).quantize(CENT, ROUND_HALF_UP)
    return gross - discount
