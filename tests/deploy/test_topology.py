"""The production topology, proved as processes: PostgreSQL, an S3 API (moto's server standing in for
MinIO), one code server per location each in its own folder, the webserver and the daemon, all
started from ``docker/`` (see ``topology.py``). Run it alone with
``.venv/bin/pytest -m long tests/deploy/test_topology.py``.

1. Every location loads, in seconds (the dbt parse is made beforehand, as the image build makes it).
2. ``mesh run --workspace`` from the meta-orchestrator's container submits every run to its own code
   location: the webserver lists each under its location, and re-executes one.
3. A sales file dropped into sales' folder ends as a new balance-sheet version in the object store;
   every run was launched in its own location's code server; its logs are read through the webserver.
4. A code server killed mid-run and restarted: run monitoring fails the run, a retry or the next run
   completes, and every port's ``main`` still holds only whole versions.
5. A file failing a hand-off gate publishes nothing and starts no consumer run. Last: its bad line
   stays in sales' data, so every later sales version would fail the same gate.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.dagster_run import RunsFilter
from dagster._core.storage.tags import GRPC_INFO_TAG

from mesh_orchestrator.core import names
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.orchestration.launch import open_workspace
from mesh_orchestrator.ports import tables as ports
from tests.deploy.conftest import ObjectStore, PostgresServer, running_object_store
from tests.deploy.topology import LOCATIONS, Topology, service_name

pytestmark = pytest.mark.long

#: Bounds one file's way through the mesh (sensor, sales, hand-off, finance, hand-off): each run
#: starts a process in its code server, and ten services share two cores here.
PROPAGATION_TIMEOUT = 900
HEADER = "order_id,line_number,order_date,distributor_id,customer_id,sku,quantity,discount_pct\n"
BUCKET = "mesh"  # docker/dagster.yaml's run-log bucket and the warehouse's (s3://mesh/warehouse)


@pytest.fixture(scope="module")
def store() -> Iterator[ObjectStore]:
    with running_object_store(BUCKET) as started:
        yield started


@pytest.fixture(scope="module")
def topology(
    postgres_server: PostgresServer, store: ObjectStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    import psycopg2

    root = tmp_path_factory.mktemp("topology")
    s = postgres_server
    server = psycopg2.connect(host=s.host, port=s.port, user=s.user, password=s.password, dbname=s.db_name)
    try:  # what the compose file's postgres-init job does
        server.autocommit = True
        server.cursor().execute("CREATE DATABASE mesh_catalog")
    finally:
        server.close()
    landing = root / "generated"
    _mesh(landing, "generate", "--scale", "1", "--seed", "7")
    up = Topology(root, postgres_server, store)
    up.build(landing / "landing")
    up.horizon = _last_day(landing)  # type: ignore[attr-defined]
    with pytest.MonkeyPatch.context() as env:
        # This test process reads the instance as the webserver does and the catalog as the
        # meta-orchestrator does.
        for key, value in {**up.services["webserver"].env, **_catalog_env(up)}.items():
            if key.startswith(("DAGSTER_", "AWS_", "PYICEBERG_")):
                env.setenv(key, value)
        env.delenv("PYICEBERG_HOME", raising=False)
        try:
            began = time.monotonic()
            up.prepare_dbt()
            print(f"dbt parse of the five domains (the image build's): {time.monotonic() - began:.0f}s")
            up.init_dagster()  # the compose file's dagster-init, which every code server waits for
            for service in up.code_servers():
                service.start()
            up.load_seconds = up.wait_loaded(up.code_servers())  # type: ignore[attr-defined]
            up.services["webserver"].start()
            up.wait_webserver()
            _sensors(up, running=False)  # the first load is `mesh run`'s; the sensors start after it
            up.services["daemon"].start()
            yield up
        finally:
            up.stop()


def _catalog_env(up: Topology) -> dict[str, str]:
    return {
        k: v
        for k, v in up.services[service_name(names.MESH_LOCATION)].env.items()
        if k.startswith("PYICEBERG_")
    }


def _mesh(data: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    import os

    environment = env or {**os.environ, "MESH_DATA_DIR": str(data)}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("mesh")), *args],
        cwd=cwd or REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, (
        f"mesh {' '.join(args)} failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def _last_day(data: Path) -> str:
    days = sorted(
        part
        for path in (data / "landing").rglob("*")
        for part in path.stem.split("_")
        if len(part) == 10 and part[4] == "-" and part[:4].isdigit()
    )
    return days[-1]


def _instance() -> dg.DagsterInstance:
    import os

    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(os.environ["DAGSTER_HOME"]))


def _sensors(up: Topology, running: bool) -> None:
    """Start or stop every sensor of the mesh, as the UI's switches do."""
    workspace_file = Path(up.services["webserver"].env["DAGSTER_HOME"]) / "workspace.yaml"
    with _instance() as instance, open_workspace(instance, workspace_file) as workspace:
        for location in LOCATIONS:
            for repository in workspace.get_code_location(location).get_repositories().values():
                for sensor in repository.get_sensors():
                    if running:
                        instance.start_sensor(sensor)
                    else:
                        instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)


