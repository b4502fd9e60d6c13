"""A domain as a Dagster component: ``domains/<domain>/defs.yaml`` declares it, and its code location
is what the component builds (landing and bronze per feed, dbt, checks, triggers, one job)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from mesh_orchestrator.core import names
from mesh_orchestrator.core.contracts import contract_path
from mesh_orchestrator.core.environment import ensure_environment
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.spec import SPEC_FILE, DomainSpec, load_domain_spec
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


class DomainScaffoldParams(dg.Model):
    """What ``dg scaffold defs DomainComponent <name>`` asks for."""

    owner: str | None = Field(default=None, description="The owning team (default team:<name>).")


class DomainScaffolder(dg.Scaffolder[DomainScaffoldParams]):
    """A new domain's folder: its ``defs.yaml`` to fill in, its code location's module and its dg
    project file. The workspace entries (``workspace.yaml``, ``[tool.dg]``) are added by hand."""

    @classmethod
    def get_scaffold_params(cls) -> type[DomainScaffoldParams]:
        return DomainScaffoldParams

    def scaffold(self, request: dg.ScaffoldRequest[DomainScaffoldParams]) -> None:
        folder = Path(request.target_path)
        name = folder.name
        owner = request.params.owner or f"team:{name}"
        folder.mkdir(parents=True, exist_ok=True)
        files = {
            "__init__.py": "",
            SPEC_FILE: SCAFFOLD_DEFS.format(type=request.type_name, name=name, owner=owner),
            "definitions.py": SCAFFOLD_DEFINITIONS.format(name=name),
            "dg.toml": SCAFFOLD_DG_TOML.format(name=name),
        }
        for file, text in files.items():
            (folder / file).write_text(text, encoding="utf-8")


SCAFFOLD_DEFS = """\
# The {name} domain. Fill in its feeds and products (README "Adding a domain"); `mesh check
# --skip-run` says what is still missing.
type: {type}
attributes:
  name: {name}
  owner: {owner}
  description: ""
  dbt_project: dbt_projects/{name}
  feeds: {{}}
  products: []
  consumes: []
"""

SCAFFOLD_DEFINITIONS = '''"""The {name} code location: the DomainComponent that defs.yaml declares."""

from mesh_orchestrator.components.location import load_location

defs = load_location(__name__)
'''

SCAFFOLD_DG_TOML = """\
# dg project of the {name} code location; add {{ path = "domains/{name}" }} to the workspace in
# ../../pyproject.toml ([tool.dg.workspace]) and the location to workspace.yaml.
directory_type = "project"

[project]
root_module = ""
code_location_target_module = "domains.{name}.definitions"
code_location_name = "{name}"
"""


@dg.scaffold_with(DomainScaffolder)
class DomainComponent(dg.Component, dg.Resolvable, dg.Model):
    """A business domain of the mesh: its feeds, dbt project, data products and what it consumes.

    The attributes are the domain's declarative spec (README "Adding a domain"). Dagster checks
    their shape when the YAML loads; :func:`~mesh_orchestrator.core.spec.parse_domain_spec` then
    checks their meaning (folders, types, keys, partitions), naming the file and the field.
    """

    name: str = Field(description="The domain's name; also its folder, code location and asset key prefix.")
    owner: str = Field(description="The owning team, `team:<name>`, or an e-mail address.")
    description: str = ""
    dbt_project: str = Field(description="The domain's dbt project folder, from the repository root.")
    feeds: dict[str, dict[str, Any]] = Field(description="Landing feeds by name: format, key, columns.")
    products: list[str] = Field(default_factory=list, description="Gold models published as data products.")
    consumes: list[dict[str, str]] = Field(
        default_factory=list, description="Products of other domains read through ports: {domain, product}."
    )
    checks: list[dict[str, Any]] = Field(default_factory=list, description="Blocking SQL checks.")
    partitioned_models: dict[str, Any] | None = Field(
        default=None, description="dbt models partitioned by month: {period, start, models}."
    )
    schedules: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Cron sweeps of batch feeds, by feed name: {cron, timezone}."
    )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """The code location of the domain in this folder (its spec read from its ``defs.yaml``)."""
        return build_domain_definitions(Path(context.path).name)
