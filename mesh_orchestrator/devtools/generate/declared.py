"""Sample data for a domain that has no generator module: read from the feeds its spec declares.

So a new domain gets landing files without writing Python. Each feed (one shape, CSV or JSON
lines, not partitioned) gets one file of ``ROWS_PER_SCALE * scale`` rows, seeded by the domain and
feed names: the key columns count up (``<FEED>-000001``, 1, 2, ... or consecutive days), a column
with ``allowed`` values draws from them, and every other column draws a plausible value of its
type. Values do not relate across feeds or domains; a domain that needs that writes a module of
its own (see :data:`mesh_orchestrator.devtools.generate.GENERATORS`). Faults are injected as for
every feed (duplicates, malformed lines, missing keys, bad types).
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from mesh_orchestrator.core.spec import ColumnSpec, DomainSpec, FeedSpec
from mesh_orchestrator.devtools.generate.base import Context, rng_for
from mesh_orchestrator.devtools.generate.faults import FaultPlan
from mesh_orchestrator.devtools.generate.report import FeedReport
from mesh_orchestrator.devtools.generate.writers import FeedWriter, csv_text

ROWS_PER_SCALE = 50
FIRST_DAY = date(2026, 1, 1)
DAYS = 90
_DECIMAL = re.compile(r"^DECIMAL\((\d+),(\d+)\)$")
#: A text each typed column cannot parse (the bad-type fault).
_BAD = {"INTEGER": "twelve", "BIGINT": "twelve", "DOUBLE": "1,5", "BOOLEAN": "maybe", "DATE": "31/02/2026"}


def _unsupported(spec: DomainSpec, feed: FeedSpec) -> str | None:
    if feed.is_mapped:
        return "it has senders of their own shapes (sources:)"
    if feed.partitioned_by is not None:
        return "it is partitioned by day"
    if feed.format not in ("csv", "jsonl"):
        return f"its format is {feed.format}"
    return None


def _key_values(column: ColumnSpec, n: int, feed: str) -> list[object]:
    if column.type in ("INTEGER", "BIGINT"):
        return list(range(1, n + 1))
    if column.type == "DATE":
        return [(FIRST_DAY + timedelta(days=i)).isoformat() for i in range(n)]
    return [f"{feed.upper().replace('_', '-')}-{i:06d}" for i in range(1, n + 1)]


def _values(column: ColumnSpec, n: int, rng: np.random.Generator) -> list[object]:
    kind = column.type
    if column.allowed:
        return [column.allowed[i] for i in rng.integers(0, len(column.allowed), n)]
    if kind in ("INTEGER", "BIGINT"):
        return [int(v) for v in rng.integers(1, 100, n)]
    if kind == "DOUBLE":
        return [round(float(v), 3) for v in rng.uniform(0, 100, n)]
    if kind == "BOOLEAN":
        return [bool(v) for v in rng.integers(0, 2, n)]
    days = [FIRST_DAY + timedelta(days=int(d)) for d in rng.integers(0, DAYS, n)]
    if kind == "DATE":
        return [d.isoformat() for d in days]
    if kind.startswith("TIMESTAMP"):
        zone = "Z" if kind == "TIMESTAMPTZ" else ""
        minutes = rng.integers(0, 24 * 60, n)
        return [
            f"{d.isoformat()}T{m // 60:02d}:{m % 60:02d}:00{zone}" for d, m in zip(days, minutes, strict=True)
        ]
    decimal = _DECIMAL.match(kind)
    if decimal:
        precision, scale = int(decimal.group(1)), int(decimal.group(2))
        top = min(1000.0, 10.0 ** (precision - scale) - 1)
        return [f"{v:.{scale}f}" for v in rng.uniform(1, top, n)]
    if column.pii:
        return [f"person{int(v):05d}@example.com" for v in rng.integers(0, 100_000, n)]
    return [f"{column.name.replace('_', ' ')} {int(v)}" for v in rng.integers(1, 1000, n)]


def _cells(fmt: str, values: list[object]) -> pa.Array:
    if fmt == "jsonl":
        return pa.array([json.dumps(v) for v in values], pa.string())
    texts = ["true" if v is True else "false" if v is False else str(v) for v in values]
    return pa.array(csv_text(texts), pa.string())


def generate_feed(ctx: Context, domain: str, feed: FeedSpec) -> FeedReport:
    """One landing file of ``feed`` from its declaration."""
    rows = ROWS_PER_SCALE * ctx.scale
    rng = rng_for(ctx.seed, domain, feed.name)
    values = {
        c.name: _key_values(c, rows, feed.name) if c.name in feed.key else _values(c, rows, rng)
        for c in feed.columns
    }
    typed = [c for c in feed.columns if c.name not in feed.key and (c.allowed or c.type in _BAD)]
    bad = {typed[0].name: ("not-allowed" if typed[0].allowed else _BAD[typed[0].type],)} if typed else {}
    plan = FaultPlan(feed.format, feed.key, bad_values=bad)
    writer = FeedWriter(ctx, domain, feed.name, list(values), plan)
    columns = [_cells(feed.format, column) for column in values.values()]
    writer.write(columns, np.zeros(rows, dtype=np.int64), [f"{feed.name}-0001.{feed.format}"])
    return writer.finish()


def generate_declared(ctx: Context, spec: DomainSpec) -> list[FeedReport]:
    """Every feed of ``spec``, from its declaration; a feed it cannot generate is a clear error."""
    for feed in spec.feeds:
        why = _unsupported(spec, feed)
        if why:
            raise ValueError(
                f"{spec.name}/{feed.name}: the generator cannot write sample data from the declaration "
                f"because {why}; add a generator module for {spec.name} "
                "(mesh_orchestrator/devtools/generate/) or drop files into its landing folder"
            )
    return [generate_feed(ctx, spec.name, feed) for feed in spec.feeds]
