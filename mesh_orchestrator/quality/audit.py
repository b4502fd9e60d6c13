"""The Great Expectations audit of a staged data product, generated from its contract.

GX Core 1.x validates an in-memory pandas batch (its SQL datasource does not work on DuckDB).
``great_expectations`` takes seconds to import, so it is imported only when an audit runs.
The column types are checked against the Arrow schema of the staged snapshot's Parquet files, which
is exact for DECIMAL precision and scale where pandas dtypes are not. A product's hand-written extra
expectations (``quality/expectations``, see ``extra_expectations``) are appended to its suite.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mesh_orchestrator.core.contracts import (
    BETWEEN,
    IN_SET,
    MATCHES,
    NOT_NULL,
    ROW_COUNT,
    UNIQUE,
    UNIQUE_TOGETHER,
    Contract,
    Rule,
    contract_rules,
)
from mesh_orchestrator.core.environment import telemetry_off
from mesh_orchestrator.quality.extra_expectations import META_KEY, gx_expectations, load_extra_expectations

SAMPLE_ROWS = 5
#: Rows validated at once: bounds the pandas copy GX works on (about 200 MB per million rows).
CHUNK_ROWS = 1_000_000

_ARROW_TYPES = {
    "VARCHAR": (pa.string(), pa.large_string(), pa.string_view()),
    "BOOLEAN": (pa.bool_(),),
    "INTEGER": (pa.int32(),),
    "BIGINT": (pa.int64(),),
    "DOUBLE": (pa.float64(),),
    "DATE": (pa.date32(),),
}


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict, in the shape shown in the Dagster UI."""

    expectation: str
    column: str | None
    success: bool
    unexpected_count: int = 0
    observed: str | None = None
    failing_rows: list[dict[str, str]] = field(default_factory=list)
    #: Where an extra expectation is in its ``quality/expectations`` file, e.g. ``expectations[0]``.
    extra: str | None = None
    why: str | None = None

    @property
    def label(self) -> str:
        where = f"({self.column})" if self.column else ""
        origin = f" [extra {self.extra}]" if self.extra else ""
        return f"{self.expectation}{where}{origin}"

    def describe(self) -> str:
        text = self.label
        if self.unexpected_count:
            text += f": {self.unexpected_count} unexpected"
        elif self.observed:
            text += f": observed {self.observed}"
        if self.why and not self.success:
            text += f" (why: {self.why})"
        return text


@dataclass(frozen=True)
class AuditResult:
    product_id: str
    contract_version: str
    rows: int
    outcomes: list[ExpectationOutcome]

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    def failures(self) -> list[str]:
        return [o.describe() for o in self.outcomes if not o.success]

    def failing_rows(self, limit: int = SAMPLE_ROWS) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        for outcome in self.outcomes:
            rows.extend(outcome.failing_rows)
        return rows[:limit]


def _arrow_type_matches(declared: str, actual: pa.DataType) -> bool:
    if declared.startswith("DECIMAL("):
        precision, scale = (int(x) for x in declared[8:-1].split(","))
        return pa.types.is_decimal(actual) and (actual.precision, actual.scale) == (precision, scale)
    if declared in ("TIMESTAMP", "TIMESTAMPTZ"):
        return pa.types.is_timestamp(actual) and (actual.tz is not None) == (declared == "TIMESTAMPTZ")
    return actual in _ARROW_TYPES.get(declared, ())


def schema_outcomes(schema: pa.Schema, contract: Contract) -> list[ExpectationOutcome]:
    """Exact column names, order and types against the contract."""
    outcomes = []
    actual = list(schema.names)
    expected = list(contract.column_names)
    outcomes.append(
        ExpectationOutcome(
            "expect_table_columns_to_match_ordered_list",
            None,
            actual == expected,
            observed=None if actual == expected else f"{actual} (contract: {expected})",
        )
    )
    for col in contract.columns:
        if col.name not in actual:
            continue
        arrow_type = schema.field(col.name).type
        ok = _arrow_type_matches(col.type, arrow_type)
        outcomes.append(
            ExpectationOutcome(
                "expect_column_type_to_match_contract",
                col.name,
                ok,
                observed=None if ok else f"{arrow_type} (contract: {col.type})",
            )
        )
    return outcomes


