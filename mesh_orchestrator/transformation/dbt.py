"""A domain's dbt project as Dagster assets: keys, groups and owners computed from the mesh's names.

dbt models live in ``models/<layer>/...`` (silver, gold); the first folder is the layer. Sources
named ``bronze`` are the domain's bronze assets, sources named ``ports`` are hand-offs of other
domains' products (table ``<domain>__<product>``). The manifest is parsed when it is missing or older
than the project's files, so a fresh clone loads without a separate build step.
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import cache, cached_property
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_shared.record import replace
from packaging.version import Version

from mesh_orchestrator.core import names
from mesh_orchestrator.core.contracts import Contract, contract_path, load_contract
from mesh_orchestrator.core.environment import ensure_environment, tool
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.partitions import PartitionSpec, partitions_def, run_range
from mesh_orchestrator.core.paths import dbt_parse_dir, dbt_run_dir
from mesh_orchestrator.core.spec import DomainSpec
from mesh_orchestrator.core.sql import identifier
from mesh_orchestrator.core.storage import domain_db
from mesh_orchestrator.orchestration.automation import gated_eager, with_target
from mesh_orchestrator.ports.pins import inputs_of, pin
from mesh_orchestrator.ports.tables import STAGING, stage
from mesh_orchestrator.transformation.manifest import Manifest

BRONZE_SOURCE = "bronze"
PORTS_SOURCE = "ports"
#: The one dbt profile of every domain (``profile: mesh``), beside the projects in ``dbt_projects/``.
PROFILES_FILE = "profiles.yml"
#: The var through which the shared profile names the domain: its DuckDB file and its masking key.
DOMAIN_VAR = "domain"
PROJECT_FILES = ("dbt_project.yml", f"../{PROFILES_FILE}")
PROJECT_FOLDERS = ("models", "macros", "tests", "seeds", "snapshots", "../_shared")
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
PARSE_DIGEST_LENGTH = 16
#: A parse of earlier project files is removed once unused for this long.
PARSE_KEEP_SECONDS = 24 * 3600
PARTITION_START_ENV = "MESH_PARTITION_START"
PARTITION_END_ENV = "MESH_PARTITION_END"


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
        return gated_eager(partitioned=dbt_resource_props["name"] in self.spec.partitioned_models)

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


def _source_digest(project_dir: Path) -> str:
    """A digest of everything dbt parses: the project's files, the shared macros and dbt's version."""
    digest = hashlib.sha256(str(installed_dbt_version()).encode())
    files = [project_dir / name for name in PROJECT_FILES]
    for folder in PROJECT_FOLDERS:
        files += sorted((project_dir / folder).rglob("*"))
    for path in files:
        if path.is_file():
            content = path.read_bytes()
            digest.update(f"{os.path.relpath(path, project_dir)}\0{len(content)}\0".encode())
            digest.update(content)
    return digest.hexdigest()[:PARSE_DIGEST_LENGTH]


def parse_target(spec: DomainSpec) -> Path:
    """The parse of the domain's dbt project as its files are now: ``<parse dir>/<domain>-<digest>``.

    In the data folder (or ``$MESH_DBT_PARSE_DIR``), never in the repository. Named by the files'
    content, so an edited project gets a parse of its own and an identical copy (a test's, a CI
    checkout's) finds the existing one.
    """
    return dbt_parse_dir() / f"{spec.name}-{_source_digest(spec.dbt_project)}"


def profiles_dir(spec: DomainSpec) -> Path:
    """The folder of the shared ``profiles.yml``: the one that holds the domains' dbt projects."""
    return spec.dbt_project.parent


def domain_vars(spec: DomainSpec) -> list[str]:
    """The ``--vars`` of every dbt command of a domain: the shared profile reads its ``domain``."""
    return ["--vars", json.dumps({DOMAIN_VAR: spec.name})]


def dbt_resource(project: DbtProject) -> MeshDbtCliResource:
    """The dbt CLI resource of a project, running the dbt installed beside the interpreter."""
    return MeshDbtCliResource(project_dir=project, dbt_executable=tool("dbt"))  # type: ignore[arg-type]  # accepts a DbtProject


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (code servers, tests) that may parse the same project."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prune_parses(spec: DomainSpec, keep: Path) -> None:
    """Remove the domain's parses of earlier project files that nothing used for a day."""
    pattern = re.compile(rf"{re.escape(spec.name)}-[0-9a-f]{{{PARSE_DIGEST_LENGTH}}}")
    cutoff = time.time() - PARSE_KEEP_SECONDS
    for folder in keep.parent.glob(f"{spec.name}-*"):
        if folder == keep or not pattern.fullmatch(folder.name):
            continue
        manifest = folder / "manifest.json"
        used = manifest if manifest.exists() else folder
        try:
            if used.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:
            continue


def _latest_parse_state(spec: DomainSpec, target: Path) -> Path | None:
    """The partial-parse state of the domain's latest parse of other project files, if any."""
    states = [
        state for state in target.parent.glob(f"{spec.name}-*/{PARTIAL_PARSE_FILE}") if state.parent != target
    ]
    with suppress(FileNotFoundError):
        return max(states, key=lambda state: state.stat().st_mtime, default=None)
    return None


def dbt_project(spec: DomainSpec) -> DbtProject:
    """The domain's dbt project, its manifest parsed if its files changed since the last parse.

    One process parses at a time, into a scratch folder whose results are moved into
    ``parse_target(spec)``, the manifest last: a process that finds the manifest finds all of it.
    The parse starts from the domain's latest parse state, so dbt re-parses only the changed files.
    """
    target = parse_target(spec)
    project = DbtProject(project_dir=spec.dbt_project, profiles_dir=profiles_dir(spec), target_path=target)
    manifest = Path(project.manifest_path)
    if manifest.exists():
        with suppress(OSError):  # marks the parse as in use (see _prune_parses)
            os.utime(manifest)
        return project
    ensure_environment()  # dbt reads MESH_DATA_DIR in its profile
    with _locked(target / ".mesh-parse.lock"):
        if not manifest.exists():  # another process may have parsed while this one waited
            scratch = Path(tempfile.mkdtemp(prefix="parse-", dir=target))
            try:
                previous = _latest_parse_state(spec, target)
                if previous is not None:  # dbt then re-parses only the files that changed
                    with suppress(FileNotFoundError):  # pruned meanwhile: a full parse
                        shutil.copyfile(previous, scratch / PARTIAL_PARSE_FILE)
                parse = ["parse", "--quiet", *domain_vars(spec)]
                dbt_resource(project).cli(parse, target_path=scratch).wait()
                for name in (PARTIAL_PARSE_FILE, "semantic_manifest.json", "manifest.json"):
                    if (scratch / name).exists():
                        os.replace(scratch / name, target / name)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    _prune_parses(spec, target)
    return project


@contextmanager
def partition_environment(bounds: Mapping[str, str]) -> Iterator[None]:
    """Set (or clear) the partition bounds dbt reads for the duration of one invocation.

    The dbt process inherits the step's environment; steps of a run execute one after another in
    its process, so no other invocation sees them. Environment variables rather than ``--vars``:
    dbt re-parses the whole project when vars change, but only the models using a changed
    environment variable.
    """
    saved = {name: os.environ.get(name) for name in (PARTITION_START_ENV, PARTITION_END_ENV)}
    for name in saved:
        if name in bounds:
            os.environ[name] = bounds[name]
        else:
            os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_target(spec: DomainSpec, project: DbtProject) -> Path:
    """Where the domain's dbt runs write: a stable folder in the data folder, ``dbt/<domain>``.

    Stable, so that dbt re-parses only what changed (runs of a domain never overlap: they share
    its pool); in the data folder, so that meshes on other data folders (tests, benchmarks) never
    share one. A new folder starts from the project's parse state.
    """
    folder = dbt_run_dir(spec.name)
    seed = Path(project.target_path) / PARTIAL_PARSE_FILE
    if not (folder / PARTIAL_PARSE_FILE).exists() and seed.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with suppress(FileNotFoundError):  # pruned meanwhile: dbt then parses in full
            shutil.copyfile(seed, folder / f".{PARTIAL_PARSE_FILE}.tmp")
            os.replace(folder / f".{PARTIAL_PARSE_FILE}.tmp", folder / PARTIAL_PARSE_FILE)
    return folder


def _dbt_multi_asset(
    spec: DomainSpec,
    project: DbtProject,
    name: str,
    select: str = "fqn:*",
    exclude: str | None = None,
    partitioning: PartitionSpec | None = None,
) -> dg.AssetsDefinition:
    """One ``dbt build`` per run over the selected models, tests reported as asset checks.

    A partitioned selection passes its run's window to dbt in the environment variables
    ``MESH_PARTITION_START``/``MESH_PARTITION_END`` (see ``dbt_projects/_shared/macros/partitions.sql``).
    """
    extra: dict[str, Any] = {}
    if partitioning is not None:
        extra = {
            "partitions_def": partitions_def(partitioning),
            "backfill_policy": dg.BackfillPolicy.single_run(),
        }

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=MeshDbtTranslator(spec),
        name=name,
        select=select,
        exclude=exclude,
        pool=names.pool(spec.name),
        **extra,
    )
    def _dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        bounds = {}
        if partitioning is not None:
            window = run_range(context)
            bounds = {
                PARTITION_START_ENV: window.start.isoformat(),
                PARTITION_END_ENV: window.end.isoformat(),
            }
        ensure_environment()  # what dbt reads: the data folder, telemetry off, its log file's level
        with domain_db(spec.name) as con:  # consumed products: one pinned snapshot for the whole run
            pins = pin(con, spec, context.run_id)
        pinned = {"input_snapshots": dg.MetadataValue.json(pins)} if pins else {}
        products = _product_outputs(spec)
        # A product's materialisation waits for its staging (dbt holds the database until it ends),
        # and its checks wait with it: a check recorded before its materialisation would look stale.
        held: dict[dg.AssetKey, list[Any]] = {}
        with partition_environment(bounds):
            try:
                for event in dbt.cli(
                    ["build", *domain_vars(spec)], context=context, target_path=run_target(spec, project)
                ).stream():
                    key = _asset_key_of(context, event)
                    if key in products:
                        held.setdefault(key, []).append(event)
                        continue
                    if isinstance(event, dg.Output):
                        event = event.with_metadata({**event.metadata, **pinned})
                    yield event
            except BaseException:
                for events in held.values():  # materialised, but a failed build stages nothing
                    yield from events
                raise
        for key, events in held.items():
            staged = stage_product(context, products[key], pins) if _materialised(events) else {}
            for event in events:
                if isinstance(event, dg.Output):
                    event = event.with_metadata({**event.metadata, **pinned, **staged})
                yield event

    return _dbt


