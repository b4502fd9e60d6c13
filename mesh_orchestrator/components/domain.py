"""Turn a domain spec into the Definitions of its code location."""

from __future__ import annotations

import logging

import dagster as dg

from mesh_orchestrator.core import names
from mesh_orchestrator.core.contracts import contract_path
from mesh_orchestrator.core.environment import ensure_environment
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.spec import DomainSpec, load_domain_spec
from mesh_orchestrator.governance.policies import Landscape, enforce
from mesh_orchestrator.ingestion.assets import bronze_asset, landing_asset
from mesh_orchestrator.ingestion.triggers import ingestion_triggers
from mesh_orchestrator.orchestration.automation import automation_sensor
from mesh_orchestrator.quality.sql_checks import build_sql_checks
from mesh_orchestrator.transformation.dbt import (
    MeshDbtCliResource,
    build_dbt_assets,
    dbt_project,
    dbt_resource,
)

log = logging.getLogger(__name__)


def domain_assets(spec: DomainSpec) -> tuple[list[dg.AssetsDefinition], MeshDbtCliResource]:
    project = dbt_project(spec)
    assets: list[dg.AssetsDefinition] = []
    for feed in spec.feeds:
        assets += [landing_asset(spec, feed), bronze_asset(spec, feed)]
    assets += build_dbt_assets(spec, project)
    return assets, dbt_resource(project)


def asset_dependencies(assets: list[dg.AssetsDefinition]) -> dict[str, set[str]]:
    """Asset key -> the keys it depends on, as the policies read them."""
    return {
        key.to_user_string(): {dep.to_user_string() for dep in asset.asset_deps[key]}
        for asset in assets
        for key in asset.keys
    }


def check_consumed_contracts(spec: DomainSpec, landscape: Landscape) -> None:
    """A consumed product without a contract file is this domain's error (its spec names a product
    nobody publishes); a consumed contract that exists but is invalid is the provider's, to be fixed
    there: this location loads, its grant is judged by ``mesh check`` once the contract is fixed, and
    the meta-orchestrator leaves the provider's hand-offs out meanwhile."""
    for i, ref in enumerate(spec.consumes):
        error = landscape.contract_errors.get(ref)
        if error is None:
            continue
        if not contract_path(ref.domain, ref.product).is_file():
            raise SpecError(
                spec.path,
                f"consumes[{i}]",
                f"{ref} is not published: no contract {contract_path(ref.domain, ref.product)}",
            )
        log.warning(
            "code location %s: the contract of consumed product %s is invalid (%s); its grant to %s "
            "is not judged until team %s fixes it",
            spec.name,
            ref,
            error,
            spec.name,
            ref.domain,
        )


def build_domain_definitions(domain: str) -> dg.Definitions:
    """Everything of one domain: landing and bronze per feed, silver and gold from dbt, one job.

    Steps run in-process: they share one DuckDB file (one writer at a time) and Dagster's
    multiprocess executor would add a process start per step for no parallelism. The policies this
    location can answer alone are enforced first (``Landscape.for_domain``: its own spec, dbt
    project and contracts, and the contracts of what it consumes; consumed hand-off keys are names,
    not other domains' specs): a violation stops the location from loading, saying what to fix. A
    broken spec or contract of another domain does not stop it.
    """
    ensure_environment()
    spec = load_domain_spec(domain)
    landscape = Landscape.for_domain(spec)
    check_consumed_contracts(spec, landscape)
    assets, dbt = domain_assets(spec)
    keys = {key for asset in assets for key in asset.keys}
    landscape.asset_deps = asset_dependencies(assets)
    enforce(landscape, f"code location {domain}", domains=[domain])
    sensors, schedules = ingestion_triggers(spec)
    job = dg.define_asset_job(
        names.domain_job_name(domain),
        selection=dg.AssetSelection.all(),
        description=f"Every asset of {domain}: landing -> bronze -> silver -> gold, checks included.",
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=build_sql_checks(spec, keys),
        jobs=[job],
        sensors=[*sensors, automation_sensor(domain)],
        schedules=schedules,
        resources={"dbt": dbt},
        executor=dg.in_process_executor,
    )
