"""A domain's dbt project as Dagster assets: keys, groups and owners computed from the mesh's names.

dbt models live in ``models/<layer>/...`` (silver, gold); the first folder is the layer. Sources
named ``bronze`` are the domain's bronze assets, sources named ``ports`` are hand-offs of other
domains' products (table ``<domain>__<product>``). The manifest is parsed when it is missing or older
than the project's files, so a fresh clone loads without a separate build step.
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

from collections.abc import Iterator, Mapping, Sequence
from functools import cache, cached_property
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_shared.record import replace
from packaging.version import Version

from mesh_orchestrator import names
from mesh_orchestrator.automation import gated_eager, with_target
from mesh_orchestrator.contracts import contract_path
from mesh_orchestrator.errors import SpecError
from mesh_orchestrator.spec import DomainSpec

BRONZE_SOURCE = "bronze"
PORTS_SOURCE = "ports"
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PROJECT_FOLDERS = ("models", "macros", "tests", "seeds", "snapshots", "../_shared")


@cache
def installed_dbt_version() -> Version:
    return Version(package_version("dbt-core"))


class MeshDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two fixed costs per domain that the mesh does not use.

    Stock ``DbtCliResource`` runs ``dbt --version`` in a subprocess once per resource (about 1.2 s;
    the locked dbt-core is the executable, so its package version is the answer), and opens a dbt
    adapter in-process before every invocation (up to 2 s), which only serves row-count and
    column-metadata fetching. Both hooks are private dagster-dbt API, pinned with dagster-dbt.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return installed_dbt_version()

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None


class MeshDbtTranslator(DagsterDbtTranslator):
    """Maps dbt resources to ``<domain>/<layer>/<name>`` keys of one domain."""

    def __init__(self, spec: DomainSpec) -> None:
        super().__init__()
        self.spec = spec

    def _layer(self, props: Mapping[str, Any]) -> str:
        fqn = props.get("fqn") or []
        layer = fqn[1] if len(fqn) > 2 else ""
        if layer not in names.LAYERS:
            raise SpecError(
                self.spec.dbt_project / str(props.get("original_file_path", "")),
                "path",
                f"dbt model {props.get('name')!r} must live under models/silver/ or models/gold/",
            )
        return str(layer)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        props = dbt_resource_props
        if props["resource_type"] == "source":
            if props["source_name"] == BRONZE_SOURCE:
                return names.asset_key(self.spec.name, "bronze", props["name"])
            if props["source_name"] == PORTS_SOURCE:
                return names.handoff_key(*names.parse_handoff_name(props["name"]))
            raise SpecError(
                self.spec.dbt_project,
                f"sources.{props['source_name']}",
                "a domain's dbt sources are 'bronze' (its feeds) or 'ports' (consumed products)",
            )
        return names.asset_key(self.spec.name, self._layer(props), props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return names.group_name(self.spec.name, self._layer(dbt_resource_props))

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return [self.spec.owner]

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition:
        return gated_eager()

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        """dbt tests run with their model in automated runs too (see ``automation.with_target``)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        return None if spec is None else replace(spec, automation_condition=with_target())

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        """Gold models of products also point at their data contract, the source of their dbt contract."""
        metadata = dict(super().get_metadata(dbt_resource_props))
        name = dbt_resource_props["name"]
        if dbt_resource_props["resource_type"] == "model" and name in self.spec.products:
            contract = contract_path(self.spec.name, name)
            if contract.exists():
                metadata["contract"] = dg.MetadataValue.path(str(contract))
        return metadata

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        layer = self._layer(dbt_resource_props)
        name = dbt_resource_props["name"]
        product = name if layer == "gold" and name in self.spec.products else None
        return {**super().get_tags(dbt_resource_props), **names.tags(self.spec.name, layer, product)}


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in PROJECT_FILES:
        path = project_dir / name
        if path.exists():
            newest = max(newest, path.stat().st_mtime)
    for folder in PROJECT_FOLDERS:
        for path in (project_dir / folder).rglob("*"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
    return newest


def dbt_project(spec: DomainSpec) -> DbtProject:
    """The domain's dbt project, its manifest parsed if missing or stale."""
    project = DbtProject(project_dir=spec.dbt_project, profiles_dir=spec.dbt_project)
    manifest = Path(project.manifest_path)
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(spec.dbt_project):
        DbtCliResource(project_dir=project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


def build_dbt_assets(spec: DomainSpec, project: DbtProject) -> dg.AssetsDefinition:
    """Silver and gold of the domain: one ``dbt build`` per run, tests reported as asset checks."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=MeshDbtTranslator(spec),
        name=f"{spec.name}_dbt",
        pool=names.pool(spec.name),
    )
    def _dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        # One stable target folder per project (runs of a domain never overlap: they share its
        # pool), so dbt re-parses only what changed instead of the whole project on every run.
        target = Path(project.project_dir) / "target" / "mesh_run"
        yield from dbt.cli(["build"], context=context, target_path=target).stream()

    return _dbt