def _asset_key_of(context: dg.AssetExecutionContext, event: Any) -> dg.AssetKey | None:
    """The asset a dbt event is about: a model's output, or the check of a model's test."""
    if isinstance(event, dg.Output):
        return context.asset_key_for_output(event.output_name)
    key = getattr(event, "asset_key", None)
    return key if isinstance(key, dg.AssetKey) else None


def _materialised(events: list[Any]) -> bool:
    return any(isinstance(event, dg.Output) for event in events)


def _product_outputs(spec: DomainSpec) -> dict[dg.AssetKey, Contract]:
    """The domain's products by the key of their gold model."""
    contracts = [load_contract(spec.name, product) for product in spec.products]
    return {names.asset_key(spec.name, "gold", c.model): c for c in contracts}


def stage_product(
    context: dg.AssetExecutionContext, contract: Contract, pins: Mapping[str, Any]
) -> dict[str, Any]:
    """Write of write-audit-publish: the gold table becomes a snapshot on the staging branch of the
    product's Iceberg table, in the provider's own run; its hand-off audits and publishes it."""
    consumed = [i.name for i in contract.inputs if i.kind == "product"]
    with domain_db(contract.domain, read_only=True) as con:
        relation = f"gold.{identifier(contract.model, 'contract model')}"
        staged = stage(contract, con, relation, context.run_id, inputs_of(pins, consumed))
    what = "unchanged, staging points at main" if staged.unchanged else f"version {staged.version} staged"
    context.log.info(
        f"{contract.id}: {what} ({staged.rows:,} rows, snapshot {staged.snapshot_id} on {STAGING!r})"
    )
    return {
        "iceberg_table": contract.id,
        "staged_snapshot_id": str(staged.snapshot_id),
        "staged_version": staged.version,
        "staged_unchanged": staged.unchanged,
    }


