"""Landing and bronze assets of a domain, built from its spec (one pair per feed)."""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

from typing import Any

import dagster as dg

from mesh_orchestrator.core import names
from mesh_orchestrator.core.partitions import FILE_DAY_SQL, DayRange, partitions_def, run_range
from mesh_orchestrator.core.paths import landing_dir
from mesh_orchestrator.core.spec import DomainSpec, FeedSpec
from mesh_orchestrator.core.sql import identifier
from mesh_orchestrator.core.storage import domain_db, fetch_one
from mesh_orchestrator.ingestion.bronze import Reconciliation, build_bronze, quarantine_reasons
from mesh_orchestrator.ingestion.feed_files import MAX_LISTED, UNPARSEABLE_METADATA, UNREAD_METADATA, listed
from mesh_orchestrator.ingestion.landing import ingest_feed
from mesh_orchestrator.orchestration.automation import gated_eager
from mesh_orchestrator.orchestration.retries import retry_when_locked

ROWS_RECONCILED = "rows_reconciled"
NO_ROWS_QUARANTINED = "no_rows_quarantined"


def feed_schema(feed: FeedSpec) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.type,
                constraints=dg.TableColumnConstraints(nullable=not c.required),
                tags={"pii": "true"} if c.pii else {},
            )
            for c in feed.columns
        ]
    )


def partitioning(feed: FeedSpec) -> dict[str, Any]:
    """Asset arguments of a feed partitioned by day: its partitions, ranges run as one run."""
    if feed.partitioned_by is None:
        return {}
    return {
        "partitions_def": partitions_def(feed.partitioned_by),
        "backfill_policy": dg.BackfillPolicy.single_run(),
    }


def _days(context: dg.AssetExecutionContext, feed: FeedSpec) -> DayRange | None:
    return run_range(context) if feed.partitioned_by is not None else None


def _row_count(days: DayRange | None, rows: int) -> dict[str, Any]:
    """``dagster/row_count`` is per partition: reported only when the run is one partition or none."""
    if days is None or (days.end - days.start).days == 1:
        return {"dagster/row_count": rows}
    return {"rows_in_run": rows, "partition_range": str(days)}


def landing_asset(spec: DomainSpec, feed: FeedSpec) -> dg.AssetsDefinition:
    key = names.asset_key(spec.name, "landing", feed.name)
    folder = landing_dir(spec.name, feed.name)
    per_day = " A partition is the day in a file's name." if feed.partitioned_by else ""

    @dg.asset(
        key=key,
        **partitioning(feed),
        group_name=names.group_name(spec.name, "landing"),
        owners=[spec.owner],
        tags=names.tags(spec.name, "landing", pii=feed.has_pii),
        kinds={"duckdb", feed.format},
        pool=names.pool(spec.name),
        description=f"{feed.description} Files in {folder}, each ingested once by content hash.{per_day}",
        metadata={"landing_folder": dg.MetadataValue.path(str(folder))},
    )
    def _landing(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        days = _days(context, feed)
        where = f"WHERE {days.sql(FILE_DAY_SQL)}" if days is not None else ""
        with retry_when_locked(), domain_db(spec.name) as con:
            report = ingest_feed(con, feed, folder, context.log.info, days)
            (total,) = fetch_one(con, f"SELECT count(*) FROM landing.{identifier(feed.name)} {where}")
        if report.skipped:
            context.log.info(f"{len(report.skipped)} file(s) already ingested, skipped")
        for failed in report.unparseable:
            context.log.warning(
                f"{feed.name}: {failed.path} could not be read as its format and landed as one "
                f"unparseable record (bronze quarantines it); the feed's other files landed: {failed.problem}"
            )
        if report.unread:
            context.log.warning(
                f"{feed.name}: {len(report.unread)} file(s) in {folder} are not read: "
                + "; ".join(listed([str(u) for u in report.unread], 20))
            )
        return dg.MaterializeResult(
            metadata={
                "files_ingested": len(report.ingested),
                "files_skipped": len(report.skipped),
                "files_without_a_day": len(report.undated),
                "files_not_read": len(report.unread),
                UNREAD_METADATA: dg.MetadataValue.json(
                    {u.label: f"{u.why}: {u.detail}" for u in report.unread[:MAX_LISTED]}
                ),
                UNPARSEABLE_METADATA: dg.MetadataValue.json(
                    {f.path: str(f.problem) for f in report.unparseable[:MAX_LISTED]}
                ),
                "rows_ingested": report.rows,
                **_row_count(days, int(total)),
            }
        )

    return _landing


def _reconciliation_check(rec: Reconciliation, asset_key: dg.AssetKey) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=ROWS_RECONCILED,
        passed=rec.holds,
        metadata={
            "landed": rec.landed,
            "bronze": rec.bronze,
            "duplicates_dropped": rec.duplicates,
            "quarantined": rec.quarantined,
            "difference": rec.difference,
        },
        description=None
        if rec.holds
        else f"{rec.difference} landed row(s) are neither in bronze nor in quarantine",
    )


def bronze_asset(spec: DomainSpec, feed: FeedSpec) -> dg.AssetsDefinition:
    key = names.asset_key(spec.name, "bronze", feed.name)

    @dg.asset(
        key=key,
        **partitioning(feed),
        deps=[names.asset_key(spec.name, "landing", feed.name)],
        automation_condition=gated_eager(partitioned=feed.partitioned_by is not None),
        group_name=names.group_name(spec.name, "bronze"),
        owners=[spec.owner],
        tags=names.tags(spec.name, "bronze", pii=feed.has_pii),
        kinds={"duckdb"},
        pool=names.pool(spec.name),
        description=f"{feed.description} Typed, de-duplicated on {', '.join(feed.key)}; "
        f"rejected rows in quarantine.{feed.name} with a reason.",
        metadata={"dagster/column_schema": feed_schema(feed), "key": ", ".join(feed.key)},
        check_specs=[
            dg.AssetCheckSpec(
                ROWS_RECONCILED,
                asset=key,
                blocking=True,
                description="rows landed = rows in bronze + duplicates dropped + quarantined",
            ),
            dg.AssetCheckSpec(
                NO_ROWS_QUARANTINED, asset=key, description="warns when any landed row was quarantined"
            ),
        ],
    )
    def _bronze(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        days = _days(context, feed)
        with retry_when_locked(), domain_db(spec.name) as con:
            rec = build_bronze(con, feed, days)
            reasons = quarantine_reasons(con, feed, scope=rec.scope)
        if rec.scope is not None and rec.scope.shared:
            context.log.info(
                f"{feed.name}: also re-evaluated {len(rec.scope.shared)} other day(s) whose rows share a "
                f"key with this run's: {', '.join(d.isoformat() for d in rec.scope.shared[:10])}"
            )
        rejected = rec.duplicates + rec.quarantined
        if rejected:
            context.log.warning(f"{feed.name}: {rejected} row(s) quarantined: {reasons}")
        return dg.MaterializeResult(
            metadata={
                **_row_count(days, rec.bronze),
                "quarantined": rec.quarantined,
                "duplicates_dropped": rec.duplicates,
                "quarantine_reasons": reasons,
            },
            check_results=[
                _reconciliation_check(rec, key),
                dg.AssetCheckResult(
                    asset_key=key,
                    check_name=NO_ROWS_QUARANTINED,
                    passed=rejected == 0,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "quarantined": rec.quarantined,
                        "duplicates_dropped": rec.duplicates,
                        "reasons": reasons,
                        "table": f"quarantine.{feed.name}",
                    },
                ),
            ],
        )

    return _bronze
