"""Blocking asset checks declared as SQL in a domain's spec (``checks:`` in ``defs.yaml``).

A check is a query against the domain's database that returns the rows in breach, and a message
template that says, for each row, what is wrong (``period 2026-02: off by 12.34``). No rows means
the check passes. Failing checks are blocking: the run fails and nothing downstream of the asset
in that run, such as a hand-off, is materialised.
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

from typing import Any

import dagster as dg

from mesh_orchestrator.core import names
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.spec import DomainSpec, SqlCheckSpec
from mesh_orchestrator.core.storage import domain_db
from mesh_orchestrator.orchestration.automation import with_target

#: Breaches listed in full in the check's description and metadata; the rest are counted.
SHOWN_BREACHES = 20


def format_breach(check: SqlCheckSpec, row: dict[str, Any]) -> str:
    try:
        return check.message.format(**row)
    except (KeyError, IndexError, ValueError) as exc:
        return f"{row} (message template {check.message!r} does not fit the row: {exc})"


def run_sql_check(domain: str, check: SqlCheckSpec) -> list[str]:
    """The breaches the check's query finds in the domain's database, as sentences."""
    with domain_db(domain, read_only=True) as con:
        cursor = con.execute(check.query)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall()
    return [format_breach(check, dict(zip(columns, row, strict=True))) for row in rows]


def _asset_check(spec: DomainSpec, check: SqlCheckSpec) -> dg.AssetChecksDefinition:
    asset_key = names.asset_key(spec.name, check.layer, check.model)

    @dg.asset_check(
        asset=asset_key,
        name=check.name,
        description=check.description or None,
        blocking=True,
        automation_condition=with_target(),
        pool=names.pool(spec.name),
        metadata={"query": dg.MetadataValue.md(f"```sql\n{check.query.strip()}\n```")},
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        breaches = run_sql_check(spec.name, check)
        shown = breaches[:SHOWN_BREACHES]
        more = f"; and {len(breaches) - len(shown)} more" if len(breaches) > len(shown) else ""
        for breach in shown:
            context.log.error(f"{check.name}: {breach}")
        return dg.AssetCheckResult(
            passed=not breaches,
            severity=dg.AssetCheckSeverity.ERROR,
            description=("; ".join(shown) + more) if breaches else None,
            metadata={
                "breaches": len(breaches),
                "first_breaches": dg.MetadataValue.md("\n".join(f"- {b}" for b in shown) or "none"),
            },
        )

    return _check


def build_sql_checks(spec: DomainSpec, asset_keys: set[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    """The spec's checks; each must name an asset the domain defines."""
    checks = []
    for i, check in enumerate(spec.checks):
        key = names.asset_key(spec.name, check.layer, check.model)
        if key not in asset_keys:
            raise SpecError(spec.path, f"checks[{i}].asset", f"no dbt model {check.model!r}")
        checks.append(_asset_check(spec, check))
    return checks
