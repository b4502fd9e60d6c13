"""Time partitions of the mesh: feeds partitioned by day, a domain's close models by month.

A domain has at most one partitioning (its job runs feeds and models together): either feeds by day
or dbt models by month.

A feed declared ``partitioned_by: {period: day, start: ...}`` is partitioned by the day in its files'
names (``web_order_events_2026-03-05.jsonl``): every file, and so every landed row, belongs to exactly
one day, the day the source delivered it for. Landing works one day (or one range of days) at a
time and replaces that range whole. Bronze replaces the same range and, because de-duplication spans
days, the earlier days holding a key that the range resends (``DayScope``). So re-running a partition
changes nothing, and a backfill of a month gives what a full run gives.

dbt models listed under ``partitioned_models`` in ``defs.yaml`` are partitioned by month. Their SQL
filters with the ``in_partition(column)`` macro (``dbt_projects/_shared/macros/partitions.sql``) on
the ``MESH_PARTITION_START`` / ``MESH_PARTITION_END`` environment variables of the run's dbt process
(not dbt vars: a changed var re-parses the whole project).

A partition exists once its period is over (UTC): a file for today waits for tomorrow. A run that
covers a range of partitions carries Dagster's range tags (single-run backfill).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the spec reads PartitionSpec without paying for Dagster's import
    import dagster as dg

DAY = "day"
MONTH = "month"

#: The last ``YYYY-MM-DD`` in a file's landing label is its day. Same rule in SQL below.
_FILE_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
FILE_DAY_SQL = r"try_cast(list_last(regexp_extract_all(_source_file, '\d{4}-\d{2}-\d{2}')) AS DATE)"

#: Tags of a run that covers a range of partitions in one go (Dagster's single-run backfill).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class PartitionSpec:
    period: str  # day | month
    start: date


@dataclass(frozen=True)
class DayRange:
    """Days ``start <= day < end`` (a partition time window)."""

    start: date
    end: date

    def sql(self, column: str) -> str:
        return f"({column} >= DATE '{self.start.isoformat()}' AND {column} < DATE '{self.end.isoformat()}')"

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()} (end excluded)"


@dataclass(frozen=True)
class DayScope:
    """The days a bronze run replaces: its partitions, and the days holding rows that share a key
    with a row of those partitions (de-duplication spans days: a key resent on a later day
    replaces the earlier day's row, which is then re-evaluated in the same transaction)."""

    run: DayRange
    shared: tuple[date, ...] = ()

    def sql(self, column: str) -> str:
        if not self.shared:
            return self.run.sql(column)
        listed = ", ".join(f"DATE '{d.isoformat()}'" for d in self.shared)
        return f"({self.run.sql(column)} OR {column} IN ({listed}))"

    def __str__(self) -> str:
        extra = f" and {len(self.shared)} day(s) sharing keys with them" if self.shared else ""
        return f"{self.run}{extra}"


def partitions_def(spec: PartitionSpec) -> dg.TimeWindowPartitionsDefinition:
    import dagster as dg

    start = spec.start.isoformat()
    if spec.period == DAY:
        return dg.DailyPartitionsDefinition(start_date=start)
    return dg.MonthlyPartitionsDefinition(start_date=start)


def file_day(label: str) -> date | None:
    """The day a file is for: the last ``YYYY-MM-DD`` in its name; None without a valid one."""
    found = _FILE_DAY.findall(label)
    if not found:
        return None
    try:
        return date.fromisoformat(found[-1])
    except ValueError:
        return None


def run_range(context: dg.AssetExecutionContext) -> DayRange:
    """The days a partitioned asset's run covers (one partition, or a range in a single run)."""
    window = context.partition_time_window
    return DayRange(window.start.date(), window.end.date())


def full_range_tags(
    pdef: dg.PartitionsDefinition, job_name: str, until: date | None = None
) -> dict[str, str]:
    """Tags that make one run of a job partitioned by ``pdef`` cover its partitions from the first
    to the one holding ``until`` (default: every partition that exists)."""
    keys = list(pdef.get_partition_keys())
    if not keys:
        raise ValueError(f"{job_name} has no partitions yet ({pdef})")
    if until is not None:  # keys are ISO dates (the first day of their period)
        keys = [k for k in keys if k <= until.isoformat()] or keys[:1]
    return dict(range_tags(keys[0], keys[-1]))


def range_tags(start: str, end: str) -> Mapping[str, str]:
    return {RANGE_START_TAG: start, RANGE_END_TAG: end}