def _expectation(gxe: Any, rule: Rule) -> Any:
    """The GX Core expectation that checks one of the contract's rules."""
    column = rule.columns[0] if rule.columns else ""
    if rule.kind == ROW_COUNT:
        return gxe.ExpectTableRowCountToBeBetween(min_value=rule.minimum)
    if rule.kind == NOT_NULL:
        return gxe.ExpectColumnValuesToNotBeNull(column=column)
    if rule.kind == UNIQUE:
        return gxe.ExpectColumnValuesToBeUnique(column=column)
    if rule.kind == IN_SET:
        return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(rule.values))
    if rule.kind == BETWEEN:
        return gxe.ExpectColumnValuesToBeBetween(
            column=column, min_value=rule.minimum, max_value=rule.maximum
        )
    if rule.kind == MATCHES:
        return gxe.ExpectColumnValuesToMatchRegex(column=column, regex=rule.pattern)
    if rule.kind == UNIQUE_TOGETHER:
        return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(rule.columns))
    raise ValueError(f"no expectation for a {rule.kind!r} rule")


def build_suite(contract: Contract) -> Any:
    """The contract's expectation suite (GX Core objects), then the product's extra expectations."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    expectations = [_expectation(gxe, rule) for rule in contract_rules(contract)]
    expectations += gx_expectations(load_extra_expectations(contract))
    return gx.ExpectationSuite(name=f"{contract.id}@{contract.version}", expectations=expectations)


def _sample(frame: Any, index_list: list[Any] | None) -> list[dict[str, str]]:
    if not index_list:
        return []
    rows = []
    for entry in index_list[:SAMPLE_ROWS]:
        if isinstance(entry, dict):
            rows.append({k: str(v) for k, v in entry.items()})
        elif isinstance(entry, int) and 0 <= entry < len(frame):
            rows.append({k: str(v) for k, v in frame.iloc[entry].to_dict().items()})
    return rows


def _validation_frame(table: pa.Table) -> Any:
    """The batch GX validates: DECIMAL columns as float64.

    pandas holds Arrow decimals as Python ``Decimal`` objects: three times the memory and several
    times the time of every range check. The exact DECIMAL(p,s) type is verified on the Arrow
    schema before (``schema_outcomes``); the value expectations compare with the contract's
    bounds, which are numbers, so doubles judge them the same.
    """
    import pyarrow.compute as pc

    columns = [pc.cast(c, pa.float64()) if pa.types.is_decimal(c.type) else c for c in table.columns]
    return pa.table(columns, names=table.column_names).to_pandas()


def _skip_batch_fingerprint() -> None:
    """Stop GX hashing every value of a pandas batch for a fingerprint that nothing here reads.

    GX Core 1.x records an MD5 of ``pandas.util.hash_pandas_object`` over the whole frame as a batch
    marker, once when the batch is built and again when it is validated: measured on a million
    invoice lines, 6 s of a 9 s validation. It skips the hash for frames over ``HASH_THRESHOLD``
    bytes; a threshold of 0 skips it always. ``tests/platform/test_audit.py`` fails if a GX upgrade
    hashes again.
    """
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0


def _validate(frame: Any, contract: Contract) -> Any:
    """GX's validation result for one pandas batch."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _skip_batch_fingerprint()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = (
        context.data_sources.add_pandas("mesh")
        .add_dataframe_asset(contract.id.replace(".", "__"))
        .add_batch_definition_whole_dataframe("staged")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    keys = [k for k in contract.primary_key if k in frame.columns]
    suite = build_suite(contract)
    # A passing batch needs only the verdicts; the unexpected counts and sample rows are worth
    # their cost (about a third more) only when something failed.
    result = batch.validate(suite, result_format="BOOLEAN_ONLY")
    if not result.success:
        result = batch.validate(
            suite,
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": SAMPLE_ROWS,
                **({"unexpected_index_column_names": keys} if keys else {}),
            },
        )
    return result


def _raised(info: Any) -> str | None:
    """The message of an exception GX caught: ``info`` is flat, or keyed by metric when a metric raised."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    nested = (_raised(v) for v in info.values() if isinstance(v, dict))
    return next((m for m in nested if m is not None), None)


def _outcomes(result: Any, frame: Any) -> list[ExpectationOutcome]:
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        details = item.result or {}
        kwargs = config.kwargs if config is not None else {}
        meta = (config.meta if config is not None else None) or {}
        column = kwargs.get("column") or (
            ",".join(kwargs["column_list"]) if "column_list" in kwargs else None
        )
        if "column_A" in kwargs:
            column = f"{kwargs['column_A']},{kwargs['column_B']}"
        observed = details.get("observed_value")
        raised = _raised(item.exception_info)
        if raised is not None:
            observed = raised
        outcomes.append(
            ExpectationOutcome(
                expectation=config.type if config is not None else "unknown",
                column=column,
                success=bool(item.success),
                unexpected_count=int(details.get("unexpected_count") or 0),
                observed=None if observed is None else str(observed),
                failing_rows=_sample(frame, details.get("partial_unexpected_index_list")),
                extra=meta.get(META_KEY),
                why=meta.get("why"),
            )
        )
    return outcomes


def _merge(parts: list[list[ExpectationOutcome]], rows: int) -> list[ExpectationOutcome]:
    """One outcome per expectation over all parts: counts summed, first failure's details."""
    merged = []
    for same in zip(*parts, strict=True):
        failed = [o for o in same if not o.success]
        first = failed[0] if failed else same[0]
        observed = (
            str(rows) if first.expectation == "expect_table_row_count_to_be_between" else first.observed
        )
        merged.append(
            replace(
                first,
                success=not failed,
                unexpected_count=sum(o.unexpected_count for o in same),
                observed=observed,
                failing_rows=[row for o in failed for row in o.failing_rows][:SAMPLE_ROWS],
            )
        )
    return merged


