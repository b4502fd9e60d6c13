"""Sales: weekly distributor CSV batches, daily web order-line events (JSON Lines) and the
customer payments settled against the invoices.

Volume is about 5,000 order lines per unit of scale over January-March 2026, 40% from three
distributors and 60% from the web shop, app and marketplace. Every SKU comes from the shared
:func:`catalogue`, so all sales lines can be priced (unless a fault says otherwise).
Rows are generated one week at a time to keep memory flat at large scales.

Every order is an invoice (invoice id = order id) whose total is priced exactly as the sales dbt
project prices it (``int_order_lines_priced``), in integer cents: list price times quantity, less
the discount rounded half away from zero to the cent. Lines whose SKU a fault replaced are not
invoiced. Web shop and app orders are paid by card at checkout, marketplace orders by a payout
7-14 days later, distributor orders by bank transfer 20-45 days later, some in two parts;
payments after 2026-03-31 are not in the files (those invoices are still receivable).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mesh_orchestrator.devtools.generate import formats as fmt
from mesh_orchestrator.devtools.generate.base import Context, rng_for
from mesh_orchestrator.devtools.generate.catalogue import Catalogue, catalogue
from mesh_orchestrator.devtools.generate.faults import FaultPlan
from mesh_orchestrator.devtools.generate.report import FeedReport
from mesh_orchestrator.devtools.generate.writers import FeedWriter

DOMAIN = "sales"
LINES_PER_SCALE = 5_000
DISTRIBUTOR_SHARE = 0.4
DAYS = 90  # 2026-01-01 .. 2026-03-31; 2026-01-01 is a Thursday
#: (id, share of distributor volume, probabilities of DISCOUNTS)
DISTRIBUTORS = (
    ("DIST-01", 0.5, (0.10, 0.05, 0.10, 0.25, 0.20, 0.20, 0.05, 0.05)),
    ("DIST-02", 0.3, (0.30, 0.10, 0.20, 0.20, 0.10, 0.10, 0.00, 0.00)),
    ("DIST-03", 0.2, (0.60, 0.10, 0.10, 0.10, 0.05, 0.05, 0.00, 0.00)),
)
DISCOUNTS = ("", "0.00", "2.50", "5.00", "7.50", "10.00", "12.50", "15.00")
CHANNELS = ("web", "mobile_app", "marketplace")
CHANNEL_WEIGHTS = (0.55, 0.35, 0.10)
WEB_DISCOUNTS = ("null", "5.00", "10.00", "15.00")
WEB_DISCOUNT_WEIGHTS = (0.75, 0.12, 0.09, 0.04)
WEB_QUANTITY_WEIGHTS = (0.70, 0.18, 0.07, 0.03, 0.02)
#: Shoppers by hour of day: quiet at night, peaks at lunch and in the evening.
HOURS = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.2, 3, 3.5, 4, 4.5, 5.5, 5, 4.2, 4, 4.2, 4.8, 5.8, 6.8, 7, 6, 4, 2]
)
DIST_LINES_PER_ORDER = 4.5  # 1 + Poisson(3.5)
WEB_LINES_PER_ORDER = 1 / 0.6  # geometric(0.6)
END = fmt.START + DAYS * fmt.DAY  # 2026-04-01 00:00:00: later payments are not written
PAYMENT_METHODS = ("card", "bank_transfer", "marketplace_payout")
CARD, BANK_TRANSFER, PAYOUT = range(3)
DISTRIBUTOR, WEB = range(2)  # invoice id prefixes DO- and WO-
SPLIT_SHARE = 0.25  # distributor invoices paid in two parts

DISTRIBUTOR_COLUMNS = (
    "order_id",
    "line_number",
    "order_date",
    "distributor_id",
    "customer_id",
    "sku",
    "quantity",
    "discount_pct",
)
WEB_COLUMNS = (
    "event_id",
    "event_time",
    "channel",
    "order_id",
    "line_number",
    "customer_id",
    "sku",
    "quantity",
    "discount_pct",
)
PAYMENT_COLUMNS = ("payment_id", "invoice_id", "paid_at", "amount", "method")


@dataclass
class _Payments:
    """Planned payments, collected week by week: invoice prefix and number, time, cents, method."""

    parts: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def add(
        self, prefix: int, number: np.ndarray, at: np.ndarray, cents: np.ndarray, method: np.ndarray
    ) -> None:
        self.parts.append((np.full(len(number), prefix, np.int8), number, at, cents, method.astype(np.int8)))


def generate_sales(ctx: Context) -> list[FeedReport]:
    payments = _Payments()
    return [
        _distributor_orders(ctx, payments),
        _web_order_events(ctx, payments),
        _customer_payments(ctx, payments),
    ]


def _hundredths(discounts: tuple[str, ...]) -> np.ndarray:
    """Discount percentages in hundredths of a percent; missing counts as 0 (as in dbt)."""
    return np.array([0 if d in ("", "null") else round(float(d) * 100) for d in discounts], dtype=np.int64)


def net_cents(
    cat: Catalogue, skus: np.ndarray, quantity: np.ndarray, pct_hundredths: np.ndarray
) -> np.ndarray:
    """Net amount of order lines in cents, exactly as ``int_order_lines_priced`` computes it:
    ``quantity * list_price - round(quantity * list_price * discount_pct * 0.01, 2)``."""
    gross = quantity.astype(np.int64) * cat.list_price_cents[skus - 1]
    discount = (gross * pct_hundredths + 5_000) // 10_000  # half away from zero (all positive)
    return gross - discount


def _totals(order: np.ndarray, net: np.ndarray, dropped: np.ndarray, orders: int) -> np.ndarray:
    """Invoice total per order in cents; lines replaced by a fault are not invoiced."""
    net = net.copy()
    net[dropped] = 0
    return np.bincount(order, weights=net, minlength=orders).round().astype(np.int64)


def weeks() -> list[tuple[int, int]]:
    """Day ranges [first, stop) of the calendar weeks (Monday to Sunday) in the period."""
    mondays = [d for d in range(1, DAYS) if (3 + d) % 7 == 0]
    edges = [0, *mondays, DAYS]
    return list(itertools.pairwise(edges))


def day_weights(weekday_factors: tuple[float, ...]) -> np.ndarray:
    """Share of the period's volume per day: weekday pattern times a slow upward trend."""
    days = np.arange(DAYS)
    weights = np.array(weekday_factors)[(3 + days) % 7] * (1 + 0.15 * days / DAYS)
    return weights / weights.sum()


