"""``mesh benchmark``: generate data at a scale, run the whole mesh, and say where the time goes.

It is a measurement, not a test: it prints figures beside the design's targets and never fails on
them. Everything happens in a fresh benchmark folder (default ``<data>/benchmark/scale-<N>``):

1. **generate** the landing files (timed apart: it is not part of the mesh time), then **parse**
   every domain's dbt project for the folder (timed apart too: the mesh is measured warm, as code
   servers load a parse made in advance, and as the floor's ``dbt compile`` is not counted);
2. **mesh**: a child process with ``MESH_DATA_DIR`` and ``DAGSTER_HOME`` pointing into the folder
   runs :func:`mesh_orchestrator.cli.run.run_mesh` (what ``mesh run`` does) against a fresh local
   Dagster instance. A child, because code locations fix their paths when they are imported. It
   records each run's wall time and steps, the seconds of the Great Expectations audits (the
   ``audit_seconds`` of each hand-off's ``contract_satisfied`` check), and the peak memory:
   ``ru_maxrss`` of the mesh process and of its largest child (dbt), and the resident memory of
   the whole process tree, sampled;
3. **floor**: another child replays the same SQL on DuckDB alone, without running Dagster, dbt or GX, into
   scratch databases under ``floor/``: per domain, in dependency order, landing ingestion and
   bronze (the platform's own functions), every dbt model of the domain as compiled by
   ``dbt compile`` (``CREATE OR REPLACE TABLE|VIEW ... AS``, topological order), every dbt test
   and SQL check of the spec as a query, and each product copied to Parquet as a hand-off stages
   it. Connections open and close as the mesh's assets do (closing checkpoints, so it is timed),
   and are opened as the mesh opens them: dbt's by dbt-duckdb from the project's profile, with its
   settings and the functions of its plugins (``mesh_hmac_pad`` for the ``mask_pii`` macro).
   Consumed products are read from the versions the mesh published (the same pinned ``ports``
   views a consumer's run binds), so each domain's floor covers
   that domain's SQL only; each product must come out with as many rows as the mesh published.

The summary compares the mesh's wall time with the floor (target: at most 1.5 times at scale
2000), the peak memory with 4 GiB, the GX audits' share of the mesh time with 10 %, and at scale 1
the mesh time with 60 s. The figures are also written to ``<folder>/benchmark.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesh_orchestrator.core.environment import tool
from mesh_orchestrator.core.errors import MeshError
from mesh_orchestrator.core.paths import DBT_PARSE_DIR_ENV, REPO_ROOT, data_dir

if TYPE_CHECKING:
    import duckdb

    from mesh_orchestrator.core.spec import DomainSpec

MARKER = ".mesh-benchmark"
RESULT_FILE = "benchmark.json"
MESH_RESULT_FILE = "mesh-result.json"
FLOOR_RESULT_FILE = "floor-result.json"
MESH_SUMMARY_FILE = "mesh-summary.txt"

DESIGN_SCALE = 2000
TARGET_RATIO = 1.5
TARGET_PEAK_MIB = 4096.0
TARGET_GX_SHARE = 0.10  # issue 12: Great Expectations at most 10 % of the mesh time
TARGET_SAMPLE_SECONDS = 60.0
SAMPLE_SCALE = 1
MIB = 1024 * 1024

#: Phases of a domain's Dagster run and of the floor, in the order they happen.
MESH_PHASES = ("landing", "bronze", "dbt", "checks", "handoff")
FLOOR_PHASES = ("landing", "bronze", "models", "tests", "checks", "handoff")

Log = Callable[[str], None]


class BenchmarkFolderError(MeshError):
    """The benchmark folder cannot be wiped safely."""


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class StepTiming:
    """One Dagster step of a mesh run: its wall time and the sampled peak of the process tree
    while it ran (None where ``/proc`` cannot be sampled)."""

    key: str
    phase: str
    seconds: float
    peak_mib: float | None = None


@dataclass
class RunTiming:
    """One Dagster run of the mesh (a domain's job or its hand-offs)."""

    location: str
    job: str
    domain: str
    success: bool
    seconds: float
    assets: int = 0
    rows: int = 0
    checks_failed: int = 0
    phases: dict[str, float] = field(default_factory=dict)
    gx_seconds: float = 0.0
    steps: list[StepTiming] = field(default_factory=list)
    peak_mib: float | None = None  # sampled peak of the process tree while the run ran

    @property
    def is_handoff(self) -> bool:
        return self.location != self.domain

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunTiming:
        values = dict(data)
        values["steps"] = [StepTiming(**s) for s in values.get("steps", [])]  # absent before steps
        return cls(**values)


@dataclass
class MeshMeasure:
    """What the mesh child measured."""

    seconds: float  # wall: child start (imports included) to the end of run_mesh
    runs: list[RunTiming]
    skipped: dict[str, str]
    success: bool
    failures: list[str]
    peak_self_mib: float  # ru_maxrss of the mesh process
    peak_children_mib: float  # ru_maxrss of its largest child (includes the parent's pages at spawn)
    peak_tree_mib: float | None  # sampled: the mesh process and its descendants together
    peak_child_sampled_mib: float | None  # sampled: the largest single descendant (dbt)

    @property
    def steps_seconds(self) -> float:
        return sum(r.seconds for r in self.runs)

    @property
    def gx_seconds(self) -> float:
        return sum(r.gx_seconds for r in self.runs)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.runs)

    @property
    def peak_mib(self) -> float:
        """The figure held against the target: the sampled peak of the process tree (at least the
        mesh process's own peak), else self + largest child, an upper bound."""
        if self.peak_tree_mib is not None:
            return max(self.peak_tree_mib, self.peak_self_mib)
        return self.peak_self_mib + self.peak_children_mib

    def domain_seconds(self, domain: str) -> float:
        return sum(r.seconds for r in self.runs if r.domain == domain)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MeshMeasure:
        values = dict(data)
        values["runs"] = [RunTiming.from_json(r) for r in values["runs"]]
        return cls(**values)