def _published(domain: str, product: str) -> int:
    found = ports.current_version(domain, product)
    return 0 if found is None else found.version


def _wait(
    what: str, condition: Callable[[], bool], up: Topology, timeout: float = PROPAGATION_TIMEOUT
) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(1)
    with _instance() as instance:
        runs = [
            f"{r.status.value} {r.job_name} {r.tags.get('dagster/sensor_name')} {r.run_id[:8]}"
            for r in instance.get_runs(limit=20)
        ]
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what}\nruns: {runs}\n"
        f"daemon log:\n{up.services['daemon'].tail()}"
    )


def _drop_orders(up: Topology, name: str, line: Callable[[list[str]], str]) -> None:
    """A distributor batch file into sales' own landing folder, written then renamed."""
    folder = (
        Path(up.services[service_name("sales")].env["MESH_DATA_DIR"])
        / "landing"
        / "sales"
        / "distributor_orders"
    )
    known = sorted(folder.glob("*.csv"))[0].read_text(encoding="utf-8").splitlines()[1].split(",")
    part = folder / f"{name}.part"
    part.write_text(HEADER + line(known) + "\n", encoding="utf-8")
    part.rename(folder / name)


def _location(run: dg.DagsterRun) -> str | None:
    origin = run.remote_job_origin
    return None if origin is None else origin.repository_origin.code_location_origin.location_name


@pytest.fixture(scope="module")
def mesh_run(topology: Topology) -> str:
    """``mesh run --workspace``, as from the meta-orchestrator's container, then the sensors on."""
    service = topology.services[service_name(names.MESH_LOCATION)]
    workspace = Path(service.env["DAGSTER_HOME"]) / "workspace.yaml"
    output = _mesh(
        Path(service.env["MESH_DATA_DIR"]),
        "run", "--workspace", str(workspace), "--through", topology.horizon,  # type: ignore[attr-defined]
        env=service.env,
        cwd=service.folder,
    )  # fmt: skip
    _sensors(topology, running=True)
    # The automation sensors' first evaluations may start runs: let them finish before any test.
    _settle(topology)
    return output


def test_every_location_loads_in_seconds(topology: Topology) -> None:
    seconds = topology.load_seconds  # type: ignore[attr-defined]
    print("code server load seconds:", {k: round(v, 1) for k, v in seconds.items()})
    assert set(seconds) == {service_name(location) for location in LOCATIONS}
    assert max(seconds.values()) < 60, seconds


