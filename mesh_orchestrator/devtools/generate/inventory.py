"""Inventory: the item master, four warehouses and three months of stock movements.

Stock movements keep the running quantity on hand of every (SKU, warehouse) at zero or more:
each pair opens with a receipt large enough to cover every later issue and adjustment, which is
what the ``stock_levels`` contract (quantity_on_hand >= 0) relies on.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mesh_orchestrator.devtools.generate import formats as fmt
from mesh_orchestrator.devtools.generate.base import Context, rng_for
from mesh_orchestrator.devtools.generate.catalogue import catalogue
from mesh_orchestrator.devtools.generate.faults import FaultPlan
from mesh_orchestrator.devtools.generate.report import FeedReport
from mesh_orchestrator.devtools.generate.writers import FeedWriter, csv_text, write_reference_table

DOMAIN = "inventory"
MOVEMENTS_PER_SCALE = 4_000
MONTHS = ("2026-01", "2026-02", "2026-03")
MONTH_STARTS = [fmt.START + d * fmt.DAY for d in (0, 31, 59, 90)]
WAREHOUSES = (
    ("WH-01", "Rotterdam Central DC", "Rotterdam", "NL"),
    ("WH-02", "Hamburg North", "Hamburg", "DE"),
    ("WH-03", "Lyon South", "Lyon", "FR"),
    ("WH-04", "Milan Logistics Park", "Milan", "IT"),
)
MOVEMENT_TYPES = ("receipt", "issue", "adjustment")
ADJUSTMENT_REASONS = ("cycle count", "damaged", "found in recount", "")

ITEM_COLUMNS = (
    "sku",
    "item_name",
    "category",
    "unit_of_measure",
    "unit_cost",
    "list_price",
    "currency",
    "updated_at",
)
WAREHOUSE_COLUMNS = ("warehouse_id", "warehouse_name", "city", "country_code")
MOVEMENT_COLUMNS = (
    "movement_id",
    "sku",
    "warehouse_id",
    "movement_type",
    "quantity",
    "moved_at",
    "reference",
)


def generate_inventory(ctx: Context) -> list[FeedReport]:
    return [_items(ctx), _warehouses(ctx), _stock_movements(ctx)]


def _items(ctx: Context) -> FeedReport:
    cat = catalogue(ctx.seed, ctx.scale)
    plan = FaultPlan(
        "csv",
        ("sku",),
        {
            "unit_cost": ("twelve", "n/a", "12.5.0"),
            "list_price": ("twelve", "€9.99"),
            "updated_at": ("2026-13-45 00:00:00", "yesterday"),
        },
    )
    writer = FeedWriter(ctx, DOMAIN, "items", ITEM_COLUMNS, plan)
    n = len(cat)
    columns = [
        fmt.ids("SKU-", cat.numbers, 5),
        pa.array(csv_text(cat.names)),
        pa.array(cat.categories),
        pa.array(cat.units),
        fmt.decimals(cat.unit_cost_cents),
        fmt.decimals(cat.list_price_cents),
        pa.array(["EUR"] * n),
        fmt.timestamps(cat.updated_at),
    ]
    writer.write(columns, np.zeros(n, dtype=np.int64), ["items.csv"])
    return writer.finish()


def _warehouses(ctx: Context) -> FeedReport:
    rows = [row[:4] for row in WAREHOUSES]
    return write_reference_table(ctx, DOMAIN, "warehouses", WAREHOUSE_COLUMNS, ("warehouse_id",), rows)


#: Cost value of the opening stock per (seed, scale), kept when the movements are generated.
_OPENING_VALUE: dict[tuple[int, int], int] = {}


def opening_stock_cents(seed: int, scale: int) -> int:
    """Value at unit cost, in cents, of the stock on hand when the period opens (the opening
    receipts of every SKU and warehouse), from the same plan as the stock movements."""
    key = (seed, scale)
    if key not in _OPENING_VALUE:
        moves = _movements(rng_for(seed, DOMAIN, "stock_movements"), seed, scale)
        _OPENING_VALUE[key] = _opening_value(moves, seed, scale)
    return _OPENING_VALUE[key]


def _opening_value(moves: dict[str, np.ndarray], seed: int, scale: int) -> int:
    opening = moves["opening"]
    cost = catalogue(seed, scale).unit_cost_cents[moves["item"][opening]]
    return int((moves["quantity"][opening] * cost).sum())


def _stock_movements(ctx: Context) -> FeedReport:
    rng = rng_for(ctx.seed, DOMAIN, "stock_movements")
    moves = _movements(rng, ctx.seed, ctx.scale)
    _OPENING_VALUE.setdefault((ctx.seed, ctx.scale), _opening_value(moves, ctx.seed, ctx.scale))
    plan = FaultPlan(
        "csv",
        ("movement_id",),
        {
            "quantity": ("abc", "1O", "-"),
            "moved_at": ("2026-13-45 10:00:00", "31/01/2026 10:00"),
        },
    )
    writer = FeedWriter(ctx, DOMAIN, "stock_movements", MOVEMENT_COLUMNS, plan)
    bounds = np.searchsorted(moves["time"], MONTH_STARTS)
    for month, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        part = {k: v[lo:hi] for k, v in moves.items()}
        columns = [
            fmt.ids("MV-", np.arange(lo + 1, hi + 1), 8),
            fmt.ids("SKU-", part["item"] + 1, 5),
            fmt.pick([w[0] for w in WAREHOUSES], part["warehouse"]),
            fmt.pick(MOVEMENT_TYPES, part["type"]),
            fmt.integers(part["quantity"]),
            fmt.timestamps(part["time"]),
            _references(rng, part),
        ]
        writer.write(columns, np.zeros(hi - lo, dtype=np.int64), [f"stock_movements_{MONTHS[month]}.csv"])
    return writer.finish()


def _movements(rng: np.random.Generator, seed: int, scale: int) -> dict[str, np.ndarray]:
    """All movements as numeric arrays, sorted by time (then pair, then order within the pair)."""
    cat = catalogue(seed, scale)
    stocked = rng.random((len(cat), len(WAREHOUSES))) < 0.7
    stocked[np.arange(len(cat)), rng.integers(0, len(WAREHOUSES), len(cat))] = True
    pair_item, pair_wh = np.nonzero(stocked)
    pairs = len(pair_item)
    # Movements other than the opening receipts, on busy items more often.
    k = max(MOVEMENTS_PER_SCALE * scale - pairs, 0)
    weights = cat.popularity[pair_item]
    pair = np.concatenate([np.arange(pairs), rng.choice(pairs, size=k, p=weights / weights.sum())])
    kind = np.concatenate(
        [np.zeros(pairs, np.int8), rng.choice(3, size=k, p=[0.2, 0.7, 0.1]).astype(np.int8)]
    )
    day = np.concatenate([np.zeros(pairs, np.int64), rng.integers(1, 90, k)])
    hours = np.concatenate([rng.integers(6 * 3600, 9 * 3600, pairs), rng.integers(6 * 3600, 22 * 3600, k)])
    time = fmt.START + day * fmt.DAY + hours
    quantity = np.select(
        [kind == 0, kind == 1],
        [rng.integers(2, 21, len(pair)) * 10, -np.minimum(rng.geometric(0.15, len(pair)), 60)],
        (rng.integers(1, 4, len(pair)) * rng.choice([-1, 1], len(pair))),
    )
    opening = np.arange(len(pair)) < pairs
    # Per pair in time order (opening first), raise the opening receipt to cover the deepest dip.
    since = time - fmt.START  # < 2**23 seconds
    order = np.argsort((pair << 24 | since) << 1 | ~opening, kind="stable")
    pair, kind, time, quantity, opening = (a[order] for a in (pair, kind, time, quantity, opening))
    running = np.cumsum(np.where(opening, 0, quantity)).astype(np.int64)
    starts = np.flatnonzero(opening)
    running -= np.repeat(running[starts], np.diff(np.append(starts, len(pair))))
    deficit = 0 - np.minimum.reduceat(running, starts)
    quantity[starts] = -(-(quantity[starts] + deficit) // 10) * 10
    # By time; ties keep the per-pair order above, so running totals read the same in the file.
    final = np.argsort(time, kind="stable")
    return {
        "time": time[final],
        "item": pair_item[pair[final]],
        "warehouse": pair_wh[pair[final]],
        "type": kind[final],
        "quantity": quantity[final],
        "opening": opening[final],
    }


def _references(rng: np.random.Generator, part: dict[str, np.ndarray]) -> pa.Array:
    """Source document of each movement: purchase order, pick list or adjustment reason."""
    n = len(part["type"])
    kind = part["type"]
    po = fmt.ids("PO-", rng.integers(1, 1_000_000, n), 6)
    pick = fmt.ids("PICK-", rng.integers(1, 10_000_000, n), 7)
    reason = fmt.pick(ADJUSTMENT_REASONS, rng.integers(0, len(ADJUSTMENT_REASONS), n))
    return pc.if_else(
        pa.array(part["opening"]),
        "opening balance",
        pc.if_else(pa.array(kind == 0), po, pc.if_else(pa.array(kind == 1), pick, reason)),
    )