def _descendants(manifest: Manifest, models: Sequence[str]) -> set[str]:
    """Names of the models downstream of ``models`` (not themselves)."""
    found = manifest.downstream_models(manifest.model_id(m) for m in models)
    return {uid.rsplit(".", 1)[1] for uid in found} - set(models)


def build_dbt_assets(spec: DomainSpec, project: DbtProject) -> list[dg.AssetsDefinition]:
    """Silver and gold of the domain: one ``dbt build`` per run, tests reported as asset checks.

    A domain with ``partitioned_models`` gets three: the unpartitioned models they read, the
    partitioned models themselves, and the unpartitioned models that read them (a run of the domain's
    job runs them in that order, one dbt invocation each).
    """
    if not spec.partitioned_models:
        return [_dbt_multi_asset(spec, project, f"{spec.name}_dbt")]
    manifest = Manifest.from_json(
        json.loads(Path(project.manifest_path).read_text(encoding="utf-8")), spec.name
    )
    known = manifest.model_names()
    missing = [m for m in spec.partitioned_models if m not in known]
    if missing:
        raise SpecError(
            spec.path, "partitioned_models.models", f"no dbt model {missing[0]!r} in {project.project_dir}"
        )
    partitioned = " ".join(spec.partitioned_models)
    after = _descendants(manifest, spec.partitioned_models)
    loops = sorted(set(spec.partitioned_models) & _descendants(manifest, sorted(after)))
    if loops:
        raise SpecError(
            spec.path,
            "partitioned_models.models",
            f"{loops[0]!r} reads an unpartitioned model that reads a partitioned one: list it too, or none",
        )
    assets = [
        _dbt_multi_asset(
            spec, project, f"{spec.name}_dbt", exclude=" ".join(f"{m}+" for m in spec.partitioned_models)
        ),
        _dbt_multi_asset(
            spec,
            project,
            f"{spec.name}_dbt_{spec.models_partitioned_by.period}ly"
            if spec.models_partitioned_by
            else f"{spec.name}_dbt_partitioned",
            select=partitioned,
            partitioning=spec.models_partitioned_by,
        ),
    ]
    if after:
        assets.append(
            _dbt_multi_asset(spec, project, f"{spec.name}_dbt_downstream", select=" ".join(sorted(after)))
        )
    return assets
