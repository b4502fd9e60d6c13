"""The personal-data scan of a staged data product, run before its audit and publish.

A contract classifies the columns that may carry personal data as ``pii``; those must be masked (the
``mask_pii`` macro) and are not scanned. Every other text column is searched for values that look like
personal data (``quality/pii_patterns.yaml``), inside free text too, so an e-mail address that slipped
into a description or a mis-classified column stops at the hand-off instead of reaching consumers.

Counting is one pass over the file: one query, one ``count(*) FILTER`` per (column, pattern). Samples
are read only for what was found, and masked: the report says where personal data is, never what.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from mesh_orchestrator.core.contracts import Contract
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.sql import identifier, is_identifier, literal
from mesh_orchestrator.core.storage import in_memory

PATTERNS_PATH = REPO_ROOT / "quality" / "pii_patterns.yaml"
#: Masked samples kept per (column, pattern) with hits.
SAMPLES = 3
_FIELDS = ("id", "description", "regex")


@dataclass(frozen=True)
class PiiPattern:
    id: str
    description: str
    regex: str


@dataclass(frozen=True)
class Finding:
    """How many rows of one column match one pattern, with masked samples of the matched text."""

    column: str
    pattern: str
    rows: int
    samples: tuple[str, ...] = ()

    def describe(self) -> str:
        text = f"{self.column}: {self.pattern} in {self.rows:,} row{'' if self.rows == 1 else 's'}"
        return text + (f" (e.g. {', '.join(self.samples)})" if self.samples else "")


@dataclass(frozen=True)
class ScanResult:
    product_id: str
    rows: int
    #: Text columns searched, and text columns skipped because the contract classifies them pii.
    scanned: tuple[str, ...]
    skipped: tuple[str, ...]
    patterns: tuple[str, ...]
    #: One per (scanned column, pattern), hits or not.
    findings: tuple[Finding, ...]

    @property
    def success(self) -> bool:
        return not self.hits()

    def hits(self) -> list[Finding]:
        return [f for f in self.findings if f.rows]

    def failures(self) -> list[str]:
        return [f.describe() for f in self.hits()]


def mask(value: str) -> str:
    """Enough of a matched value to recognise its kind (``ja***``, ``NI***``), not the person."""
    return value[:2] + "***"


def any_pattern(patterns: tuple[PiiPattern, ...]) -> str:
    """One regex matching wherever any of ``patterns`` does."""
    return "|".join(f"(?:{p.regex})" for p in patterns)


def _entry(con: duckdb.DuckDBPyConnection, path: Path, raw: Any, where: str, seen: set[str]) -> PiiPattern:
    if not isinstance(raw, dict):
        raise SpecError(path, where, f"expected a mapping with {', '.join(_FIELDS)}")
    extra = sorted(set(raw) - set(_FIELDS))
    if extra:
        raise SpecError(path, f"{where}.{extra[0]}", f"unknown field; allowed: {', '.join(_FIELDS)}")
    for name in _FIELDS:
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise SpecError(path, f"{where}.{name}", "is required (a non-empty string)")
    pattern_id, regex = raw["id"], raw["regex"]
    if not is_identifier(pattern_id):
        raise SpecError(path, f"{where}.id", f"{pattern_id!r} must be snake_case")
    if pattern_id in seen:
        raise SpecError(path, f"{where}.id", f"{pattern_id!r} is used by an earlier pattern")
    try:
        (matches_empty,) = con.execute(f"SELECT regexp_matches('', {literal(regex)})").fetchall()[0]
    except duckdb.Error as exc:
        raise SpecError(
            path,
            f"{where}.regex",
            f"pattern {pattern_id!r} is not a valid RE2 regular expression (DuckDB's dialect: no "
            f"look-arounds or back-references): {exc}",
        ) from exc
    if matches_empty:
        raise SpecError(
            path, f"{where}.regex", f"pattern {pattern_id!r} matches the empty string, so every value"
        )
    seen.add(pattern_id)
    return PiiPattern(pattern_id, raw["description"].strip(), regex)


def load_patterns(path: Path = PATTERNS_PATH) -> tuple[PiiPattern, ...]:
    """The personal-data patterns; every error names ``path`` and the entry."""
    if not path.is_file():
        raise SpecError(path, "<file>", "the personal-data patterns of the hand-offs are missing")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(path, "<file>", f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("patterns"), list) or not data["patterns"]:
        raise SpecError(path, "patterns", "is required: a non-empty list of {id, description, regex}")
    seen: set[str] = set()
    with in_memory() as con:
        patterns = tuple(
            _entry(con, path, raw, f"patterns[{i}]", seen) for i, raw in enumerate(data["patterns"])
        )
        try:
            con.execute(f"SELECT regexp_matches('', {literal(any_pattern(patterns))})").fetchall()
        except duckdb.Error as exc:  # e.g. too big for RE2's memory budget
            raise SpecError(path, "patterns", f"the patterns together are not a valid regex: {exc}") from exc
    return patterns


def _count(column: str, pattern: PiiPattern, guard: str) -> str:
    """Rows of ``column`` matching ``pattern``, as an aggregate.

    The guard (``any_pattern``, the same expression for every pattern of a column) is evaluated once
    per value, and the pattern itself only on the rare values the guard matched: the same counts in
    about a quarter of the time of every pattern on every value.
    """
    col = identifier(column, "staged column")
    return (
        f"count(*) FILTER (WHERE CASE WHEN regexp_matches({col}, {literal(guard)}) "
        f"THEN regexp_matches({col}, {literal(pattern.regex)}) ELSE false END)"
    )


def _samples(con: duckdb.DuckDBPyConnection, source: str, column: str, regex: str) -> tuple[str, ...]:
    """Distinct masked samples of the text a pattern matched in a column (only run on hits)."""
    col, rx = identifier(column, "staged column"), literal(regex)
    matched = con.execute(
        f"SELECT regexp_extract({col}, {rx}) FROM {source} WHERE regexp_matches({col}, {rx}) LIMIT 100"
    ).fetchall()
    return tuple(dict.fromkeys(mask(value) for (value,) in matched))[:SAMPLES]


def scan_staged(
    paths: Sequence[str | Path], contract: Contract, patterns: tuple[PiiPattern, ...] | None = None
) -> ScanResult:
    """Search the staged snapshot's text columns not classified pii for every personal-data pattern.

    The columns come from the files, not the contract, so a column the contract does not declare is
    scanned too (the audit rejects it afterwards).
    """
    patterns = load_patterns() if patterns is None else patterns
    pii = {c.name for c in contract.columns if c.classification == "pii"}
    if not paths:  # an empty snapshot: no rows, nothing to find
        return ScanResult(contract.id, 0, (), (), tuple(p.id for p in patterns), ())
    source = f"read_parquet([{', '.join(literal(str(p)) for p in paths)}])"
    with in_memory() as con:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        text = [str(name) for name, kind, *_ in described if kind == "VARCHAR"]
        scanned = [c for c in text if c not in pii]
        pairs = [(column, pattern) for column in scanned for pattern in patterns]
        guard = any_pattern(patterns)
        counts = ["count(*)"] + [_count(column, pattern, guard) for column, pattern in pairs]
        rows, *hits = con.execute(f"SELECT {', '.join(counts)} FROM {source}").fetchall()[0]
        findings = tuple(
            Finding(column, pattern.id, n, _samples(con, source, column, pattern.regex) if n else ())
            for (column, pattern), n in zip(pairs, hits, strict=True)
        )
    return ScanResult(
        product_id=contract.id,
        rows=rows,
        scanned=tuple(scanned),
        skipped=tuple(c for c in text if c in pii),
        patterns=tuple(p.id for p in patterns),
        findings=findings,
    )
