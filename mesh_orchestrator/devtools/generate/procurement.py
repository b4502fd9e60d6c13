"""Procurement: four suppliers, purchase orders, goods receipts, supplier invoices and payments.

About 300 purchase order lines per unit of scale (at most about 1,000,000), 1-5 lines per order,
for SKUs of the shared :func:`catalogue`, priced at the item's unit cost in the supplier's
currency. Goods arrive 2-10 days after the order at one of inventory's warehouses (a few lines
partly, a few not at all). Once a purchase order's deliveries are complete the supplier invoices
what was received, 0-5 days later, in its own format (see ``sources:`` of the procurement spec);
only invoices dated by 2026-03-31 are sent. Invoices due by then are mostly paid.

Everything comes from :func:`purchasing`, which depends on the seed and scale alone: finance
sizes the opening cash with it, without reading procurement's files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mesh_orchestrator.devtools.generate import formats as fmt
from mesh_orchestrator.devtools.generate.base import Context, rng_for
from mesh_orchestrator.devtools.generate.catalogue import catalogue
from mesh_orchestrator.devtools.generate.faults import (
    DUPLICATE,
    MALFORMED,
    UNKNOWN_REFERENCE,
    FaultPlan,
    inject_records,
)
from mesh_orchestrator.devtools.generate.inventory import WAREHOUSES
from mesh_orchestrator.devtools.generate.report import FeedReport
from mesh_orchestrator.devtools.generate.writers import FeedWriter, write_file, write_reference_table

DOMAIN = "procurement"
LINES_PER_SCALE = 300
MAX_ORDERS = 333_000  # about 1,000,000 lines; order numbers stay at 7 digits
FIRST_DAY = fmt.START // fmt.DAY  # 2026-01-01
LAST_DAY = FIRST_DAY + 89  # 2026-03-31
MONTH_DAYS = (FIRST_DAY, FIRST_DAY + 31, FIRST_DAY + 59, FIRST_DAY + 90)
MONTHS = ("2026-01", "2026-02", "2026-03")

#: (id, name, country, currency, payment terms in days, share of orders, source, invoice prefix)
SUPPLIERS = (
    ("SUP-001", "Nordwerk GmbH", "DE", "EUR", 30, 0.40, "nordwerk", "NW-"),
    ("SUP-002", "Atlas Industrial Supply", "US", "USD", 45, 0.25, "atlas", "AT-"),
    ("SUP-003", "Brightline Components Ltd", "GB", "GBP", 30, 0.20, "brightline", "BL-"),
    ("SUP-004", "Fjord Metall AB", "SE", "SEK", 60, 0.15, "fjord", "FJ-"),
)
#: Supplier currency per EUR as (numerator, denominator): USD 1.08, GBP 0.85, SEK 11.5.
PRICE_RATES = ((1, 1), (108, 100), (85, 100), (115, 10))

SUPPLIER_COLUMNS = ("supplier_id", "supplier_name", "country_code", "currency", "payment_terms_days")
ORDER_COLUMNS = (
    "po_number",
    "line_number",
    "supplier_id",
    "order_date",
    "sku",
    "quantity",
    "unit_price",
    "currency",
)
RECEIPT_COLUMNS = (
    "receipt_id",
    "po_number",
    "line_number",
    "warehouse_id",
    "received_date",
    "quantity_received",
)
PAYMENT_COLUMNS = ("payment_id", "supplier_id", "invoice_number", "paid_date", "amount", "currency")
NORDWERK_COLUMNS = (
    "Rechnungsnummer",
    "Position",
    "Rechnungsdatum",
    "Faelligkeitsdatum",
    "Bestellnummer",
    "Artikelnummer",
    "Menge",
    "Einzelpreis",
    "Betrag",
)
ATLAS_LINE_FIELDS = ("lineNo", "partNumber", "qty", "unitPrice", "extendedPrice")
BRIGHTLINE_LINE_FIELDS = ("LineNo", "ItemCode", "Quantity", "Price", "LineTotal")
#: Fjord's fixed-width layout: (field, width, numeric). Numbers are right-aligned and zero-padded.
FJORD_LAYOUT = (
    ("invoice_no", 10, False),
    ("line_no", 4, True),
    ("inv_date", 8, True),
    ("due_date", 8, True),
    ("po_ref", 12, False),
    ("article", 10, False),
    ("qty", 8, True),
    ("price_ore", 12, True),
    ("amount_ore", 14, True),
)


@dataclass(frozen=True)
class Purchasing:
    """The whole purchasing plan as numeric arrays; days are days since 1970, money in cents."""

    # purchase orders (order ``o`` is PO number o + 1)
    po_supplier: np.ndarray
    po_day: np.ndarray
    po_warehouse: np.ndarray
    # purchase order lines, by order then line number
    line_po: np.ndarray
    line_number: np.ndarray
    line_item: np.ndarray  # catalogue index
    line_quantity: np.ndarray
    line_price: np.ndarray  # unit price in the supplier's currency
    # goods receipts, by date (receipt ``r`` is GR number r + 1)
    receipt_line: np.ndarray
    receipt_day: np.ndarray
    receipt_quantity: np.ndarray
    # invoices, one per purchase order that is invoiced, by date
    invoice_po: np.ndarray
    invoice_number: np.ndarray  # per supplier, from 1
    invoice_day: np.ndarray
    invoice_due: np.ndarray
    invoice_total: np.ndarray
    # invoice lines, by invoice then line number
    item_invoice: np.ndarray
    item_line: np.ndarray  # the purchase order line invoiced
    item_number: np.ndarray
    item_quantity: np.ndarray
    item_amount: np.ndarray
    # supplier payments, by date (payment ``p`` is PAY number p + 1)
    payment_invoice: np.ndarray
    payment_day: np.ndarray
    payment_amount: np.ndarray

    def invoice_supplier(self) -> np.ndarray:
        return self.po_supplier[self.invoice_po]


def order_count(scale: int) -> int:
    return min(LINES_PER_SCALE // 3 * scale, MAX_ORDERS)


def _next_weekday(days: np.ndarray) -> np.ndarray:
    weekday = (days + 3) % 7  # 0 = Monday
    return days + np.where(weekday >= 5, 7 - weekday, 0)


@lru_cache(maxsize=8)
def purchasing(seed: int, scale: int) -> Purchasing:
    """The purchasing plan for a seed and scale (cached: procurement writes it, finance uses it)."""
    rng = rng_for(seed, DOMAIN, "plan")
    cat = catalogue(seed, scale)
    n_po = order_count(scale)
    workdays = np.arange(FIRST_DAY, LAST_DAY + 1)
    workdays = workdays[(workdays + 3) % 7 < 5]
    po_day = np.sort(rng.choice(workdays, size=n_po))  # order numbers follow the calendar
    po_supplier = rng.choice(len(SUPPLIERS), size=n_po, p=[s[5] for s in SUPPLIERS])
    po_warehouse = rng.integers(0, len(WAREHOUSES), n_po)
    counts = rng.integers(1, 6, n_po)
    line_po = np.repeat(np.arange(n_po), counts)
    starts = np.cumsum(counts) - counts
    line_number = np.arange(len(line_po)) - starts[line_po] + 1
    item = _distinct_items(rng, line_po, cat.popularity)
    quantity = rng.integers(1, 31, len(line_po)) * 10
    num, den = (np.array(r)[po_supplier[line_po]] for r in zip(*PRICE_RATES, strict=True))
    price = (cat.unit_cost_cents[item] * num + den // 2) // den

    # Deliveries: most lines in full, some in two parts (or short), a few never.
    n_lines = len(line_po)
    first = _next_weekday(po_day + rng.integers(2, 11, n_po))[line_po]
    fate = rng.choice(4, size=n_lines, p=[0.90, 0.042, 0.018, 0.04])  # full, split, short, none
    part = np.maximum(1, (quantity * rng.uniform(0.3, 0.8, n_lines)).astype(np.int64) // 10 * 10)
    part = np.minimum(part, quantity - 1)
    second = _next_weekday(first + rng.integers(5, 16, n_lines))
    got_first = fate != 3
    got_second = fate == 1
    r_line = np.concatenate([np.flatnonzero(got_first), np.flatnonzero(got_second)])
    r_day = np.concatenate([first[got_first], second[got_second]])
    r_qty = np.concatenate([np.where(fate == 0, quantity, part)[got_first], (quantity - part)[got_second]])
    done = np.where(got_second, second, np.where(got_first, first, 0))  # last delivery of the line
    received = np.zeros(n_lines, dtype=np.int64)
    np.add.at(received, r_line, r_qty)
    keep = r_day <= LAST_DAY
    r_line, r_day, r_qty = r_line[keep], r_day[keep], r_qty[keep]
    order = np.lexsort((r_line, r_day))
    r_line, r_day, r_qty = r_line[order], r_day[order], r_qty[order]

    # One invoice per purchase order, for what was received, once all its deliveries are in.
    complete = np.maximum.reduceat(done, starts)
    invoiced_any = np.add.reduceat(received, starts) > 0
    inv_day = complete + rng.integers(0, 6, n_po)
    invoiced = invoiced_any & (complete <= LAST_DAY) & (inv_day <= LAST_DAY)
    inv_po = np.flatnonzero(invoiced)
    inv_po = inv_po[np.lexsort((inv_po, inv_day[inv_po]))]
    inv_day = inv_day[inv_po]
    supplier = po_supplier[inv_po]
    inv_number = np.zeros(len(inv_po), dtype=np.int64)
    for s in range(len(SUPPLIERS)):
        mask = supplier == s
        inv_number[mask] = np.arange(1, int(mask.sum()) + 1)
    terms = np.array([s[4] for s in SUPPLIERS])[supplier]
    rank = np.full(n_po, -1)
    rank[inv_po] = np.arange(len(inv_po))
    lines_billed = np.flatnonzero((rank[line_po] >= 0) & (received > 0))
    lines_billed = lines_billed[np.lexsort((lines_billed, rank[line_po[lines_billed]]))]
    item_invoice = rank[line_po[lines_billed]]
    item_starts = np.searchsorted(item_invoice, np.arange(len(inv_po)))
    item_number = np.arange(len(lines_billed)) - item_starts[item_invoice] + 1
    item_quantity = received[lines_billed]
    item_amount = item_quantity * price[lines_billed]
    total = np.bincount(item_invoice, weights=item_amount, minlength=len(inv_po)).round().astype(np.int64)

    pay_invoice, pay_day, pay_amount = _payments(rng, inv_day + terms, total)
    return Purchasing(
        po_supplier=po_supplier,
        po_day=po_day,
        po_warehouse=po_warehouse,
        line_po=line_po,
        line_number=line_number,
        line_item=item,
        line_quantity=quantity,
        line_price=price,
        receipt_line=r_line,
        receipt_day=r_day,
        receipt_quantity=r_qty,
        invoice_po=inv_po,
        invoice_number=inv_number,
        invoice_day=inv_day,
        invoice_due=inv_day + terms,
        invoice_total=total,
        item_invoice=item_invoice,
        item_line=lines_billed,
        item_number=item_number,
        item_quantity=item_quantity,
        item_amount=item_amount,
        payment_invoice=pay_invoice,
        payment_day=pay_day,
        payment_amount=pay_amount,
    )


def _distinct_items(rng: np.random.Generator, line_po: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Popular items more often, never twice on one purchase order."""
    n_items = len(popularity)
    item = rng.choice(n_items, size=len(line_po), p=popularity)
    for _ in range(100):
        order = np.lexsort((item, line_po))
        repeated = np.zeros(len(item), dtype=bool)
        repeated[order[1:]] = (line_po[order[1:]] == line_po[order[:-1]]) & (
            item[order[1:]] == item[order[:-1]]
        )
        if not repeated.any():
            break
        item[repeated] = (item[repeated] + rng.integers(1, n_items, int(repeated.sum()))) % n_items
    return item