def _iso(day: int) -> str:
    return str(np.datetime64("2026-01-01") + day)


def _skus(rng: np.random.Generator, cat: Catalogue, n: int) -> np.ndarray:
    return rng.choice(cat.numbers, size=n, p=cat.popularity)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order index and 1-based line number of every line, given each order's line count."""
    order = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return order, np.arange(len(order)) - starts[order] + 1


def _distributor_orders(ctx: Context, payments: _Payments) -> FeedReport:
    cat = catalogue(ctx.seed, ctx.scale)
    plan = FaultPlan(
        "csv",
        ("order_id", "line_number"),
        {
            "quantity": ("abc", "ten", "1O"),
            "order_date": ("2026-13-45", "31/01/2026"),
            "line_number": ("one",),
            "discount_pct": ("ten", "5%"),
        },
        sku_column="sku",
    )
    writer = FeedWriter(ctx, DOMAIN, "distributor_orders", DISTRIBUTOR_COLUMNS, plan)
    expected = (
        LINES_PER_SCALE * ctx.scale * DISTRIBUTOR_SHARE * day_weights((1.0, 1.0, 1.0, 1.0, 1.1, 0.25, 0.0))
    )
    retailers = min(150 + 50 * ctx.scale, 99_999)
    next_order = 1
    for week, (first, stop) in enumerate(weeks()):
        rng = rng_for(ctx.seed, DOMAIN, "distributor_orders", week)
        shares = np.array([d[1] for d in DISTRIBUTORS])
        # Orders per (day, distributor), in that order: order ids follow the calendar.
        lam = np.outer(expected[first:stop], shares) / DIST_LINES_PER_ORDER
        per_cell = rng.poisson(lam).ravel()
        cells = np.repeat(np.arange(len(per_cell)), per_cell)
        day, dist = first + cells // len(DISTRIBUTORS), cells % len(DISTRIBUTORS)
        orders = len(cells)
        customer = rng.integers(1, retailers + 1, orders)
        discount = np.empty(orders, dtype=np.int64)
        for d, (_, _, probs) in enumerate(DISTRIBUTORS):
            mask = dist == d
            discount[mask] = rng.choice(len(DISCOUNTS), size=int(mask.sum()), p=probs)
        order, line = _expand(1 + np.minimum(rng.poisson(3.5, orders), 19))
        n = len(order)
        rows = np.argsort(dist[order], kind="stable")  # files are per distributor
        order, line = order[rows], line[rows]
        file_day = _iso(first + 7 - (3 + first) % 7)  # delivered the Monday after
        skus = _skus(rng, cat, n)
        quantity = np.minimum(rng.geometric(0.08, n), 50)
        columns = [
            fmt.ids("DO-", next_order + order, 7),
            fmt.integers(line),
            fmt.dates(fmt.START + day[order] * fmt.DAY),
            fmt.pick([d[0] for d in DISTRIBUTORS], dist[order]),
            fmt.ids("C-", customer[order], 6),
            fmt.ids("SKU-", skus, 5),
            fmt.integers(quantity),
            fmt.pick(DISCOUNTS, discount[order]),
        ]
        names = [f"distributor_{d[0]}_{file_day}.csv" for d in DISTRIBUTORS]
        dropped = writer.write(columns, dist[order], names)
        net = net_cents(cat, skus, quantity, _hundredths(DISCOUNTS)[discount[order]])
        total = _totals(order, net, dropped, orders)
        # Bank transfers 20-45 days after the order date in office hours, some in two parts.
        pay = rng_for(ctx.seed, DOMAIN, "customer_payments", "distributor_orders", week)
        at = (
            fmt.START
            + (day + pay.integers(20, 46, orders)) * fmt.DAY
            + pay.integers(8 * 3600, 18 * 3600, orders)
        )
        split = pay.random(orders) < SPLIT_SHARE
        share = pay.integers(300, 701, orders)  # per mille of the total paid first
        later = at + pay.integers(5, 21, orders) * fmt.DAY + pay.integers(-3600, 3600, orders)
        number = next_order + np.arange(orders)
        first_part = np.where(split, total * share // 1000, total)
        payments.add(DISTRIBUTOR, number, at, first_part, np.full(orders, BANK_TRANSFER))
        payments.add(
            DISTRIBUTOR,
            number[split],
            later[split],
            (total - first_part)[split],
            np.full(int(split.sum()), BANK_TRANSFER),
        )
        next_order += orders
    return writer.finish()


def _web_order_events(ctx: Context, payments: _Payments) -> FeedReport:
    cat = catalogue(ctx.seed, ctx.scale)
    plan = FaultPlan(
        "jsonl",
        ("event_id",),
        {
            "quantity": ("abc", "two"),
            "event_time": ("2026-13-45T10:00:00Z", "not a time"),
            "line_number": ("first",),
            "discount_pct": ("10%",),
        },
        sku_column="sku",
    )
    writer = FeedWriter(ctx, DOMAIN, "web_order_events", WEB_COLUMNS, plan)
    expected = (
        LINES_PER_SCALE
        * ctx.scale
        * (1 - DISTRIBUTOR_SHARE)
        * day_weights((0.9, 0.9, 0.95, 1.0, 1.05, 1.25, 1.3))
    )
    shoppers = min(1_000 * ctx.scale, 899_999)
    hours = HOURS / HOURS.sum()
    next_order = 1
    for week, (first, stop) in enumerate(weeks()):
        rng = rng_for(ctx.seed, DOMAIN, "web_order_events", week)
        per_day = rng.poisson(expected[first:stop] / WEB_LINES_PER_ORDER)
        orders = int(per_day.sum())
        day = first + np.repeat(np.arange(stop - first), per_day)
        start = np.minimum(
            rng.choice(24, size=orders, p=hours) * 3600 + rng.integers(0, 3600, orders), fmt.DAY - 60
        )
        by_time = np.lexsort((start, day))  # order ids follow the clock
        day, start = day[by_time], start[by_time]
        counts = np.minimum(rng.geometric(0.6, orders), 8)
        order, line = _expand(counts)
        n = len(order)
        step = rng.integers(300, 4_000, n)  # milliseconds between two lines of a basket
        before = np.cumsum(step) - step
        clock = ((day * fmt.DAY + start) * 1000 + rng.integers(0, 1000, orders))[order] + (
            before - before[(np.cumsum(counts) - counts)[order]]
        )  # ms since the period start
        checkout = clock[np.cumsum(counts) - 1] // 1000  # seconds since the period start
        rows = np.argsort(clock, kind="stable")  # by event time, then order and line
        order, line, clock = order[rows], line[rows], clock[rows]
        event_ids = fmt.uuids(rng, n, quote=True)
        channel = rng.choice(3, orders, p=CHANNEL_WEIGHTS)
        customer = 100_000 + rng.integers(0, shoppers, orders)
        skus = _skus(rng, cat, n)
        quantity = rng.choice(5, n, p=WEB_QUANTITY_WEIGHTS) + 1
        discount = rng.choice(4, orders, p=WEB_DISCOUNT_WEIGHTS)
        columns = [
            event_ids,
            fmt.timestamps(fmt.START + clock // 1000, sep=b"T", millis=clock % 1000, suffix=b"Z", quote=True),
            fmt.pick([f'"{c}"' for c in CHANNELS], channel[order]),
            fmt.ids("WO-", next_order + order, 7, quote=True),
            fmt.integers(line),
            fmt.ids("C-", customer[order], 6, quote=True),
            fmt.ids("SKU-", skus, 5, quote=True),
            fmt.integers(quantity),
            fmt.pick(WEB_DISCOUNTS, discount[order]),
        ]
        names = [f"web_order_events_{_iso(d)}.jsonl" for d in range(first, stop)]
        dropped = writer.write(columns, day[order] - first, names)
        net = net_cents(cat, skus, quantity, _hundredths(WEB_DISCOUNTS)[discount[order]])
        total = _totals(order, net, dropped, orders)
        # Card payments at checkout; marketplace payouts 7-14 days later, early in the morning.
        pay = rng_for(ctx.seed, DOMAIN, "customer_payments", "web_order_events", week)
        card_at = fmt.START + checkout + pay.integers(2, 30, orders)
        payout_day = (checkout // fmt.DAY) + pay.integers(7, 15, orders)
        payout_at = fmt.START + payout_day * fmt.DAY + pay.integers(2 * 3600, 5 * 3600, orders)
        marketplace = channel == CHANNELS.index("marketplace")
        payments.add(
            WEB,
            next_order + np.arange(orders),
            np.where(marketplace, payout_at, card_at),
            total,
            np.where(marketplace, PAYOUT, CARD),
        )
        next_order += orders
    return writer.finish()


def _customer_payments(ctx: Context, payments: _Payments) -> FeedReport:
    """Payments settled by 2026-03-31, by time; one file per month."""
    plan = FaultPlan(
        "csv",
        ("payment_id",),
        {
            "amount": ("n/a", "12.5.0"),
            "paid_at": ("2026-02-30 10:00:00", "yesterday"),
            "method": ("cash", "paypal"),
        },
        unknown_refs={"invoice_id": "DO-99", "payment_id": "CP-99"},
    )
    writer = FeedWriter(ctx, DOMAIN, "customer_payments", PAYMENT_COLUMNS, plan)
    prefix, number, at, cents, method = (np.concatenate(a) for a in zip(*payments.parts, strict=True))
    payments.parts.clear()
    settled = at < END
    prefix, number, at, cents, method = (a[settled] for a in (prefix, number, at, cents, method))
    order = np.lexsort((number, prefix, at))
    prefix, number, at, cents, method = (a[order] for a in (prefix, number, at, cents, method))
    # Ids are given before invoices that a fault left without a priced line are left out, so
    # faults do not renumber the clean payments.
    ids = np.arange(1, len(at) + 1)
    paid = cents > 0
    ids, prefix, number, at, cents, method = (a[paid] for a in (ids, prefix, number, at, cents, method))
    bounds = np.searchsorted(at, [fmt.START + d * fmt.DAY for d in (0, 31, 59, 90)])
    for month, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        web = pa.array(prefix[lo:hi] == WEB)
        columns = [
            fmt.ids("CP-", ids[lo:hi], 8),
            pc.if_else(web, fmt.ids("WO-", number[lo:hi], 7), fmt.ids("DO-", number[lo:hi], 7)),
            fmt.timestamps(at[lo:hi]),
            fmt.decimals(cents[lo:hi]),
            fmt.pick(PAYMENT_METHODS, method[lo:hi]),
        ]
        writer.write(columns, np.zeros(hi - lo, dtype=np.int64), [f"customer_payments_2026-0{month + 1}.csv"])
    return writer.finish()
