"""Hand-off assets: the audit and publish of write-audit-publish, for one data product.

The provider's own run wrote its gold table as a snapshot on the staging branch of the product's
Iceberg table (``ports.stage``). The hand-off, in the meta-orchestrator's location, never opens the
provider's database: it reads exactly that snapshot's data files from the warehouse and

1. scans text columns not classified pii for personal data (``pii_scan``);
2. audits the batch with the contract's Great Expectations suite;
3. publishes, only if both passed: ``main`` is fast-forwarded to the audited snapshot in one
   catalog commit, and snapshots past the contract's retention expire with their files (data files
   no snapshot names, left by a provider killed mid-write, are swept once they are hours old).

Both checks are blocking and both always run, so one run reports every problem of a batch. A failure
publishes nothing (``main`` does not move, consumers keep reading the previous version), keeps the
snapshot on the staging branch for inspection (the checks' metadata name branch and snapshot),
records the failed check(s) (``no_personal_data`` with the columns, patterns, hit counts and masked
samples; ``contract_satisfied`` with the failing expectations and a sample of bad rows), and fails
the run with a message naming the product and what to fix.
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

import time
from collections.abc import Iterator
from typing import Any

import dagster as dg

from mesh_orchestrator.core import names
from mesh_orchestrator.core.contracts import Contract
from mesh_orchestrator.core.errors import (
    AuditFailedError,
    MeshError,
    NothingStagedError,
    PersonalDataFoundError,
)
from mesh_orchestrator.core.paths import shown
from mesh_orchestrator.orchestration.automation import freshness_policy, gated_eager
from mesh_orchestrator.ports.tables import (
    STAGING,
    catalog,
    expire,
    load_port,
    local_paths,
    publish,
    snapshot_files,
    staged_snapshot,
    sweep_orphans,
)
from mesh_orchestrator.quality.audit import AuditResult, audit_staged
from mesh_orchestrator.quality.pii_scan import ScanResult, scan_staged

CONTRACT_SATISFIED = "contract_satisfied"
NO_PERSONAL_DATA = "no_personal_data"
#: Metadata entry of the check: seconds spent in the Great Expectations audit.
AUDIT_SECONDS = "audit_seconds"
#: Metadata entry of the personal-data check: seconds spent in the scan.
SCAN_SECONDS = "scan_seconds"


def contract_schema(contract: Contract) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.type,
                description=c.description or None,
                tags={"classification": c.classification},
                constraints=dg.TableColumnConstraints(nullable=not c.required, unique=c.unique),
            )
            for c in contract.columns
        ]
    )


def check_result(
    key: dg.AssetKey,
    result: AuditResult,
    audit_seconds: float | None = None,
    where: dict[str, str] | None = None,
) -> dg.AssetCheckResult:
    """The ``contract_satisfied`` verdict; ``audit_seconds`` is the wall time of the audit (the
    first audit in a process includes importing Great Expectations), summed by ``mesh benchmark``."""
    expectations = {o.label: ("passed" if o.success else o.describe()) for o in result.outcomes}
    metadata: dict[str, Any] = {
        "product": result.product_id,
        "contract_version": result.contract_version,
        "rows": result.rows,
        "expectations_evaluated": len(result.outcomes),
        "expectations_failed": len(result.failures()),
        "expectations": dg.MetadataValue.json(expectations),
        **(where or {}),
    }
    if audit_seconds is not None:
        metadata[AUDIT_SECONDS] = round(audit_seconds, 3)
    sample = result.failing_rows()
    if sample:
        metadata["failing_rows_sample"] = dg.MetadataValue.json(sample)
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=CONTRACT_SATISFIED,
        passed=result.success,
        metadata=metadata,
        description=None if result.success else "; ".join(result.failures()),
    )


def scan_check_result(
    key: dg.AssetKey, result: ScanResult, scan_seconds: float, where: dict[str, str] | None = None
) -> dg.AssetCheckResult:
    """The ``no_personal_data`` verdict; findings carry masked samples only."""
    findings = {
        f"{f.column}: {f.pattern}": {"rows": f.rows, "samples": list(f.samples)} for f in result.hits()
    }
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=NO_PERSONAL_DATA,
        passed=result.success,
        metadata={
            "product": result.product_id,
            "rows": result.rows,
            "columns_scanned": dg.MetadataValue.json(list(result.scanned)),
            "columns_skipped_pii": dg.MetadataValue.json(list(result.skipped)),
            "patterns": dg.MetadataValue.json(list(result.patterns)),
            "findings": dg.MetadataValue.json(findings),
            SCAN_SECONDS: round(scan_seconds, 3),
            **(where or {}),
        },
        description=None if result.success else "; ".join(result.failures()),
    )


def build_handoff_asset(contract: Contract, partitioned: bool = False) -> dg.AssetsDefinition:
    """The product's hand-off; ``partitioned`` when its gold model is partitioned (finance's
    monthly close): the product is then published whole, every partition, across code locations."""
    key = names.handoff_key(contract.domain, contract.product)
    consumers = ", ".join(c.domain for c in contract.consumers) or "none yet"
    gold = names.asset_key(contract.domain, "gold", contract.model)
    mapping = dg.AllPartitionMapping() if partitioned else None

    @dg.asset(
        key=key,
        deps=[dg.AssetDep(gold, partition_mapping=mapping)],
        group_name=names.group_name(names.MESH, names.HANDOFF),
        automation_condition=gated_eager(),
        freshness_policy=freshness_policy(contract),
        owners=[contract.owner],
        tags={
            **names.tags(contract.domain, names.HANDOFF, contract.product),
            **{tag: "" for tag in contract.tags},
        },
        kinds={"iceberg", "great_expectations"},
        pool=names.pool(contract.domain),
        code_version=contract.version,
        description=f"{contract.description} Published port of {contract.id} (consumers: {consumers}).",
        metadata={
            "contract": dg.MetadataValue.path(str(contract.path)),
            "contract_version": contract.version,
            "purpose": contract.purpose,
            "sla_freshness": str(contract.sla.freshness or "none"),
            "sla_retention": str(contract.sla.retention or "none"),
            "inputs": ", ".join(f"{i.kind} {i.name}" for i in contract.inputs),
            "port": f"{contract.domain}.{contract.product}",
            "primary_key": ", ".join(contract.primary_key),
            "dagster/column_schema": contract_schema(contract),
        },
        check_specs=[
            dg.AssetCheckSpec(
                CONTRACT_SATISFIED,
                asset=key,
                blocking=True,
                description=f"Great Expectations suite generated from {contract.path.name} passes",
            ),
            dg.AssetCheckSpec(
                NO_PERSONAL_DATA,
                asset=key,
                blocking=True,
                description="Text columns not classified pii hold no personal data: no value matches "
                "quality/pii_patterns.yaml (e-mail addresses, IBANs, national ids)",
            ),
        ],
    )
    def _handoff(context: dg.AssetExecutionContext) -> Iterator[Any]:
        table = load_port(contract.domain, contract.product, catalog())
        staged = staged_snapshot(table)
        if staged is None:
            raise NothingStagedError(
                f"{contract.id}: its Iceberg table has no staged batch (branch {STAGING!r}); "
                f"materialise {gold.to_user_string()} first, it stages the product"
            )
        where = {"table": contract.id, "branch": STAGING, "snapshot_id": str(staged.snapshot_id)}
        place = f"branch {STAGING!r} of Iceberg table {contract.id}, snapshot {staged.snapshot_id}"
        paths = local_paths(table, snapshot_files(table, staged.snapshot_id))
        started = time.perf_counter()
        scan = scan_staged(paths, contract)
        scanned = scan_check_result(key, scan, time.perf_counter() - started, where)
        started = time.perf_counter()
        result = audit_staged(paths, contract, empty=table.schema().as_arrow())
        check = check_result(key, result, time.perf_counter() - started, where)
        errors: list[MeshError] = []
        metadata: dict[str, Any] = {"staged_batch": place, **where}
        if not scan.success:
            errors.append(PersonalDataFoundError(contract.id, scan.failures(), shown(contract.path), place))
            metadata["personal_data"] = dg.MetadataValue.json(scan.failures())
        if not result.success:
            errors.append(AuditFailedError(contract.id, result.failures(), place))
            metadata["failing_expectations"] = dg.MetadataValue.json(result.failures())
        if errors:
            for error in errors:
                context.log.error(str(error))
            yield scanned
            yield check
            raise dg.Failure(description="\n".join(map(str, errors)), metadata=metadata, allow_retries=False)
        published, moved = publish(table, staged.snapshot_id)
        expired = expire(table, contract.sla.retention)
        for orphan in sweep_orphans(table):
            context.log.warning(f"{contract.id}: deleted {orphan}, written by a run killed before its commit")
        if moved:
            context.log.info(f"published {contract.id} version {published.version} ({published.rows:,} rows)")
        else:
            context.log.info(f"{contract.id} unchanged: version {published.version} stays current")
        if expired:
            context.log.info(f"{contract.id}: {len(expired)} snapshot(s) past sla.retention expired")
        yield dg.MaterializeResult(
            metadata={
                "version": published.version,
                "table": published.table,
                "snapshot_id": str(published.snapshot_id),
                "published": moved,
                "dagster/row_count": published.rows,
                "published_at": published.published_at,
                "contract_version": published.contract_version,
                "written_by_run": published.run_id,
                "inputs": dg.MetadataValue.json(dict(published.inputs)),
                "port": published.table,
            },
            check_results=[scanned, check],
        )

    return _handoff