def _audit_parts(chunks: Iterator[pa.Table], contract: Contract, schema: pa.Schema, rows: int) -> AuditResult:
    outcomes = schema_outcomes(schema, contract)
    if not all(o.success for o in outcomes):
        return AuditResult(contract.id, contract.version, rows, outcomes)
    parts = []
    for chunk in chunks:
        frame = _validation_frame(chunk)
        parts.append(_outcomes(_validate(frame, contract), frame))
        del frame, chunk
        pa.default_memory_pool().release_unused()  # give the part's buffers back before the next
    outcomes += parts[0] if len(parts) == 1 else _merge(parts, rows)
    return AuditResult(contract.id, contract.version, rows, outcomes)


def audit_table(table: pa.Table, contract: Contract) -> AuditResult:
    """Validate a product (an in-memory table) against its contract's schema and GX suite."""
    telemetry_off()
    return _audit_parts(iter([table]), contract, table.schema, table.num_rows)


def _tail_start(table: pa.Table, key: list[str]) -> int:
    """Where the trailing rows sharing the last row's key begin (the table is ordered by key)."""
    import pyarrow.compute as pc

    last = table.num_rows - 1
    same = None
    for column in key:
        values = table.column(column)
        equal = pc.fill_null(pc.equal(values, values[last]), False)
        same = equal if same is None else pc.and_(same, equal)
    return table.num_rows - int(pc.sum(same).as_py() or 0) if same is not None else table.num_rows


def _batches(files: Sequence[pq.ParquetFile]) -> Iterator[pa.RecordBatch]:
    for file in files:
        yield from file.iter_batches(batch_size=CHUNK_ROWS)


def _key_aligned_chunks(files: Sequence[pq.ParquetFile], key: list[str]) -> Iterator[pa.Table]:
    """Parts of about ``CHUNK_ROWS`` rows that never split the rows of one key."""
    pending: list[pa.Table] = []
    size = 0
    for batch in _batches(files):
        pending.append(pa.Table.from_batches([batch]))
        size += batch.num_rows
        if size < CHUNK_ROWS:
            continue
        chunk = pa.concat_tables(pending)
        split = _tail_start(chunk, key)
        if split == 0:  # one key fills the whole part: keep reading
            pending, size = [chunk], chunk.num_rows
            continue
        yield chunk.slice(0, split)
        pending, size = [chunk.slice(split)], chunk.num_rows - split
    if size:
        yield pa.concat_tables(pending)


def audit_staged(
    paths: Sequence[str | Path], contract: Contract, empty: pa.Schema | None = None
) -> AuditResult:
    """Validate a staged snapshot, its Parquet files in write order (by the primary key), part by part.

    ``empty`` is the schema to audit when the snapshot has no data files. A big product is read
    ``CHUNK_ROWS`` rows at a time, never splitting the rows of one key, so
    key uniqueness in every part means uniqueness in the whole, and memory is bounded by the part,
    not the product. A product with another unique column is audited whole.
    """
    telemetry_off()
    files = [pq.ParquetFile(path) for path in paths]
    if not files:  # an empty snapshot: its table's schema, no rows
        if empty is None:
            raise ValueError(f"no data files to audit for {contract.id} and no schema given")
        return audit_table(empty.empty_table(), contract)
    rows = sum(file.metadata.num_rows for file in files)
    schema = files[0].schema_arrow
    key = list(contract.primary_key)
    other_unique = any(c.unique and [c.name] != key for c in contract.columns)
    if rows <= CHUNK_ROWS or not key or other_unique or contract.min_rows > CHUNK_ROWS // 2:
        return audit_table(pa.concat_tables(file.read() for file in files), contract)
    return _audit_parts(_key_aligned_chunks(files, key), contract, schema, rows)