@dataclass
class FloorDomain:
    """The DuckDB-only replay of one domain."""

    domain: str
    phases: dict[str, float] = field(default_factory=dict)
    model_rows: int = 0
    models: int = 0
    tests: int = 0
    error: str | None = None
    mismatches: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())


@dataclass
class FloorMeasure:
    domains: list[FloorDomain]
    skipped: dict[str, str]
    compile_seconds: float
    peak_self_mib: float

    @property
    def seconds(self) -> float:
        return sum(d.seconds for d in self.domains)

    @property
    def complete(self) -> bool:
        """Every domain replayed, and to the same result as the mesh."""
        return all(d.error is None and not d.mismatches for d in self.domains)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FloorMeasure:
        values = dict(data)
        values["domains"] = [FloorDomain(**d) for d in values["domains"]]
        return cls(**values)


@dataclass
class BenchmarkResult:
    scale: int
    seed: int
    folder: str
    cpus: int
    generate_seconds: float
    generated_lines: dict[str, int]
    mesh: MeshMeasure
    floor: FloorMeasure | None = None
    #: dbt's parse of every domain's project for this data folder, made before the mesh is timed.
    parse_seconds: float = 0.0

    @property
    def ratio(self) -> float | None:
        if self.floor is None or not self.floor.complete or self.floor.seconds <= 0:
            return None
        return self.mesh.seconds / self.floor.seconds

    @property
    def gx_share(self) -> float:
        return self.mesh.gx_seconds / self.mesh.seconds if self.mesh.seconds > 0 else 0.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BenchmarkResult:
        """Read back what :meth:`to_json` wrote (``figures`` is derived, so it is dropped)."""
        values = {k: v for k, v in data.items() if k not in ("figures", "growth")}
        values["mesh"] = MeshMeasure.from_json(values["mesh"])
        if values.get("floor") is not None:
            values["floor"] = FloorMeasure.from_json(values["floor"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["figures"] = {
            "mesh_seconds": round(self.mesh.seconds, 3),
            "mesh_steps_seconds": round(self.mesh.steps_seconds, 3),
            "floor_seconds": None if self.floor is None else round(self.floor.seconds, 3),
            "mesh_over_floor": None if self.ratio is None else round(self.ratio, 3),
            "gx_seconds": round(self.mesh.gx_seconds, 3),
            "gx_share": round(self.gx_share, 4),
            "peak_mib": round(self.mesh.peak_mib, 1),
            "rows_reported": self.mesh.rows,
            "landing_lines": sum(self.generated_lines.values()),
            "targets": targets(self),
        }
        return data


def verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "n/a"
    return "OK" if value <= limit else "OVER"


def targets(result: BenchmarkResult) -> dict[str, dict[str, Any]]:
    """Each design target: its limit, the measured value and OK/OVER (n/a when not measured)."""
    checks: dict[str, dict[str, Any]] = {
        "mesh_over_floor": {"limit": TARGET_RATIO, "value": result.ratio},
        "peak_mib": {"limit": TARGET_PEAK_MIB, "value": result.mesh.peak_mib},
        "gx_share": {"limit": TARGET_GX_SHARE, "value": result.gx_share},
    }
    if result.scale == SAMPLE_SCALE:
        checks["sample_scale_seconds"] = {"limit": TARGET_SAMPLE_SECONDS, "value": result.mesh.seconds}
    for check in checks.values():
        check["verdict"] = verdict(check["value"], check["limit"])
        if isinstance(check["value"], float):
            check["value"] = round(check["value"], 4)
    return checks


# --------------------------------------------------------------------------------------------
# The benchmark folder


def default_folder(scale: int) -> Path:
    return data_dir() / "benchmark" / f"scale-{scale}"


def prepare_folder(folder: Path) -> Path:
    """Make ``folder`` a fresh, empty benchmark folder (with its marker) and return it, absolute.

    An existing folder is wiped only if it is empty or holds the marker of a previous benchmark,
    and never if it is the repository or one of its parents.
    """
    folder = folder.expanduser().resolve()
    if folder == REPO_ROOT or folder in REPO_ROOT.parents:
        raise BenchmarkFolderError(f"refusing to use {folder}: it holds the repository")
    if folder.exists():
        if not folder.is_dir():
            raise BenchmarkFolderError(f"{folder} exists and is not a folder")
        if any(folder.iterdir()) and not (folder / MARKER).is_file():
            raise BenchmarkFolderError(
                f"refusing to wipe {folder}: it is not empty and has no {MARKER} marker of a previous "
                "benchmark; pass an empty or new folder with --data-dir"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text(
        "Written by `mesh benchmark`; the next benchmark run with this folder wipes it.\n", encoding="utf-8"
    )
    return folder


# --------------------------------------------------------------------------------------------
# Memory


def _rusage_mib(who: int) -> float:
    """Peak resident set size in MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    raw = resource.getrusage(who).ru_maxrss
    return raw / MIB if sys.platform == "darwin" else raw / 1024


def parse_proc_stat(text: str) -> tuple[int, int]:
    """``(parent pid, resident pages)`` from a ``/proc/<pid>/stat`` line (the command name may
    hold spaces and parentheses, so fields are counted from its last ``)``)."""
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[21])


def process_tree_rss(root: int, proc: Path = Path("/proc")) -> dict[int, int] | None:
    """Resident bytes of ``root`` and of each of its descendants now, or None without ``/proc``."""
    if not proc.is_dir():
        return None
    children: dict[int, list[int]] = {}
    pages: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid, rss = parse_proc_stat((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
        pid = int(entry.name)
        pages[pid] = rss
        children.setdefault(ppid, []).append(pid)
    if root not in pages:
        return None
    page = os.sysconf("SC_PAGE_SIZE")
    tree: dict[int, int] = {}
    stack = [root]
    while stack:
        pid = stack.pop()
        tree[pid] = pages.get(pid, 0) * page
        stack.extend(children.get(pid, []))
    return tree


class TreeMemorySampler:
    """Samples, in a daemon thread, the resident memory of this process and its descendants:
    the peak of their sum and the peak of the largest single descendant (dbt).

    ``ru_maxrss`` of the children is no substitute on Linux: a child spawned by a process counts
    that process's resident pages at spawn time in its own peak.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_tree: int | None = None
        self.peak_child = 0
        #: (epoch seconds, bytes of the tree): a few hundred KiB for an hour, read per run and step
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        root = os.getpid()
        while not self._stop.is_set():
            tree = process_tree_rss(root)
            if tree is None:
                return
            total = sum(tree.values())
            self.samples.append((time.time(), total))
            self.peak_tree = max(self.peak_tree or 0, total)
            self.peak_child = max([self.peak_child, *(v for k, v in tree.items() if k != root)])
            self._stop.wait(self.interval)

    def start(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def peak_between(self, start: float, end: float) -> float | None:
        """The sampled peak of the tree, in MiB, from ``start`` to ``end`` (epoch seconds): the
        samples inside, and the last one before (a step shorter than the interval has none)."""
        inside = [b for t, b in self.samples if start <= t <= end]
        before = [b for t, b in self.samples if t < start]
        seen = inside + before[-1:]
        return max(seen) / MIB if seen else None

    def stop(self) -> tuple[float | None, float | None]:
        """Stop sampling: (peak of the tree, peak of the largest child) in MiB, None where
        ``/proc`` cannot be sampled."""
        self._stop.set()
        self._thread.join(timeout=5)
        if self.peak_tree is None:
            return None, None
        return self.peak_tree / MIB, self.peak_child / MIB


# --------------------------------------------------------------------------------------------
# Mesh child: run_mesh against a fresh instance in the benchmark folder


def step_phase(step_key: str) -> str:
    """Which phase a Dagster step of the mesh belongs to, from its step key."""
    if step_key.startswith("mesh__handoff__"):
        return "handoff"
    if "__landing__" in step_key:
        return "landing"
    if "__bronze__" in step_key:
        return "bronze"
    if "__" not in step_key and "_dbt" in step_key:  # <domain>_dbt, finance_dbt_monthly, ..._downstream
        return "dbt"
    return "checks"


def _parse_child() -> int:
    """Parse every domain's dbt project into this data folder's parse state (``dbt_project``)."""
    from mesh_orchestrator.core.spec import load_all_specs
    from mesh_orchestrator.transformation.dbt import dbt_project

    for spec in load_all_specs().values():
        dbt_project(spec)
    return 0


def _mesh_child(out: Path) -> int:
    started = time.monotonic()
    sampler = TreeMemorySampler().start()
    from mesh_orchestrator.orchestration.instance import ensure_dagster_home

    ensure_dagster_home()
    import dagster as dg

    from mesh_orchestrator.cli.run import format_summary, run_mesh
    from mesh_orchestrator.core import names
    from mesh_orchestrator.ports.handoff import AUDIT_SECONDS

    with dg.DagsterInstance.get() as instance:
        summary = run_mesh(instance, log=lambda msg: print(msg, flush=True))
        seconds = time.monotonic() - started
        peak_tree, peak_child = sampler.stop()
        peak_self = _rusage_mib(resource.RUSAGE_SELF)
        peak_children = _rusage_mib(resource.RUSAGE_CHILDREN)
        runs = []
        for step in summary.steps:
            handoff = step.location == names.MESH
            domain = step.job.removeprefix(names.handoff_job_name("")) if handoff else step.location
            timing = RunTiming(
                location=step.location,
                job=step.job,
                domain=domain,
                success=step.success and not step.checks_failed,
                seconds=step.seconds,
                assets=step.materialised,
                rows=step.rows,
                checks_failed=step.checks_failed,
            )
            if step.run_id is not None:
                run_record = instance.get_run_record_by_id(step.run_id)
                if run_record is not None and run_record.start_time and run_record.end_time:
                    timing.peak_mib = sampler.peak_between(run_record.start_time, run_record.end_time)
                for stats in instance.get_run_step_stats(step.run_id):
                    if stats.start_time is not None and stats.end_time is not None:
                        phase = step_phase(stats.step_key)
                        secs = stats.end_time - stats.start_time
                        timing.phases[phase] = timing.phases.get(phase, 0.0) + secs
                        peak = sampler.peak_between(stats.start_time, stats.end_time)
                        timing.steps.append(StepTiming(stats.step_key, phase, secs, peak))
                records = instance.get_records_for_run(
                    step.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=10_000
                ).records
                for record in records:
                    event = record.event_log_entry.dagster_event
                    if event is None:
                        continue
                    entry = event.event_specific_data.metadata.get(AUDIT_SECONDS)  # type: ignore[union-attr]
                    if entry is not None and isinstance(entry.value, int | float):
                        timing.gx_seconds += float(entry.value)
            runs.append(timing)
    failures = [f"{s.location}/{s.job}: {c}" for s in summary.steps for c in s.failed_checks]
    failures += [
        f"{s.location}/{s.job}: {s.error.splitlines()[0]}"
        for s in summary.steps
        if s.error and not s.failed_checks
    ]
    failures += [f"{p.ref}: {p.status}" for p in summary.products if p.status == "gate_failed"]
    measure = MeshMeasure(
        seconds=seconds,
        runs=runs,
        skipped=dict(summary.skipped),
        success=summary.success,
        failures=failures,
        peak_self_mib=peak_self,
        peak_children_mib=peak_children,
        peak_tree_mib=peak_tree,
        peak_child_sampled_mib=peak_child,
    )
    (out.parent / MESH_SUMMARY_FILE).write_text(format_summary(summary) + "\n", encoding="utf-8")
    out.write_text(json.dumps(asdict(measure), indent=2), encoding="utf-8")
    return 0


# --------------------------------------------------------------------------------------------
# Floor child: the same SQL on DuckDB alone


def _quoted(*parts: str) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in parts)


def model_statement(node: Mapping[str, Any]) -> str | None:
    """``CREATE OR REPLACE TABLE|VIEW`` for a compiled model; None for an ephemeral one (it is
    inlined into its dependants' compiled SQL)."""
    materialized = node.get("config", {}).get("materialized", "table")
    if materialized == "ephemeral":
        return None
    kind = "VIEW" if materialized == "view" else "TABLE"
    relation = node.get("relation_name") or _quoted(node["database"], node["schema"], node["alias"])
    sql = str(node["compiled_code"]).strip().rstrip(";").rstrip()
    return f"CREATE OR REPLACE {kind} {relation} AS (\n{sql}\n)"


def dbt_test_statement(node: Mapping[str, Any]) -> str:
    """A dbt data test as dbt runs it: count the rows the test's query returns."""
    sql = str(node["compiled_code"]).strip().rstrip(";").rstrip()
    return f"SELECT count(*) FROM (\n{sql}\n) dbt_internal_test"


def compile_project(spec: DomainSpec, target: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """``dbt compile`` into ``target`` (not the project's own target folder); its manifest."""
    from mesh_orchestrator.transformation.dbt import domain_vars, profiles_dir

    command = [
        tool("dbt"),
        "compile",
        "--project-dir",
        str(spec.dbt_project),
        "--profiles-dir",
        str(profiles_dir(spec)),
        *domain_vars(spec),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
        "--quiet",
    ]
    done = subprocess.run(command, env=dict(env), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise MeshError(f"dbt compile of {spec.name} failed:\n{tail}")
    manifest: dict[str, Any] = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    return manifest


DbtConnect = Callable[[], AbstractContextManager["duckdb.DuckDBPyConnection"]]


def dbt_connector(spec: DomainSpec, path: Path) -> DbtConnect:
    """Connections to ``path`` opened as dbt-duckdb opens the project's database for ``dbt run``.

    The project's profile (default target) is rendered by dbt, ``env_var()`` and all, and dbt-duckdb's
    own code opens each connection from it: the profile's extensions, settings (the memory limit)
    and plugins, among them ``mesh_orchestrator.transformation.dbt_plugin`` with the ``mesh_hmac_pad``
    function that the ``mask_pii`` macro calls. Only the file differs: the floor's, whose stem (the database
    name of the compiled SQL) is the profile's.
    """
    import yaml
    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.adapters.duckdb.environments import Environment
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    from mesh_orchestrator.transformation.dbt import DOMAIN_VAR, PROFILES_FILE, profiles_dir

    project = yaml.safe_load((spec.dbt_project / "dbt_project.yml").read_text(encoding="utf-8"))
    name = str(project["profile"])
    set_invocation_context(dict(os.environ))  # what env_var() in the profile reads
    raw = read_profile(str(profiles_dir(spec)))
    if name not in raw:
        raise MeshError(
            f"{profiles_dir(spec) / PROFILES_FILE} has no profile {name!r} (dbt_project.yml names it)"
        )
    renderer = ProfileRenderer({DOMAIN_VAR: spec.name})  # as `--vars` gives it to dbt
    target, data = Profile.render_profile(raw[name], name, None, renderer)
    if data.pop("type", None) != "duckdb":
        raise MeshError(f"profile {name!r}, target {target!r}: the floor replays DuckDB profiles only")
    data.pop("threads", None)
    data = DuckDBCredentials.translate_aliases(data)
    DuckDBCredentials.validate(data)
    credentials = replace(DuckDBCredentials.from_dict(data), path=str(path))
    if Path(credentials.path).stem != path.stem:
        raise MeshError(f"profile {name!r} names {credentials.path}, the floor expects {path}")
    plugins = Environment.initialize_plugins(credentials)  # once, as dbt does per process

    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        con = Environment.initialize_db(credentials, plugins)
        try:
            cursor = Environment.initialize_cursor(credentials, con.cursor(), plugins)
            try:
                yield cursor
            finally:
                cursor.close()
        finally:
            con.close()

    return connect


@contextmanager
def _timed(phases: dict[str, float], name: str) -> Iterator[None]:
    """Add the wall time of the block to ``phases[name]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - started


def replay_domain(domain: str, folder: Path, manifest: Mapping[str, Any]) -> FloorDomain:
    """Replay one domain's SQL on a fresh DuckDB file under ``folder/floor``, timed per phase.

    Connections follow the mesh's pattern, and their opening and closing (the checkpoint) are
    timed with the work: one per landing and per bronze feed (each is a Dagster asset), one for
    the dbt models and one for the dbt tests, a read-only one per SQL check and per hand-off. They
    are opened as the mesh opens them: the platform's by :func:`mesh_orchestrator.core.storage.connect`,
    dbt's by dbt-duckdb from the project's profile (:func:`dbt_connector`, so the models find the
    functions of the profile's plugins, such as ``mesh_hmac_pad``). The result is
    checked against the mesh's: bronze must reconcile and each product must have as many rows as
    the version the mesh published.
    """
    import duckdb

    from mesh_orchestrator.core.contracts import load_contract
    from mesh_orchestrator.core.spec import load_domain_spec
    from mesh_orchestrator.core.sql import identifier, literal
    from mesh_orchestrator.core.storage import connect as open_database
    from mesh_orchestrator.core.storage import fetch_one
    from mesh_orchestrator.ingestion.bronze import build_bronze, quarantine_reasons
    from mesh_orchestrator.ingestion.landing import ingest_feed
    from mesh_orchestrator.ports.pins import pin
    from mesh_orchestrator.ports.tables import current_version
    from mesh_orchestrator.transformation.manifest import Manifest

    spec = load_domain_spec(domain)
    nodes: Mapping[str, Mapping[str, Any]] = manifest["nodes"]
    models = [nodes[n] for n in Manifest(nodes, domain).models_in_order()]
    tests = [n for _, n in sorted(nodes.items()) if n.get("resource_type") == "test"]
    databases = {n["database"] for n in models} or {domain}
    if len(databases) != 1:
        raise MeshError(f"{domain}: dbt models in several databases {sorted(databases)}")
    # Compiled SQL names relations "<database>"."<schema>"."<name>"; the database is the profile
    # file's stem, so the floor's file gets the same stem and the names resolve unchanged.
    (database,) = databases
    path = folder / "floor" / "warehouse" / f"{database}.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)  # landing skips files it has seen: start empty
    out = folder / "floor" / "products" / domain
    out.mkdir(parents=True, exist_ok=True)
    result = FloorDomain(domain, {p: 0.0 for p in FLOOR_PHASES}, models=len(models), tests=len(tests))
    phases = result.phases

    def connect(read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return open_database(path, read_only=read_only)

    try:
        dbt_connect = dbt_connector(spec, path)
        with connect() as con:
            (current,) = fetch_one(con, "SELECT current_database()")
        if current != database:
            raise MeshError(f"{path} opened as database {current!r}, compiled SQL expects {database!r}")
        for feed in spec.feeds:
            with _timed(phases, "landing"), connect() as con:
                ingest_feed(con, feed, folder / "landing" / domain / feed.name)
                fetch_one(con, f"SELECT count(*) FROM landing.{identifier(feed.name)}")
        for feed in spec.feeds:
            with _timed(phases, "bronze"), connect() as con:
                rec = build_bronze(con, feed)
                quarantine_reasons(con, feed)
            if not rec.holds:
                result.mismatches.append(f"bronze.{feed.name} does not reconcile: {rec}")
        with _timed(phases, "models"), dbt_connect() as con:
            pin(con, spec, "benchmark-floor")  # the ports views, as a consumer's run binds them
            for schema in sorted({n["schema"] for n in models}):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quoted(database, schema)}")
            for node in models:
                statement = model_statement(node)
                if statement is not None:
                    con.execute(statement)
        with _timed(phases, "tests"), dbt_connect() as con:
            for node in tests:
                con.execute(dbt_test_statement(node)).fetchall()
        for check in spec.checks:
            with _timed(phases, "checks"), connect(read_only=True) as con:
                con.execute(check.query).fetchall()
        for product in spec.products:
            contract = load_contract(domain, product)
            keys = [identifier(k, "primary key") for k in contract.primary_key] or ["ALL"]
            target = literal(str(out / f"{product}.parquet"))
            with _timed(phases, "handoff"), connect(read_only=True) as con:
                con.execute(
                    f"COPY (SELECT * FROM gold.{identifier(contract.model)} ORDER BY {', '.join(keys)}) "
                    f"TO {target} (FORMAT parquet)"
                )
        # Outside the timing: how much was built, and whether it is what the mesh published.
        with connect(read_only=True) as con:
            for node in models:
                if node.get("config", {}).get("materialized") not in ("view", "ephemeral"):
                    relation = node.get("relation_name") or _quoted(
                        node["database"], node["schema"], node["alias"]
                    )
                    result.model_rows += int(fetch_one(con, f"SELECT count(*) FROM {relation}")[0])
        with duckdb.connect() as scratch:
            for product in spec.products:
                published = current_version(domain, product)
                parquet = literal(str(out / f"{product}.parquet"))
                (rows,) = fetch_one(scratch, f"SELECT count(*) FROM {parquet}")
                if published is None or published.rows != rows:
                    mesh_rows = "nothing" if published is None else f"{published.rows:,} rows"
                    result.mismatches.append(
                        f"{domain}.{product}: floor {rows:,} rows, mesh published {mesh_rows}"
                    )
    except Exception as exc:
        message = str(exc).strip()
        result.error = f"{type(exc).__name__}: {message.splitlines()[0] if message else ''}"
    return result


def _floor_child(folder: Path, domains: list[str], out: Path) -> int:
    from mesh_orchestrator.core.spec import load_all_specs

    specs = load_all_specs()
    env = dict(os.environ)
    measure = FloorMeasure(domains=[], skipped={}, compile_seconds=0.0, peak_self_mib=0.0)
    for domain in domains:
        if domain not in specs:
            measure.skipped[domain] = "no such domain"
            continue
        started = time.perf_counter()
        try:
            manifest = compile_project(specs[domain], folder / "floor" / "dbt" / domain, env)
        except MeshError as exc:  # the floor cannot replay the domain: it is incomplete
            measure.domains.append(FloorDomain(domain, error=str(exc)))
            print(f"[floor] {domain}: failed: {exc}", flush=True)
            continue
        finally:
            measure.compile_seconds += time.perf_counter() - started
        print(f"[floor] {domain} ...", flush=True)
        floor = replay_domain(domain, folder, manifest)
        status = f"failed: {floor.error}" if floor.error else "ok"
        if floor.mismatches:
            status += "; differs from the mesh: " + "; ".join(floor.mismatches)
        print(f"[floor] {domain}: {status} in {floor.seconds:.1f}s", flush=True)
        measure.domains.append(floor)
    measure.peak_self_mib = _rusage_mib(resource.RUSAGE_SELF)
    out.write_text(json.dumps(asdict(measure), indent=2), encoding="utf-8")
    return 0


# --------------------------------------------------------------------------------------------
# Report


def _secs(value: float | None, width: int = 8) -> str:
    if not value:
        return f"{'-':>{width}}"
    return f"{value:>{width}.1f}"


def format_mesh_table(mesh: MeshMeasure) -> list[str]:
    header = (
        f"{'location':<13}{'job':<26}{'status':<8}{'secs':>7}"
        + "".join(f"{p:>9}" for p in MESH_PHASES)
        + f"{'GX':>7}{'assets':>8}{'rows':>14}"
    )
    lines = [header, "-" * len(header)]
    for run in mesh.runs:
        lines.append(
            f"{run.location:<13}{run.job:<26}{'ok' if run.success else 'FAILED':<8}{run.seconds:>7.1f}"
            + "".join(_secs(run.phases.get(p), 9) for p in MESH_PHASES)
            + f"{_secs(run.gx_seconds, 7)}{run.assets:>8}{run.rows:>14,}"
        )
    for domain, reason in mesh.skipped.items():
        lines.append(f"{domain:<13}{'(skipped)':<26}{reason}")
    lines.append("-" * len(header))
    phase_totals = [sum(r.phases.get(p, 0.0) for r in mesh.runs) for p in MESH_PHASES]
    lines.append(
        f"{'runs':<13}{'':<26}{'':<8}{mesh.steps_seconds:>7.1f}"
        + "".join(_secs(t, 9) for t in phase_totals)
        + f"{_secs(mesh.gx_seconds, 7)}{sum(r.assets for r in mesh.runs):>8}{mesh.rows:>14,}"
    )
    lines.append(
        f"{'outside runs':<47}{mesh.seconds - mesh.steps_seconds:>7.1f}"
        "  (Python start, imports, loading the code locations)"
    )
    lines.append(f"{'mesh wall time':<47}{mesh.seconds:>7.1f}")
    return lines


#: Steps listed in the summary, slowest first (all of them are in benchmark.json).
SLOWEST_STEPS = 15


def format_steps_table(mesh: MeshMeasure, limit: int = SLOWEST_STEPS) -> list[str]:
    """The slowest steps with the sampled peak memory of the process tree while each ran."""
    steps = sorted(((run, step) for run in mesh.runs for step in run.steps), key=lambda rs: -rs[1].seconds)
    if not steps:
        return []
    header = f"{'step':<58}{'run':<26}{'secs':>8}{'peak MiB':>10}"
    lines = [header, "-" * len(header)]
    for run, step in steps[:limit]:
        peak = f"{step.peak_mib:>10,.0f}" if step.peak_mib is not None else f"{'-':>10}"
        lines.append(f"{step.key[:57]:<58}{run.job[:25]:<26}{step.seconds:>8.1f}{peak}")
    if len(steps) > limit:
        lines.append(f"... and {len(steps) - limit} faster steps (benchmark.json lists them all)")
    return lines


def format_floor_table(mesh: MeshMeasure, floor: FloorMeasure) -> list[str]:
    header = (
        f"{'domain':<13}"
        + "".join(f"{p:>9}" for p in FLOOR_PHASES)
        + f"{'floor':>8}{'mesh':>8}{'ratio':>7}{'model rows':>14}"
    )
    lines = [header, "-" * len(header)]
    for d in floor.domains:
        mesh_secs = mesh.domain_seconds(d.domain)
        ratio = f"{mesh_secs / d.seconds:>7.1f}" if d.seconds > 0 and not d.error else f"{'-':>7}"
        lines.append(
            f"{d.domain:<13}"
            + "".join(f"{d.phases.get(p, 0.0):>9.2f}" for p in FLOOR_PHASES)
            + f"{d.seconds:>8.1f}{mesh_secs:>8.1f}{ratio}{d.model_rows:>14,}"
        )
        if d.error:
            lines.append(f"    floor failed: {d.error[:500]}")
        lines += [f"    differs from the mesh: {m[:500]}" for m in d.mismatches]
    for domain, reason in floor.skipped.items():
        lines.append(f"{domain:<13}(skipped) {reason[:500]}")
    lines.append("-" * len(header))
    totals = [sum(d.phases.get(p, 0.0) for d in floor.domains) for p in FLOOR_PHASES]
    mesh_domains = sum(mesh.domain_seconds(d.domain) for d in floor.domains)
    ratio = f"{mesh_domains / floor.seconds:>7.1f}" if floor.seconds > 0 else f"{'-':>7}"
    lines.append(
        f"{'total':<13}"
        + "".join(f"{t:>9.2f}" for t in totals)
        + f"{floor.seconds:>8.1f}{mesh_domains:>8.1f}{ratio}{sum(d.model_rows for d in floor.domains):>14,}"
    )
    lines.append(
        "mesh = the domain's Dagster run + its hand-off run; floor = the same SQL on DuckDB alone "
        f"(dbt compile, {floor.compile_seconds:.1f}s, not counted)"
    )
    return lines


def format_summary(result: BenchmarkResult) -> str:
    mesh = result.mesh
    t = targets(result)
    lines = [
        "",
        f"Mesh benchmark: scale {result.scale}, seed {result.seed}, {result.cpus} CPU(s)",
        "=" * 60,
        f"folder {result.folder}",
        "",
        "Mesh runs (seconds; phases are the runs' Dagster steps, GX is inside hand-off)",
        "",
        *format_mesh_table(mesh),
    ]
    steps = format_steps_table(mesh)
    if steps:
        lines += ["", "Slowest steps (seconds; peak = the process tree's, sampled while the step ran)", ""]
        lines += steps
    if result.floor is not None:
        lines += ["", "DuckDB-only floor per domain (seconds)", "", *format_floor_table(mesh, result.floor)]
    lines += ["", "Summary", "-------"]
    lines.append(
        f"  {'generate (not in mesh time)':<34}{result.generate_seconds:>9.1f} s   "
        f"{sum(result.generated_lines.values()):,} landing lines"
    )
    lines.append(
        f"  {'dbt parse (not in mesh time)':<34}{result.parse_seconds:>9.1f} s   "
        "every project, for this data folder, before the mesh"
    )
    lines.append(f"  {'mesh wall time':<34}{mesh.seconds:>9.1f} s   {mesh.rows:,} rows reported by the runs")
    if result.floor is None:
        lines.append(f"  {'DuckDB-only floor':<34}{'skipped':>9}")
    else:
        ratio = t["mesh_over_floor"]
        shown = "-" if result.ratio is None else f"{result.ratio:.2f}"
        lines.append(
            f"  {'DuckDB-only floor':<34}{result.floor.seconds:>9.1f} s   mesh/floor {shown:>6}"
            f"   target <= {TARGET_RATIO:g}      {ratio['verdict']}"
        )
    peak = t["peak_mib"]
    how = "process tree, sampled" if mesh.peak_tree_mib is not None else "mesh + largest child"
    lines.append(
        f"  {'peak memory (' + how + ')':<34}{mesh.peak_mib:>9,.0f} MiB"
        f"{'':<17}target <= {TARGET_PEAK_MIB:,.0f} MiB {peak['verdict']}"
    )
    lines.append(f"  {'  mesh process (ru_maxrss)':<34}{mesh.peak_self_mib:>9,.0f} MiB")
    if mesh.peak_child_sampled_mib is not None:
        lines.append(f"  {'  largest child, dbt (sampled)':<34}{mesh.peak_child_sampled_mib:>9,.0f} MiB")
    lines.append(
        f"  {'  largest child (ru_maxrss)':<34}{mesh.peak_children_mib:>9,.0f} MiB"
        "   (Linux counts the parent's pages at spawn in it)"
    )
    if result.floor is not None:
        lines.append(f"  {'  DuckDB-only floor (ru_maxrss)':<34}{result.floor.peak_self_mib:>9,.0f} MiB")
    gx = t["gx_share"]
    lines.append(
        f"  {'Great Expectations audits':<34}{mesh.gx_seconds:>9.1f} s   share {result.gx_share:>6.1%}"
        f"   target <= {TARGET_GX_SHARE:.0%}       {gx['verdict']}"
    )
    if "sample_scale_seconds" in t:
        lines.append(
            f"  {'sample scale, whole mesh':<34}{mesh.seconds:>9.1f} s{'':<20}"
            f"target <= {TARGET_SAMPLE_SECONDS:g} s    {t['sample_scale_seconds']['verdict']}"
        )
    if result.scale != DESIGN_SCALE:
        lines.append(
            f"  (the ratio, memory and GX targets are set for scale {DESIGN_SCALE}, 10 million sales "
            f"lines; the 60 s target for scale {SAMPLE_SCALE} on 2 CPUs)"
        )
    if mesh.success:
        lines.append("  gates: all passed")
    else:
        lines.append("  gates: FAILED; figures cover what ran (details in mesh-summary.txt):")
        lines += [f"    {f[:300]}" for f in mesh.failures[:20]]
        lines += [f"    {d} skipped: {r}" for d, r in mesh.skipped.items()]
    if result.floor is not None and not result.floor.complete:
        lines.append("  floor: INCOMPLETE, so no ratio:")
        for d in result.floor.domains:
            if d.error:
                lines.append(f"    {d.domain} failed: {d.error[:300]}")
            lines += [f"    {d.domain} differs from the mesh: {m[:300]}" for m in d.mismatches]
    missing = [d for d, n in result.generated_lines.items() if n == 0]
    if missing:
        lines.append(f"  no landing data generated for: {', '.join(missing)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Parent: the `mesh benchmark` command


def _child(mode: str, args: Iterable[str], env: Mapping[str, str]) -> None:
    command = [sys.executable, "-m", "mesh_orchestrator.devtools.benchmark", mode, *args]
    done = subprocess.run(command, env=dict(env), cwd=REPO_ROOT, check=False)
    if done.returncode != 0:
        raise MeshError(f"the benchmark's {mode} process exited with {done.returncode}")


def run_benchmark(
    scale: int,
    seed: int,
    folder: Path | None = None,
    skip_floor: bool = False,
    log: Log = print,
    compare: Path | None = None,
) -> BenchmarkResult:
    """Generate, parse, run the mesh (and the floor), print the summary and write benchmark.json.

    ``compare``: an earlier ``benchmark.json`` (or its folder), read before this folder is wiped;
    the summary then shows how every figure grew (``benchmark_growth``).
    """
    if isinstance(scale, bool) or scale < 1:
        raise MeshError(f"--scale must be a positive integer, got {scale!r}")
    baseline = None
    if compare is not None:
        from mesh_orchestrator.devtools.benchmark_growth import load_baseline

        baseline = load_baseline(compare)  # before the wipe: it may be this very folder's
    from mesh_orchestrator.core.spec import load_all_specs
    from mesh_orchestrator.devtools.generate import generate

    folder = prepare_folder(folder or default_folder(scale))
    specs = load_all_specs()
    log(f"Benchmark folder {folder} (scale {scale}, seed {seed})")
    log("Generating landing files ...")
    started = time.perf_counter()
    report = generate(folder, scale=scale, seed=seed, progress=lambda msg: log(f"  {msg}"))
    generate_seconds = time.perf_counter() - started
    lines = {d: 0 for d in specs}
    for (domain, _feed), feed in report.feeds.items():
        lines[domain] = lines.get(domain, 0) + feed.rows
    log(f"Generated {sum(lines.values()):,} landing lines in {generate_seconds:.1f}s (not part of the mesh)")
    os.sync()  # the generator's dirty pages are flushed now, not during the mesh's time

    env = {
        **os.environ,
        "MESH_DATA_DIR": str(folder),
        "DAGSTER_HOME": str(folder / "dagster_home"),
        DBT_PARSE_DIR_ENV: str(folder / "dbt-parse"),
    }
    # The mesh is timed warm, as the floor's `dbt compile` is not counted: code servers load a parse
    # made in advance (docker/ makes it when the image is built). Made for this data folder, since
    # dbt re-parses in full when its profile (the DuckDB file's path) differs from the parse's.
    log("\nParsing every domain's dbt project for this data folder ...")
    started = time.perf_counter()
    _child("parse", [], env)
    parse_seconds = time.perf_counter() - started
    log(f"Parsed in {parse_seconds:.1f}s (not part of the mesh)")
    log("\nRunning the whole mesh ...")
    _child("mesh", ["--out", str(folder / MESH_RESULT_FILE)], env)
    mesh = MeshMeasure.from_json(json.loads((folder / MESH_RESULT_FILE).read_text(encoding="utf-8")))

    floor = None
    if not skip_floor:
        ran = list(dict.fromkeys(r.domain for r in mesh.runs if not r.is_handoff))
        os.sync()  # nor the mesh's during the floor's
        log("\nReplaying the same SQL on DuckDB alone (the floor) ...")
        _child(
            "floor",
            ["--folder", str(folder), "--out", str(folder / FLOOR_RESULT_FILE), "--domains", *ran],
            env,
        )
        floor = FloorMeasure.from_json(json.loads((folder / FLOOR_RESULT_FILE).read_text(encoding="utf-8")))
        for domain, reason in mesh.skipped.items():
            floor.skipped.setdefault(domain, f"not run by the mesh ({reason})")

    result = BenchmarkResult(
        scale=scale,
        seed=seed,
        folder=str(folder),
        cpus=os.cpu_count() or 1,
        generate_seconds=generate_seconds,
        generated_lines=lines,
        mesh=mesh,
        floor=floor,
        parse_seconds=parse_seconds,
    )
    data = result.to_json()
    summary = format_summary(result)
    if baseline is not None and compare is not None:
        from mesh_orchestrator.devtools.benchmark_growth import format_growth, growth_json

        data["growth"] = growth_json(result, baseline, str(compare))
        summary += "\n\n" + "\n".join(format_growth(result, baseline))
    (folder / RESULT_FILE).write_text(json.dumps(data, indent=2), encoding="utf-8")
    log(summary)
    log(f"\nFigures written to {folder / RESULT_FILE}")
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child processes (``python -m mesh_orchestrator.devtools.benchmark <mode>``)."""
    p = argparse.ArgumentParser(prog="python -m mesh_orchestrator.devtools.benchmark")
    sub = p.add_subparsers(dest="mode", required=True)
    sub.add_parser("parse")
    mesh = sub.add_parser("mesh")
    mesh.add_argument("--out", type=Path, required=True)
    floor = sub.add_parser("floor")
    floor.add_argument("--folder", type=Path, required=True)
    floor.add_argument("--out", type=Path, required=True)
    floor.add_argument("--domains", nargs="*", default=[])
    args = p.parse_args(argv)
    if args.mode == "parse":
        return _parse_child()
    if args.mode == "mesh":
        return _mesh_child(args.out)
    return _floor_child(args.folder, args.domains, args.out)


if __name__ == "__main__":
    sys.exit(main())
