"""Sales: weekly distributor CSV batches and daily web order-line events (JSON Lines).

Volume is about 5,000 order lines per unit of scale over January-March 2026, 40% from three
distributors and 60% from the web shop, app and marketplace. Every SKU comes from the shared
:func:`catalogue`, so all sales lines can be priced (unless a fault says otherwise).
Rows are generated one week at a time to keep memory flat at large scales.
"""

from __future__ import annotations

import itertools

import numpy as np

from mesh_orchestrator.generate import formats as fmt
from mesh_orchestrator.generate.base import Context, rng_for
from mesh_orchestrator.generate.catalogue import Catalogue, catalogue
from mesh_orchestrator.generate.faults import FaultPlan
from mesh_orchestrator.generate.report import FeedReport
from mesh_orchestrator.generate.writers import FeedWriter

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


def generate_sales(ctx: Context) -> list[FeedReport]:
    return [_distributor_orders(ctx), _web_order_events(ctx)]


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


def _distributor_orders(ctx: Context) -> FeedReport:
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
        columns = [
            fmt.ids("DO-", next_order + order, 7),
            fmt.integers(line),
            fmt.dates(fmt.START + day[order] * fmt.DAY),
            fmt.pick([d[0] for d in DISTRIBUTORS], dist[order]),
            fmt.ids("C-", customer[order], 6),
            fmt.ids("SKU-", _skus(rng, cat, n), 5),
            fmt.integers(np.minimum(rng.geometric(0.08, n), 50)),
            fmt.pick(DISCOUNTS, discount[order]),
        ]
        names = [f"distributor_{d[0]}_{file_day}.csv" for d in DISTRIBUTORS]
        writer.write(columns, dist[order], names)
        next_order += orders
    return writer.finish()


def _web_order_events(ctx: Context) -> FeedReport:
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
        rows = np.argsort(clock, kind="stable")  # by event time, then order and line
        order, line, clock = order[rows], line[rows], clock[rows]
        columns = [
            fmt.uuids(rng, n, quote=True),
            fmt.timestamps(fmt.START + clock // 1000, sep=b"T", millis=clock % 1000, suffix=b"Z", quote=True),
            fmt.pick([f'"{c}"' for c in CHANNELS], rng.choice(3, orders, p=CHANNEL_WEIGHTS)[order]),
            fmt.ids("WO-", next_order + order, 7, quote=True),
            fmt.integers(line),
            fmt.ids("C-", 100_000 + rng.integers(0, shoppers, orders)[order], 6, quote=True),
            fmt.ids("SKU-", _skus(rng, cat, n), 5, quote=True),
            fmt.integers(rng.choice(5, n, p=WEB_QUANTITY_WEIGHTS) + 1),
            fmt.pick(WEB_DISCOUNTS, rng.choice(4, orders, p=WEB_DISCOUNT_WEIGHTS)[order]),
        ]
        names = [f"web_order_events_{_iso(d)}.jsonl" for d in range(first, stop)]
        writer.write(columns, day[order] - first, names)
        next_order += orders
    return writer.finish()
