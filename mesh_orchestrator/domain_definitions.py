"""Turn a domain spec into the Definitions of its code location."""

from __future__ import annotations

import dagster as dg

from mesh_orchestrator import names
from mesh_orchestrator.automation import automation_sensor
from mesh_orchestrator.dbt import MeshDbtCliResource, build_dbt_assets, dbt_project, dbt_resource
from mesh_orchestrator.domain_assets import bronze_asset, landing_asset
from mesh_orchestrator.environment import ensure_environment
from mesh_orchestrator.ingestion import ingestion_triggers
from mesh_orchestrator.policies import Landscape, enforce
from mesh_orchestrator.spec import DomainSpec, load_domain_spec
from mesh_orchestrator.sql_checks import build_sql_checks


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


def build_domain_definitions(domain: str) -> dg.Definitions:
    """Everything of one domain: landing and bronze per feed, silver and gold from dbt, one job.

    Steps run in-process: they share one DuckDB file (one writer at a time) and Dagster's
    multiprocess executor would add a process start per step for no parallelism. The mesh's
    policies are enforced first: a violation stops the location from loading, saying what to fix.
    """
    ensure_environment()
    spec = load_domain_spec(domain)
    assets, dbt = domain_assets(spec)
    keys = {key for asset in assets for key in asset.keys}
    landscape = Landscape.load()
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
