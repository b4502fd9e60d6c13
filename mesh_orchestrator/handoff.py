"""Hand-off assets: write-audit-publish of one data product from its provider to its output port.

1. write: the provider's gold table is copied to a staging Parquet file;
2. scan: text columns not classified pii are searched for personal data (``pii_scan``);
3. audit: the contract's Great Expectations suite runs on the staged batch;
4. publish: only if the scan found nothing and every expectation passed, the batch becomes the
   port's next version, atomically.

Both checks are blocking and both always run, so one run reports every problem of a batch. A failure
publishes nothing (consumers keep reading the previous version), keeps the staged batch for
inspection, records the failed check(s) (``no_personal_data`` with the columns, patterns, hit counts
and masked samples; ``contract_satisfied`` with the failing expectations and a sample of bad rows),
and fails the run with a message naming the product and what to fix.
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from mesh_orchestrator import names
from mesh_orchestrator.audit import AuditResult, audit_staged
from mesh_orchestrator.automation import freshness_policy, gated_eager
from mesh_orchestrator.contracts import Contract
from mesh_orchestrator.errors import AuditFailedError, MeshError, PersonalDataFoundError
from mesh_orchestrator.paths import REPO_ROOT, products_dir
from mesh_orchestrator.pii_scan import ScanResult, scan_staged
from mesh_orchestrator.ports import current_path, publish, stage_path
from mesh_orchestrator.retries import retry_when_locked
from mesh_orchestrator.sql import identifier, literal
from mesh_orchestrator.storage import domain_db

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


def stage_product(contract: Contract, run_id: str) -> Any:
    """Copy the provider's gold table to a staging file, ordered by the primary key.

    The order makes versions reproducible, so an unchanged product is recognised and not republished.
    """
    staged = stage_path(contract.domain, contract.product, run_id)
    model = identifier(contract.model, "contract model")
    keys = [identifier(k, "primary key") for k in contract.primary_key] or ["ALL"]
    with domain_db(contract.domain, read_only=True) as con:
        con.execute(
            f"COPY (SELECT * FROM gold.{model} ORDER BY {', '.join(keys)}) "
            f"TO {literal(str(staged))} (FORMAT parquet)"
        )
    return staged


def check_result(
    key: dg.AssetKey, result: AuditResult, audit_seconds: float | None = None
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


def scan_check_result(key: dg.AssetKey, result: ScanResult, scan_seconds: float) -> dg.AssetCheckResult:
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
        },
        description=None if result.success else "; ".join(result.failures()),
    )


def _shown(path: Path) -> str:
    """A contract's path as the engineer edits it: relative to the repository when inside it."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


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
        kinds={"parquet", "great_expectations"},
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
            "port": dg.MetadataValue.path(str(current_path(contract.domain, contract.product))),
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
        with retry_when_locked():
            staged = stage_product(contract, context.run_id)
        started = time.perf_counter()
        scan = scan_staged(staged, contract)
        scanned = scan_check_result(key, scan, time.perf_counter() - started)
        started = time.perf_counter()
        result = audit_staged(staged, contract)
        check = check_result(key, result, time.perf_counter() - started)
        errors: list[MeshError] = []
        metadata: dict[str, Any] = {"staged_batch": dg.MetadataValue.path(str(staged))}
        if not scan.success:
            errors.append(PersonalDataFoundError(contract.id, scan.failures(), _shown(contract.path), staged))
            metadata["personal_data"] = dg.MetadataValue.json(scan.failures())
        if not result.success:
            errors.append(AuditFailedError(contract.id, result.failures(), staged))
            metadata["failing_expectations"] = dg.MetadataValue.json(result.failures())
        if errors:
            for error in errors:
                context.log.error(str(error))
            yield scanned
            yield check
            raise dg.Failure(description="\n".join(map(str, errors)), metadata=metadata, allow_retries=False)
        published = publish(contract.domain, contract.product, staged, contract.version)
        staged.unlink()
        context.log.info(f"published {contract.id} version {published.version} ({published.rows:,} rows)")
        yield dg.MaterializeResult(
            metadata={
                "version": published.version,
                "path": dg.MetadataValue.path(str(published.path)),
                "dagster/row_count": published.rows,
                "published_at": published.published_at,
                "port": dg.MetadataValue.path(str(products_dir(contract.domain, contract.product))),
            },
            check_results=[scanned, check],
        )

    return _handoff