def test_mesh_run_submits_each_run_to_its_code_location(topology: Topology, mesh_run: str) -> None:
    assert "RESULT: all gates passed" in mesh_run
    with _instance() as instance:
        runs = [r for r in instance.get_runs() if r.tags.get("mesh/location")]
    assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    assert {_location(r) for r in runs} == set(LOCATIONS)
    assert all(_location(r) == names.code_location(r.tags["mesh/location"]) for r in runs)
    assert all(GRPC_INFO_TAG in r.tags for r in runs), "launched by the instance's run launcher"
    # The webserver shows each under its location (the Overview timeline's grouping) ...
    listed = topology.graphql(
        "query($ids: [String!]) { runsOrError(filter: {runIds: $ids}) { ... on Runs { results {"
        " runId repositoryOrigin { repositoryLocationName } } } } }",
        {"ids": [r.run_id for r in runs]},
    )["runsOrError"]["results"]
    assert {r["runId"]: r["repositoryOrigin"]["repositoryLocationName"] for r in listed} == {
        r.run_id: _location(r) for r in runs
    }
    # ... and re-executes one, in its location's code server: finance's hand-offs, which no domain
    # consumes (re-publishing a provider's would rightly start its consumers' automation).
    handoff = next(r for r in runs if r.job_name == names.handoff_job_name("finance"))
    launched = topology.graphql(
        "mutation($id: String!) { launchRunReexecution(reexecutionParams: {parentRunId: $id,"
        " strategy: ALL_STEPS}) { __typename ... on LaunchRunSuccess { run { runId } }"
        " ... on PythonError { message } } }",
        {"id": handoff.run_id},
    )["launchRunReexecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    rerun_id = launched["run"]["runId"]

    def finished() -> bool:
        with _instance() as instance:
            run = instance.get_run_by_id(rerun_id)
        return run is not None and run.is_finished

    _wait("the re-execution", finished, topology, timeout=180)
    with _instance() as instance:
        rerun = instance.get_run_by_id(rerun_id)
    assert rerun is not None and rerun.status == dg.DagsterRunStatus.SUCCESS
    assert _location(rerun) == names.MESH_LOCATION


def _runs_since(since: datetime) -> list[dg.DagsterRun]:
    with _instance() as instance:
        return list(instance.get_runs(filters=RunsFilter(created_after=since)))


def _idle() -> bool:
    active = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    with _instance() as instance:
        return not instance.get_runs(filters=RunsFilter(statuses=active))


def _settle(up: Topology, quiet: float = 30) -> None:
    """Wait until no run has been queued or running for ``quiet`` seconds: the automation sensors
    tick every second (an evaluation takes seconds here), so a cascade still under way starts its
    next run within that time."""
    deadline = time.monotonic() + PROPAGATION_TIMEOUT
    calm_since: float | None = None
    while time.monotonic() < deadline:
        if _idle():
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= quiet:
                return
        else:
            calm_since = None
        time.sleep(1)
    _wait("the mesh to settle", lambda: False, up, timeout=0)


def _asset_domains(run: dg.DagsterRun) -> set[str]:
    return {key.path[0] for key in run.asset_selection or []}


def test_a_new_sales_file_reaches_the_balance_sheet(topology: Topology, mesh_run: str) -> None:
    _settle(topology)
    before = _published("finance", "balance_sheet")
    started = datetime.now(UTC)
    _drop_orders(
        topology,
        "distributor_DIST-01_2026-03-30_late.csv",
        lambda f: f"DO-9000001,1,2026-03-30,{f[3]},{f[4]},{f[5]},7,{f[7]}",
    )
    seconds = _wait(
        "a new balance-sheet version", lambda: _published("finance", "balance_sheet") > before, topology
    )
    print(f"a new sales file reached a new balance-sheet version in {seconds:.0f}s")
    # Judge the cascade once it is over: a run still queued behind it has no launch tag yet.
    _settle(topology)
    runs = _runs_since(started)
    assert all(r.is_finished for r in runs), [(r.run_id, r.status) for r in runs]
    assert not [r.run_id for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
    for run in runs:  # each in its own location's code server
        location = _location(run)
        domains = _asset_domains(run)
        assert domains <= {location} or (location == names.MESH_LOCATION and domains <= {names.MESH}), (
            location,
            domains,
        )
        port = json.loads(run.tags[GRPC_INFO_TAG])["port"]
        assert port == topology.ports[str(location)], (run.run_id, location, port)
    assert {"sales", "finance", names.MESH_LOCATION} <= {_location(r) for r in runs}
    # The version's files are in the object store.
    table = ports.load_port("finance", "balance_sheet")
    assert table.location().startswith(f"s3://{BUCKET}/")
    assert any(key.endswith(".parquet") for key in topology.store.keys("warehouse/finance"))
    # A run's logs, read through the webserver from the bucket.
    sales_run = next(r for r in runs if _location(r) == "sales" and r.status == dg.DagsterRunStatus.SUCCESS)
    with _instance() as instance:
        captured = [
            e.dagster_event.logs_captured_data
            for e in instance.all_logs(sales_run.run_id)
            if e.dagster_event is not None and e.dagster_event.event_type_value == "LOGS_CAPTURED"
        ]
    assert captured, "the run captured no logs"
    text = ""
    for data in captured:
        logs = topology.graphql(
            "query($key: [String!]!) { capturedLogs(logKey: $key) { stdout stderr } }",
            {"key": [sales_run.run_id, "compute_logs", data.file_key]},
        )["capturedLogs"]
        text += (logs["stdout"] or "") + (logs["stderr"] or "")
    assert text.strip(), "the webserver returned empty logs"


def test_a_killed_code_server_fails_its_run_and_the_mesh_recovers(topology: Topology, mesh_run: str) -> None:
    _settle(topology)
    invoices = _published("sales", "invoices")
    started = datetime.now(UTC)
    _drop_orders(
        topology,
        "distributor_DIST-02_2026-03-30_extra.csv",
        lambda f: f"DO-9000003,1,2026-03-30,{f[3]},{f[4]},{f[5]},2,{f[7]}",
    )
    sales = topology.services[service_name("sales")]
    killed: list[dg.DagsterRun] = []

    def a_sales_run_started() -> bool:
        # The automation run (bronze to gold, dbt): the landing run the sensor starts first can end
        # within a second, before the kill lands (it then succeeds and nothing is lost).
        killed[:] = [
            r
            for r in _runs_since(started)
            if _location(r) == "sales"
            and r.tags.get("dagster/sensor_name") == "sales__automation"
            and r.status == dg.DagsterRunStatus.STARTED
        ]
        return bool(killed)

    _wait("sales' automation run to start", a_sales_run_started, topology, timeout=300)
    sales.kill()  # as its container dies: the server and the run's process with it
    victim = killed[0].run_id
    with _instance() as instance:
        run = instance.get_run_by_id(victim)
    assert run is not None and run.status == dg.DagsterRunStatus.STARTED, (
        f"run {victim} ended before the code server was killed ({run.status if run else 'gone'})"
    )
    sales.start()
    topology.wait_loaded([sales])

    def victim_failed() -> bool:
        with _instance() as instance:
            run = instance.get_run_by_id(victim)
        return run is not None and run.status == dg.DagsterRunStatus.FAILURE

    # Failed once the daemon has seen the restarted server (run_launcher.BACK_SECONDS), then retried.
    _wait("run monitoring to fail the lost run", victim_failed, topology, timeout=300)
    with _instance() as instance:
        said = " ".join(str(e.message) for e in instance.all_logs(victim))
    # Judged once the restarted server answered, so that the retry finds it loaded.
    assert "no longer runs it" in said, said[-2000:]
    # The retry (or a later run) carries the file on: sales publishes a new invoices version.
    _wait("a new invoices version", lambda: _published("sales", "invoices") > invoices, topology)
    _settle(topology)
    runs = _runs_since(started)
    assert [r.run_id for r in runs if r.status == dg.DagsterRunStatus.FAILURE] == [victim]
    retries = [r for r in runs if r.tags.get("dagster/parent_run_id") == victim]
    assert [r.status for r in retries] in ([], [dg.DagsterRunStatus.SUCCESS]), retries
    # Every port's main holds whole versions only: numbered 1, 2, 3 ... each with its summary.
    for domain in ("hr", "inventory", "procurement", "sales", "finance"):
        from mesh_orchestrator.core.spec import load_all_specs

        for product in load_all_specs()[domain].products:
            versions = ports.published_versions(ports.load_port(domain, product))
            assert [v.version for v in versions] == list(range(1, len(versions) + 1)), (domain, product)
            assert all(v.rows is not None and v.run_id for v in versions), (domain, product)


def test_a_file_failing_a_gate_publishes_nothing_and_starts_no_consumer(
    topology: Topology, mesh_run: str
) -> None:
    _settle(topology)
    invoices = _published("sales", "invoices")
    started = datetime.now(UTC)
    _drop_orders(  # a negative quantity: typed fine, but the invoices contract requires quantity >= 1
        topology,
        "distributor_DIST-01_2026-03-31_correction.csv",
        lambda f: f"DO-9000002,1,2026-03-31,{f[3]},{f[4]},{f[5]},-3,{f[7]}",
    )
    alerts = (
        Path(topology.services[service_name(names.MESH_LOCATION)].env["MESH_DATA_DIR"])
        / "alerts"
        / "alerts.jsonl"
    )

    def gate_alert() -> bool:
        said = alerts.read_text().splitlines() if alerts.exists() else []
        return any('"gate_failure"' in line and "sales__invoices" in line for line in said)

    _wait("the gate-failure alert", gate_alert, topology)
    _settle(topology)  # many automation ticks after the failure: still no consumer run
    assert _published("sales", "invoices") == invoices
    assert not [r.run_id for r in _runs_since(started) if _location(r) == "finance"]