def _payments(
    rng: np.random.Generator, due: np.ndarray, total: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Invoices due by 2026-03-31: most paid in full on or after the due date, some in two parts
    (the second part maybe still to come), some not at all. Sorted by date, then invoice."""
    n = len(due)
    fate = rng.choice(3, size=n, p=[0.78, 0.12, 0.10])  # in full, in two parts, not yet
    first = np.minimum(_next_weekday(due + rng.integers(0, 5, n)), LAST_DAY)
    share = (total * rng.uniform(0.4, 0.7, n)).astype(np.int64)
    second = _next_weekday(first + rng.integers(7, 21, n))
    is_due = due <= LAST_DAY
    full = is_due & (fate == 0)
    split = is_due & (fate == 1)
    late = split & (second <= LAST_DAY)
    invoice = np.concatenate([np.flatnonzero(full), np.flatnonzero(split), np.flatnonzero(late)])
    day = np.concatenate([first[full], first[split], second[late]])
    amount = np.concatenate([total[full], share[split], (total - share)[late]])
    order = np.lexsort((invoice, day))
    return invoice[order], day[order], amount[order]


def generate_procurement(ctx: Context) -> list[FeedReport]:
    plan = purchasing(ctx.seed, ctx.scale)
    return [
        _suppliers(ctx),
        _purchase_orders(ctx, plan),
        _goods_receipts(ctx, plan),
        _supplier_invoices(ctx, plan),
        _supplier_payments(ctx, plan),
    ]


def _suppliers(ctx: Context) -> FeedReport:
    rows = [s[:5] for s in SUPPLIERS]
    return write_reference_table(ctx, DOMAIN, "suppliers", SUPPLIER_COLUMNS, ("supplier_id",), rows)


def _po_numbers(po: np.ndarray, quote: bool = False) -> pa.Array:
    return fmt.ids("PO-", po + 1, 7, quote=quote)


def _skus(items: np.ndarray) -> pa.Array:
    return fmt.ids("SKU-", items + 1, 5)


def _month_of(days: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(MONTH_DAYS[1:]), days, side="right")


def _purchase_orders(ctx: Context, p: Purchasing) -> FeedReport:
    plan = FaultPlan(
        "csv",
        ("po_number", "line_number"),
        {
            "quantity": ("ten", "1O"),
            "unit_price": ("12.5.0", "n/a"),
            "order_date": ("2026-02-30", "15/01/2026"),
            "currency": ("EURO",),
        },
        unknown_refs={"sku": "SKU-9", "line_number": "9"},
    )
    writer = FeedWriter(ctx, DOMAIN, "purchase_orders", ORDER_COLUMNS, plan)
    supplier = p.po_supplier[p.line_po]
    month = _month_of(p.po_day[p.line_po])
    columns = [
        _po_numbers(p.line_po),
        fmt.integers(p.line_number),
        fmt.pick([s[0] for s in SUPPLIERS], supplier),
        fmt.dates_as(p.po_day[p.line_po], "%Y-%m-%d"),
        _skus(p.line_item),
        fmt.integers(p.line_quantity),
        fmt.decimals(p.line_price),
        fmt.pick([s[3] for s in SUPPLIERS], supplier),
    ]
    writer.write(columns, month, [f"purchase_orders_{m}.csv" for m in MONTHS])
    return writer.finish()


def _goods_receipts(ctx: Context, p: Purchasing) -> FeedReport:
    plan = FaultPlan(
        "csv",
        ("receipt_id",),
        {
            "quantity_received": ("five", "10 pcs"),
            "received_date": ("2026-02-30",),
            "line_number": ("one",),
        },
        unknown_refs={"po_number": "PO-9", "receipt_id": "GR-9"},
    )
    writer = FeedWriter(ctx, DOMAIN, "goods_receipts", RECEIPT_COLUMNS, plan)
    po = p.line_po[p.receipt_line]
    columns = [
        fmt.ids("GR-", np.arange(1, len(po) + 1), 7),
        _po_numbers(po),
        fmt.integers(p.line_number[p.receipt_line]),
        fmt.pick([w[0] for w in WAREHOUSES], p.po_warehouse[po]),
        fmt.dates_as(p.receipt_day, "%Y-%m-%d"),
        fmt.integers(p.receipt_quantity),
    ]
    writer.write(columns, _month_of(p.receipt_day), [f"goods_receipts_{m}.csv" for m in MONTHS])
    return writer.finish()


def _supplier_payments(ctx: Context, p: Purchasing) -> FeedReport:
    plan = FaultPlan(
        "csv",
        ("payment_id",),
        {"amount": ("n/a", "12.5.0"), "paid_date": ("2026-02-30",), "currency": ("DKK",)},
        unknown_refs={"invoice_number": "NW-9", "payment_id": "PAY-9"},
    )
    writer = FeedWriter(ctx, DOMAIN, "supplier_payments", PAYMENT_COLUMNS, plan)
    inv = p.payment_invoice
    supplier = p.invoice_supplier()[inv]
    columns = [
        fmt.ids("PAY-", np.arange(1, len(inv) + 1), 7),
        fmt.pick([s[0] for s in SUPPLIERS], supplier),
        _invoice_numbers(supplier, p.invoice_number[inv]),
        fmt.dates_as(p.payment_day, "%Y-%m-%d"),
        fmt.decimals(p.payment_amount),
        fmt.pick([s[3] for s in SUPPLIERS], supplier),
    ]
    writer.write(columns, np.zeros(len(inv), dtype=np.int64), ["supplier_payments.csv"])
    return writer.finish()


def _invoice_numbers(supplier: np.ndarray, number: np.ndarray) -> pa.Array:
    """``NW-000001``, ``AT-000001``... (at most 10 characters, Fjord's field width)."""
    prefixes = pa.array([s[7] for s in SUPPLIERS]).take(pa.array(supplier))
    return pc.binary_join_element_wise(prefixes, fmt.fixed_width(len(number), [(number, 6)]), "")


# Supplier invoices: one folder per sender, each in its own shape ------------------------------


@dataclass
class _Invoices:
    """The invoice lines of one supplier and month, as numbers and as common text tokens."""

    invoice: np.ndarray  # invoice index (into the plan's invoices) per line
    number: pa.Array  # invoice number
    day: np.ndarray
    due: np.ndarray
    po: pa.Array
    line: np.ndarray
    sku: pa.Array
    quantity: np.ndarray
    price: np.ndarray
    amount: np.ndarray


def _supplier_invoices(ctx: Context, p: Purchasing) -> FeedReport:
    report = FeedReport(DOMAIN, "supplier_invoices")
    writers: dict[str, Callable[[Context, FeedReport, list[tuple[str, _Invoices]]], None]] = {
        "nordwerk": _nordwerk,
        "atlas": _atlas,
        "brightline": _brightline,
        "fjord": _fjord,
    }
    supplier = p.invoice_supplier()[p.item_invoice]
    month = _month_of(p.invoice_day[p.item_invoice])
    for s, (*_, source, _prefix) in enumerate(SUPPLIERS):
        batches = []
        for m, name in enumerate(MONTHS):
            rows = np.flatnonzero((supplier == s) & (month == m))
            if len(rows) == 0:
                continue
            inv = p.item_invoice[rows]
            line = p.item_line[rows]
            batch = _Invoices(
                invoice=inv,
                number=_invoice_numbers(np.full(len(rows), s), p.invoice_number[inv]),
                day=p.invoice_day[inv],
                due=p.invoice_due[inv],
                po=_po_numbers(p.line_po[line]),
                line=p.item_number[rows],
                sku=_skus(p.line_item[line]),
                quantity=p.item_quantity[rows],
                price=p.line_price[line],
                amount=p.item_amount[rows],
            )
            batches.append((name, batch))
        writers[source](ctx, report, batches)
    ctx.say(report.line())
    return report


def _folder(ctx: Context, source: str) -> Path:
    return ctx.landing(DOMAIN, f"supplier_invoices/{source}")


def _nordwerk(ctx: Context, report: FeedReport, batches: list[tuple[str, _Invoices]]) -> None:
    """Semicolon CSV, German headers, ``1.234,56`` amounts and ``DD.MM.YYYY`` dates."""
    plan = FaultPlan(
        "csv",
        ("Rechnungsnummer", "Position"),
        {"Menge": ("drei", "3 Stk"), "Einzelpreis": ("12,5,0", "k.A."), "Rechnungsdatum": ("31.02.2026",)},
        unknown_refs={"Bestellnummer": "PO-9", "Rechnungsnummer": "NW-9"},
        delimiter=";",
    )
    writer = FeedWriter(ctx, DOMAIN, "supplier_invoices/nordwerk", NORDWERK_COLUMNS, plan)
    last: list[str] = []
    for name, b in batches:
        columns = [
            b.number,
            fmt.integers(b.line),
            fmt.dates_as(b.day, "%d.%m.%Y"),
            fmt.dates_as(b.due, "%d.%m.%Y"),
            b.po,
            b.sku,
            fmt.integers(b.quantity),
            fmt.grouped_decimals(b.price),
            fmt.grouped_decimals(b.amount),
        ]
        writer.write(columns, np.zeros(len(b.line), dtype=np.int64), [f"nordwerk_rechnungen_{name}.csv"])
        last = [str(c[0].as_py()) for c in columns]
    _merge(report, writer.report)
    if ctx.faults > 0 and last:  # a resent line, then the same line with one field too many
        line = ";".join(last)
        body = ";".join(NORDWERK_COLUMNS) + "\n" + line + "\n" + line + ";Skonto 2%\n"
        write_file(_folder(ctx, "nordwerk") / "nordwerk_rechnungen_korrektur.csv", b"", body.encode())
        _count_bad_file(report, rows=2, faults={DUPLICATE: 1, MALFORMED: 1})


def _atlas(ctx: Context, report: FeedReport, batches: list[tuple[str, _Invoices]]) -> None:
    """One JSON document per month: invoices with their header fields and nested lines, in USD."""
    plan = FaultPlan(
        "json",
        ("lineNo",),
        {"qty": ("three", "3 pcs"), "unitPrice": ("12,50", "n/a"), "extendedPrice": ("TBD",)},
        unknown_refs={"partNumber": "ART-", "lineNo": "9"},
    )
    faults = _RecordFaults(ctx, "atlas", plan, ATLAS_LINE_FIELDS, report)
    opening = '{"supplier": "Atlas Industrial Supply", "invoices": [\n'
    first_invoice = ""
    for name, b in batches:
        tokens = [
            fmt.integers(b.line),
            fmt.quoted(b.sku),
            fmt.integers(b.quantity),
            fmt.quoted(fmt.decimals(b.price)),
            fmt.quoted(fmt.decimals(b.amount)),
        ]
        tokens, origin = faults.add(tokens)
        pieces: list[pa.Array | str] = []
        for j, (field, column) in enumerate(zip(ATLAS_LINE_FIELDS, tokens, strict=True)):
            pieces += ["{" if j == 0 else ", ", f'"{field}": ', column]
        pieces.append("}")
        lines = pc.binary_join_element_wise(*pieces, "")
        header = pc.binary_join_element_wise(
            '{"invoiceId": ',
            fmt.quoted(b.number),
            ', "issuedOn": ',
            fmt.dates_as(b.day, "%Y-%m-%d", quote=True),
            ', "dueOn": ',
            fmt.dates_as(b.due, "%Y-%m-%d", quote=True),
            ', "customerPo": ',
            fmt.quoted(b.po),
            ', "currencyCode": "USD", "lines": [',
            "",
        ).take(pa.array(origin))
        text = _nest(b.invoice[origin], header, lines, ", ", "]}", ",\n")
        body = opening + text + "\n]}\n"
        write_file(_folder(ctx, "atlas") / f"atlas_invoices_{name}.json", b"", body.encode())
        report.files += 1
        report.rows += len(origin)
        if not first_invoice:
            first_invoice = text.split("\n", 1)[0]
    if ctx.faults > 0 and first_invoice:  # the connection dropped half-way through the upload
        body = opening + first_invoice[: len(first_invoice) * 3 // 5]
        write_file(_folder(ctx, "atlas") / "atlas_invoices_resend.json", b"", body.encode())
        _count_bad_file(report, rows=1, faults={MALFORMED: 1})


def _brightline(ctx: Context, report: FeedReport, batches: list[tuple[str, _Invoices]]) -> None:
    """XML: a batch of invoices, header elements first, then their lines; dates ``DD/MM/YYYY``."""
    plan = FaultPlan(
        "xml",
        ("LineNo",),
        {"Quantity": ("3 pcs", "three"), "Price": ("12,50",), "LineTotal": ("n/a",)},
        unknown_refs={"ItemCode": "ART-", "LineNo": "9"},
    )
    faults = _RecordFaults(ctx, "brightline", plan, BRIGHTLINE_LINE_FIELDS, report)
    opening = '<?xml version="1.0" encoding="UTF-8"?>\n<InvoiceBatch>\n'
    first_invoice = ""
    for name, b in batches:
        tokens = [
            fmt.integers(b.line),
            b.sku,
            fmt.integers(b.quantity),
            fmt.decimals(b.price),
            fmt.decimals(b.amount),
        ]
        tokens, origin = faults.add(tokens)
        pieces: list[pa.Array | str] = ["    <InvoiceLine>"]
        for field, column in zip(BRIGHTLINE_LINE_FIELDS, tokens, strict=True):
            pieces += [f"<{field}>", _xml_escape(column), f"</{field}>"]
        pieces.append("</InvoiceLine>\n")
        lines = pc.binary_join_element_wise(*pieces, "")
        header = pc.binary_join_element_wise(
            "  <Invoice>\n    <InvoiceNo>",
            _xml_escape(b.number),
            "</InvoiceNo>\n    <InvoiceDate>",
            fmt.dates_as(b.day, "%d/%m/%Y"),
            "</InvoiceDate>\n    <PaymentDue>",
            fmt.dates_as(b.due, "%d/%m/%Y"),
            "</PaymentDue>\n    <OrderRef>",
            _xml_escape(b.po),
            "</OrderRef>\n    <Currency>GBP</Currency>\n",
            "",
        ).take(pa.array(origin))
        text = _nest(b.invoice[origin], header, lines, "", "  </Invoice>\n", "")
        body = opening + text + "</InvoiceBatch>\n"
        write_file(_folder(ctx, "brightline") / f"brightline_invoices_{name}.xml", b"", body.encode())
        report.files += 1
        report.rows += len(origin)
        if not first_invoice:
            first_invoice = text.split("  </Invoice>\n", 1)[0]
    if ctx.faults > 0 and first_invoice:  # an invoice line left open: not well-formed
        broken = first_invoice.replace("</InvoiceLine>", "", 1)
        body = opening + broken + "  </Invoice>\n</InvoiceBatch>\n"
        write_file(_folder(ctx, "brightline") / "brightline_invoices_resend.xml", b"", body.encode())
        _count_bad_file(report, rows=1, faults={MALFORMED: 1})


def _fjord(ctx: Context, report: FeedReport, batches: list[tuple[str, _Invoices]]) -> None:
    """Fixed-width lines of 86 characters, dates ``YYYYMMDD``, prices and amounts in öre."""
    names = [f[0] for f in FJORD_LAYOUT]
    plan = FaultPlan(
        "fixed_width",
        ("invoice_no", "line_no"),
        {"qty": ("0000003O", "     ABC"), "price_ore": ("00000012O500",), "inv_date": ("20260230",)},
        unknown_refs={"article": "ART-", "invoice_no": "FJ-9"},
    )
    faults = _RecordFaults(ctx, "fjord", plan, names, report)
    example = ""
    for name, b in batches:
        n = len(b.line)
        tokens = [
            b.number,
            fmt.fixed_width(n, [(b.line, 4)]),
            fmt.dates_as(b.day, "%Y%m%d"),
            fmt.dates_as(b.due, "%Y%m%d"),
            b.po,
            b.sku,
            fmt.fixed_width(n, [(b.quantity, 8)]),
            fmt.fixed_width(n, [(b.price, 12)]),
            fmt.fixed_width(n, [(b.amount, 14)]),
        ]
        tokens, _ = faults.add(tokens)
        pieces: list[pa.Array | str] = []
        for (_, width, numeric), column in zip(FJORD_LAYOUT, tokens, strict=True):
            padded = pc.utf8_lpad(column, width, " ") if numeric else pc.utf8_rpad(column, width, " ")
            pieces.append(pc.utf8_slice_codeunits(padded, 0, width))
        pieces.append("\n")
        lines = pc.binary_join_element_wise(*pieces, "")
        write_file(
            _folder(ctx, "fjord") / f"fjord_faktura_{name.replace('-', '')}.txt", b"", _text(lines).encode()
        )
        report.files += 1
        report.rows += len(lines)
        example = example or str(lines[0])
    if ctx.faults > 0 and example:  # a line cut short and a line with a trailing field
        body = example[:60] + "\n" + example[:-1] + "   SEK\n"
        write_file(_folder(ctx, "fjord") / "fjord_faktura_rest.txt", b"", body.encode())
        _count_bad_file(report, rows=2, faults={MALFORMED: 2})


class _RecordFaults:
    """Faulty extra records for one sender's documents, file by file (when faults are on)."""

    def __init__(self, ctx: Context, source: str, plan: FaultPlan, names: Sequence[str], report: FeedReport):
        self.ctx = ctx
        self.rng = rng_for(ctx.seed, DOMAIN, "supplier_invoices", source, "faults")
        self.plan = plan
        self.names = names
        self.report = report
        self.files = 0
        self.serial = 0  # unknown references so far, so that every one gets a new key

    def add(self, tokens: list[pa.Array]) -> tuple[list[pa.Array], np.ndarray]:
        """Tokens with the extra records in place, and each record's clean origin."""
        first = self.files == 0
        self.files += 1
        if self.ctx.faults <= 0:
            return tokens, np.arange(len(tokens[0]))
        out, origin, found = inject_records(
            self.rng, self.plan, self.ctx.faults, self.names, tokens, first, self.serial
        )
        self.serial += found[UNKNOWN_REFERENCE]
        self.report.faults.update(found)
        return out, origin


def _nest(
    invoice: np.ndarray, header: pa.Array, lines: pa.Array, between: str, closing: str, after: str
) -> str:
    """Records grouped by invoice: each invoice's header, its lines joined by ``between``, then
    ``closing``; invoices are separated by ``after``."""
    n = len(invoice)
    starts = np.ones(n, dtype=bool)
    starts[1:] = invoice[1:] != invoice[:-1]
    ends = np.ones(n, dtype=bool)
    ends[:-1] = starts[1:]
    prefix = pc.if_else(pa.array(starts), header, between)
    suffix = pc.if_else(pa.array(ends), closing + after, "")
    if n and after:  # no separator after the last invoice
        suffix = pa.concat_arrays([suffix.slice(0, n - 1), pa.array([closing])])
    return _text(pc.binary_join_element_wise(prefix, lines, suffix, ""))


def _text(values: pa.Array) -> str:
    """All strings of an array, concatenated (straight from the Arrow buffer)."""
    if len(values) == 0:
        return ""
    offsets = np.frombuffer(values.buffers()[1], np.int32, len(values) + 1, values.offset * 4)
    return bytes(memoryview(values.buffers()[2])[offsets[0] : offsets[-1]]).decode()


def _xml_escape(values: pa.Array) -> pa.Array:
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        values = pc.replace_substring(values, char, entity)
    return values


def _merge(report: FeedReport, part: FeedReport) -> None:
    report.files += part.files
    report.rows += part.rows
    report.faults.update(part.faults)


def _count_bad_file(report: FeedReport, rows: int, faults: dict[str, int]) -> None:
    report.files += 1
    report.rows += rows
    report.faults.update(faults)
