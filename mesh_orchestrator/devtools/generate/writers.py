"""Turning token columns into CSV / JSON Lines files, with faults mixed in.

Rows arrive as Arrow string columns of *tokens* (the exact text of each field: CSV cells, or
JSON values with their quotes). Lines are joined by Arrow in one pass and each file is written
straight from the Arrow buffer, via a ``.part`` file renamed at the end so that landing never
picks up a half-written file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mesh_orchestrator.devtools.generate.base import Context, rng_for
from mesh_orchestrator.devtools.generate.faults import UNKNOWN_REFERENCE, FaultPlan, inject
from mesh_orchestrator.devtools.generate.report import FeedReport

CARRY_LINES = 64


def render(fmt: str, names: Sequence[str], columns: Sequence[pa.Array], delimiter: str = ",") -> pa.Array:
    """One line per row, newline included; JSON objects keep the column order of ``names``."""
    pieces: list[pa.Array | str] = []
    for i, (name, column) in enumerate(zip(names, columns, strict=True)):
        if fmt == "jsonl":
            pieces.append(("{" if i == 0 else ", ") + f'"{name}": ')
        elif i:
            pieces.append(delimiter)
        pieces.append(column)
    pieces.append("}\n" if fmt == "jsonl" else "\n")
    lines = pc.binary_join_element_wise(*pieces, "")
    if lines.null_count:
        raise ValueError("a generated column contains nulls; use an empty or null token instead")
    return lines


def csv_text(values: Sequence[str]) -> list[str]:
    """Free text as CSV cells, quoted only when needed (small dimension tables only)."""
    return [f'"{v.replace(chr(34), chr(34) * 2)}"' if any(c in v for c in ',"\r\n') else v for v in values]


class FeedWriter:
    """Writes one feed chunk by chunk, injecting faults, and counts what it wrote."""

    def __init__(self, ctx: Context, domain: str, feed: str, names: Sequence[str], plan: FaultPlan) -> None:
        self.ctx = ctx
        self.names = list(names)
        self.plan = plan
        self.folder = ctx.landing(domain, feed)
        self.report = FeedReport(domain, feed)
        # Faults draw from their own stream so the clean rows do not depend on the fault rate.
        self.rng = rng_for(ctx.seed, domain, feed, "faults")
        self.carry: list[str] = []
        self.serial = 0  # unknown references written so far

    def write(self, columns: Sequence[pa.Array], files: np.ndarray, file_names: Sequence[str]) -> np.ndarray:
        """Write one chunk: rows sorted by file (``files`` = index into ``file_names``).

        Returns the chunk's rows that were replaced by a faulty line (unknown SKUs), which
        downstream figures must leave out; empty without faults.
        """
        lines = render(self.plan.fmt, self.names, columns, self.plan.delimiter)
        files = np.asarray(files, dtype=np.int64)
        dropped = np.zeros(0, dtype=np.int64)
        if self.ctx.faults > 0:
            lines, files, dropped = self._with_faults(columns, lines, files, len(file_names))
        bounds = np.searchsorted(files, np.arange(len(file_names) + 1))
        if len(lines):
            offsets = np.frombuffer(lines.buffers()[1], np.int32, len(lines) + 1, lines.offset * 4)
            data = memoryview(lines.buffers()[2])
        else:
            offsets, data = np.zeros(1, dtype=np.int32), memoryview(b"")
        header = (self.plan.delimiter.join(self.names) + "\n").encode() if self.plan.fmt == "csv" else b""
        for i, name in enumerate(file_names):
            start, stop = offsets[bounds[i]], offsets[bounds[i + 1]]
            write_file(self.folder / name, header, data[start:stop])
            self.report.files += 1
        self.report.rows += len(lines)
        return dropped

    def _with_faults(
        self, columns: Sequence[pa.Array], lines: pa.Array, files: np.ndarray, n_files: int
    ) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        first = self.report.files == 0
        found = inject(
            self.rng,
            self.plan,
            self.ctx.faults,
            self.names,
            columns,
            lines,
            files,
            n_files,
            self.carry,
            first,
            self.serial,
        )
        self.serial += found.counts[UNKNOWN_REFERENCE]
        self.report.faults.update(found.counts)
        if len(lines):
            sample = self.rng.integers(0, len(lines), min(CARRY_LINES, len(lines)))
            self.carry = lines.take(pa.array(sample)).to_pylist()
        dropped = np.asarray(found.dropped, dtype=np.int64)
        if not found.lines:
            return lines, files, dropped
        every = pa.concat_arrays([lines, pa.array(found.lines, pa.string())])
        all_files = np.concatenate([files, np.asarray(found.files, dtype=np.int64)])
        positions = np.concatenate([np.arange(len(lines), dtype=np.float64), found.positions])
        keep = np.ones(len(every), dtype=bool)
        keep[found.dropped] = False
        kept = np.flatnonzero(keep)
        order = kept[np.lexsort((positions[kept], all_files[kept]))]
        return every.take(pa.array(order)), all_files[order], dropped

    def finish(self) -> FeedReport:
        self.ctx.say(self.report.line())
        return self.report


def write_file(path: Path, header: bytes, body: memoryview | bytes) -> None:
    """Write ``header`` and ``body`` via a ``.part`` file, renamed when complete."""
    partial = path.with_name(path.name + ".part")
    with partial.open("wb") as handle:
        handle.write(header)
        handle.write(body)
    os.replace(partial, path)


def write_reference_table(
    ctx: Context,
    domain: str,
    feed: str,
    names: Sequence[str],
    key: tuple[str, ...],
    rows: Sequence[Sequence[object]],
) -> FeedReport:
    """A small fixed table (departments, suppliers, accounts) as ``<feed>.csv``.

    Master data comes clean; the only fault it gets is being sent twice.
    """
    plan = FaultPlan("csv", key, only_duplicates=True, max_faults=1)
    writer = FeedWriter(ctx, domain, feed, names, plan)
    columns = [pa.array(csv_text([str(row[i]) for row in rows])) for i in range(len(names))]
    writer.write(columns, np.zeros(len(rows), dtype=np.int64), [f"{feed}.csv"])
    return writer.finish()
