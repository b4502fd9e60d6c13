"""Fault injection: the dirt real feeds carry, so landing, bronze and quarantine have work to do.

Faults are *added* lines (corrupted copies of real rows), except unknown SKUs, which replace a
row's SKU. So with any fault rate the rows that survive bronze are exactly the clean rows (minus
those with an unknown SKU, which only downstream joins can catch), and inventory's quantity on
hand never goes negative because of a lost receipt. Unknown references (a payslip of an employee
hr does not know, a payment for an invoice sales never issued) are added lines too: copies of a
real row whose reference columns get never-issued values, key included, so they replace nothing.

Line formats (CSV, JSON Lines) get every kind through :func:`inject`. Document formats (one JSON
document, XML, fixed-width lines) get record-level kinds through :func:`inject_records`; a
document that does not parse at all is the supplier's own business (see ``procurement``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

DUPLICATE = "duplicate"
MALFORMED = "malformed"
BAD_TYPE = "bad_type"
MISSING_KEY = "missing_key"
UNKNOWN_SKU = "unknown_sku"
UNKNOWN_COLUMN = "unknown_column"
UNKNOWN_REFERENCE = "unknown_reference"
KINDS = (DUPLICATE, MALFORMED, BAD_TYPE, MISSING_KEY, UNKNOWN_SKU, UNKNOWN_COLUMN, UNKNOWN_REFERENCE)
#: Formats written one record per line, where a line can be cut or get a field too many.
LINE_FORMATS = ("csv", "jsonl")

#: SKUs far above the catalogue's range (at most 20,000 items), so they never exist.
UNKNOWN_SKUS = tuple(f"SKU-9999{d}" for d in range(10))
EXTRA_KEY = ("coupon_code", "SPRING26")


@dataclass(frozen=True)
class FaultPlan:
    """Which faults a feed can get.

    ``bad_values`` maps a column to texts bronze must reject: unparseable for a typed column, or
    outside the ``allowed`` list of the spec (never a merely odd value of a free-text column, which
    would pass and replace the clean row with the same key). ``unknown_refs`` maps columns to
    prefixes of values that are never issued; an unknown-reference line gets ``prefix + serial``
    in each of them, so list the reference column and enough key columns to make the key new.
    ``delimiter`` is the CSV field separator.
    """

    fmt: str
    key: tuple[str, ...]
    bad_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sku_column: str | None = None
    only_duplicates: bool = False
    max_faults: int | None = None
    unknown_refs: Mapping[str, str] = field(default_factory=dict)
    delimiter: str = ","

    @property
    def kinds(self) -> tuple[str, ...]:
        """Row-rate fault kinds (the single unknown-column record of JSON feeds is extra)."""
        if self.only_duplicates:
            return (DUPLICATE,)
        kinds = [DUPLICATE, MALFORMED, MISSING_KEY] if self.fmt in LINE_FORMATS else [DUPLICATE, MISSING_KEY]
        if self.bad_values:
            kinds.append(BAD_TYPE)
        if self.sku_column:
            kinds.append(UNKNOWN_SKU)
        if self.unknown_refs:
            kinds.append(UNKNOWN_REFERENCE)
        return tuple(kinds)

    def token(self, text: str | None) -> str:
        """A raw value as it is written in this format (``None`` = missing)."""
        if self.fmt in ("jsonl", "json"):
            return "null" if text is None else json.dumps(text)
        return "" if text is None else text


def render_row(fmt: str, names: Sequence[str], tokens: Sequence[str], delimiter: str = ",") -> str:
    """One line, byte-identical to :func:`writers.render` for the same tokens."""
    if fmt == "jsonl":
        return "{" + ", ".join(f'"{n}": {t}' for n, t in zip(names, tokens, strict=True)) + "}\n"
    return delimiter.join(tokens) + "\n"


@dataclass
class Injection:
    """Extra lines with their target file and position, and original rows to drop."""

    lines: list[str] = field(default_factory=list)
    files: list[int] = field(default_factory=list)
    positions: list[float] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, line: str, file: int, position: float) -> None:
        self.lines.append(line)
        self.files.append(file)
        self.positions.append(position)
        self.counts[kind] += 1


def _counts(
    rng: np.random.Generator, plan: FaultPlan, rows: int, rate: float, ensure_each: bool
) -> dict[str, int]:
    """How many faults of each kind: about ``rate`` of the rows, optionally at least one each."""
    kinds = plan.kinds
    total = int(rng.binomial(rows, rate)) if rows else 0
    counts = rng.multinomial(total, [1 / len(kinds)] * len(kinds))
    if ensure_each and rows:
        counts = np.maximum(counts, 1)
    result = dict(zip(kinds, (int(c) for c in counts), strict=True))
    if plan.max_faults is not None:
        budget = plan.max_faults
        for kind in kinds:
            result[kind] = min(result[kind], budget)
            budget -= result[kind]
    return result


def inject(
    rng: np.random.Generator,
    plan: FaultPlan,
    rate: float,
    names: Sequence[str],
    columns: Sequence[pa.Array],
    lines: pa.Array,
    files: np.ndarray,
    n_files: int,
    carry: Sequence[str],
    first: bool,
    serial: int = 0,
) -> Injection:
    """Plan and build the faulty lines of one chunk of a feed (``rate`` > 0).

    ``columns`` hold the rows' tokens, ``lines`` the rendered rows and ``files`` each row's file
    number in the chunk; ``carry`` are lines of the previous chunk that may be re-sent.
    ``serial`` is the number of unknown references the feed got in earlier chunks.
    """
    out = Injection()
    n = len(files)
    if n == 0:
        return out
    counts = _counts(rng, plan, n, rate, ensure_each=first)
    # Exact duplicates, into any file of the chunk; some re-sent from the previous chunk.
    dups = counts.get(DUPLICATE, 0)
    resent = int(rng.binomial(dups, 0.2)) if carry else 0
    for i in rng.integers(0, len(carry), resent):
        out.add(DUPLICATE, carry[int(i)], 0, -1.0)
    sources = rng.integers(0, n, dups - resent)
    targets = rng.integers(0, n_files, len(sources))
    offsets = rng.uniform(0.01, 0.99, len(sources))
    copies = lines.take(pa.array(sources)).to_pylist()
    for line, src, target, offset in zip(copies, sources, targets, offsets, strict=True):
        out.add(DUPLICATE, line, int(target), src + offset)
    fix = _Fixer(plan, names)
    for kind, amount in counts.items():
        if kind == DUPLICATE or amount == 0:
            continue
        unique = kind == UNKNOWN_SKU
        sources = np.sort(rng.choice(n, size=min(amount, n), replace=not unique))
        picks = rng.integers(0, 1 << 30, size=(len(sources), 3))
        offsets = np.zeros(len(sources)) if unique else rng.uniform(0.01, 0.99, len(sources))
        rows = _rows(columns, sources)
        for tokens, src, pick, offset in zip(rows, sources, picks, offsets, strict=True):
            if kind == UNKNOWN_REFERENCE:
                serial += 1
            line = fix.corrupt(kind, tokens, pick, serial)
            out.add(kind, line, int(files[src]), src + offset)
        if unique:
            out.dropped.extend(int(s) for s in sources)
    if first and plan.fmt == "jsonl" and not plan.only_duplicates:
        src = int(rng.integers(0, n))
        tokens = [*_rows(columns, np.array([src]))[0], json.dumps(EXTRA_KEY[1])]
        out.add(
            UNKNOWN_COLUMN, render_row(plan.fmt, [*names, EXTRA_KEY[0]], tokens), int(files[src]), src + 0.5
        )
    return out


def inject_records(
    rng: np.random.Generator,
    plan: FaultPlan,
    rate: float,
    names: Sequence[str],
    columns: Sequence[pa.Array],
    first: bool = True,
    serial: int = 0,
) -> tuple[list[pa.Array], np.ndarray, Counter[str]]:
    """Faulty extra records for a document format, each placed right after the record it copies.

    Returns the token columns with the extra records in place, the index of the clean record each
    output record comes from (its own index for clean ones) and the faults added by kind. Each kind
    is there at least once when ``first`` (the feed's first file); ``serial`` is the number of
    unknown references in the feed's earlier files.
    """
    n = len(columns[0]) if columns else 0
    if n == 0:
        return list(columns), np.arange(n), Counter()
    counts = _counts(rng, plan, n, rate, ensure_each=first)
    fix = _Fixer(plan, names)
    extra: list[list[str]] = []
    sources: list[int] = []
    positions: list[float] = []
    found: Counter[str] = Counter()
    for kind, amount in counts.items():
        if amount == 0:
            continue
        picked = np.sort(rng.choice(n, size=amount))
        picks = rng.integers(0, 1 << 30, size=(amount, 3))
        offsets = rng.uniform(0.01, 0.99, amount)
        for tokens, src, pick, offset in zip(_rows(columns, picked), picked, picks, offsets, strict=True):
            if kind == UNKNOWN_REFERENCE:
                serial += 1
            if kind != DUPLICATE:
                fix.change(kind, tokens, pick, serial)
            extra.append(tokens)
            sources.append(int(src))
            positions.append(src + offset)
            found[kind] += 1
    order = np.argsort(np.concatenate([np.arange(n, dtype=np.float64), positions]), kind="stable")
    out = [
        pa.concat_arrays([col, pa.array([row[i] for row in extra], pa.string())]).take(pa.array(order))
        for i, col in enumerate(columns)
    ]
    origin = np.concatenate([np.arange(n), np.asarray(sources, dtype=np.int64)])[order]
    return out, origin, found


def _rows(columns: Sequence[pa.Array], index: np.ndarray) -> list[list[str]]:
    """Tokens of the selected rows, fetched column by column (fast for many rows)."""
    taken = [col.take(pa.array(index, pa.int64())).to_pylist() for col in columns]
    return [list(row) for row in zip(*taken, strict=True)]


class _Fixer:
    """Turns a clean row's tokens into a faulty one of a given kind."""

    def __init__(self, plan: FaultPlan, names: Sequence[str]) -> None:
        self.plan = plan
        self.names = list(names)
        self.key_cols = [self.names.index(k) for k in plan.key]
        self.bad_cols = [(self.names.index(c), values) for c, values in plan.bad_values.items()]
        self.ref_cols = [(self.names.index(c), prefix) for c, prefix in plan.unknown_refs.items()]

    def change(self, kind: str, tokens: list[str], pick: np.ndarray, serial: int) -> None:
        """Edit ``tokens`` in place; ``pick`` holds three random integers for choices."""
        a, b, _ = (int(x) for x in pick)
        plan = self.plan
        if kind == BAD_TYPE:
            col, values = self.bad_cols[a % len(self.bad_cols)]
            tokens[col] = plan.token(values[b % len(values)])
        elif kind == MISSING_KEY:
            tokens[self.key_cols[a % len(self.key_cols)]] = plan.token(None)
        elif kind == UNKNOWN_SKU:
            tokens[self.names.index(plan.sku_column or "sku")] = plan.token(UNKNOWN_SKUS[a % 10])
        elif kind == UNKNOWN_REFERENCE:
            for col, prefix in self.ref_cols:
                tokens[col] = plan.token(f"{prefix}{serial:06d}")

    def corrupt(self, kind: str, tokens: list[str], pick: np.ndarray, serial: int) -> str:
        """Render one corrupted copy of a row."""
        plan = self.plan
        self.change(kind, tokens, pick, serial)
        line = render_row(plan.fmt, self.names, tokens, plan.delimiter)
        if kind != MALFORMED:
            return line
        b, c = int(pick[1]), int(pick[2])
        body = line[:-1]
        if plan.fmt == "jsonl":  # cut off mid-record, as if the producer died while writing
            return body[: max(1, len(body) * (30 + c % 60) // 100)] + "\n"
        head, _, last = body.rpartition(plan.delimiter)
        if b % 2 or '"' in last:  # never cut inside a quoted cell: the quote would stay open
            return body + plan.delimiter + "unexpected\n"  # one field too many
        return head + "\n"  # one field too few
