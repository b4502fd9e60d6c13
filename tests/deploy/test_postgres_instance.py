"""`docker/dagster.yaml` on a real PostgreSQL: the production instance opens, creates its schema once,
stores a run and its events where the webserver reads them, writes the run's logs to the object
store, and holds one DuckDB pool per domain.

The instance is `docker/dagster.yaml` as shipped, its credentials read from the environment as in the
compose file; only the addresses (the compose services `postgres:5432` and `minio:9000`) point at the
test servers (moto's S3 server stands in for MinIO).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from dagster import DagsterInstance, DagsterRunStatus

from mesh_orchestrator.core import names
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.spec import discover_domains
from tests.deploy.conftest import ObjectStore, PostgresServer, free_port

PRODUCTION_YAML = REPO_ROOT / "docker" / "dagster.yaml"
PRODUCTION = yaml.safe_load(PRODUCTION_YAML.read_text())


@pytest.fixture(scope="module")
def dagster_home(
    postgres_server: PostgresServer, object_store: ObjectStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A DAGSTER_HOME holding docker/dagster.yaml pointed at the test servers, with its variables set."""
    config = yaml.safe_load(PRODUCTION_YAML.read_text())
    database = config["storage"]["postgres"]["postgres_db"]
    assert (database["hostname"], database["port"]) == ("postgres", 5432)  # the compose service
    database.update(hostname=postgres_server.host, port=postgres_server.port)
    logs = config["compute_logs"]["config"]
    assert logs["endpoint_url"] == "http://minio:9000"  # the compose service
    logs.update(endpoint_url=object_store.endpoint, bucket=object_store.bucket)
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(home))
        env.setenv("DAGSTER_POSTGRES_USER", postgres_server.user)
        env.setenv("DAGSTER_POSTGRES_PASSWORD", postgres_server.password)
        env.setenv("DAGSTER_POSTGRES_DB", postgres_server.db_name)
        env.setenv("AWS_ACCESS_KEY_ID", object_store.access_key)
        env.setenv("AWS_SECRET_ACCESS_KEY", object_store.secret_key)
        yield home


@pytest.fixture(scope="module")
def instance(dagster_home: Path) -> Iterator[DagsterInstance]:
    with DagsterInstance.from_config(str(dagster_home)) as opened:
        yield opened


@pytest.fixture(scope="module")
def probe_run(instance: DagsterInstance) -> dg.ExecuteInProcessResult:
    """One small job of an asset per domain, each in its domain's DuckDB pool, run in process."""

    def probe(domain: str) -> dg.AssetsDefinition:
        @dg.asset(key=["deploy_test", domain], pool=names.pool(domain))
        def _probe() -> dg.MaterializeResult:
            print(f"probe of {domain}")  # captured as the step's output: stored in the object store
            return dg.MaterializeResult(metadata={"rows": 3})

        return _probe

    defs = dg.Definitions(
        assets=[probe(domain) for domain in discover_domains()],
        jobs=[dg.define_asset_job("deploy_probe")],
    )
    return defs.resolve_job_def("deploy_probe").execute_in_process(instance=instance)


def _tables_and_versions(instance: DagsterInstance) -> tuple[set[str], list[str]]:
    with instance.run_storage.connect() as conn:  # type: ignore[attr-defined]
        tables = set(sa.inspect(conn).get_table_names())
        versions = [row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version"))]
    return tables, versions


def test_the_instance_opens_on_postgres_with_the_configured_classes(instance: DagsterInstance) -> None:
    for storage in (instance.run_storage, instance.event_log_storage, instance.schedule_storage):
        assert type(storage).__module__.startswith("dagster_postgres."), type(storage)
    assert type(instance.run_coordinator).__name__ == PRODUCTION["run_coordinator"]["class"]
    assert type(instance.run_launcher).__name__ == PRODUCTION["run_launcher"]["class"]
    assert instance.schedule_storage is not None
    assert instance.schedule_storage.all_instigator_state() == []
    assert instance.run_monitoring_enabled
    assert instance.run_retries_max_retries == PRODUCTION["run_retries"]["max_retries"]


def test_the_schema_is_created_once(instance: DagsterInstance, dagster_home: Path) -> None:
    from alembic.script import ScriptDirectory
    from dagster_postgres.run_storage import run_storage
    from dagster_postgres.utils import pg_alembic_config

    heads = ScriptDirectory.from_config(pg_alembic_config(run_storage.__file__)).get_heads()
    tables, versions = _tables_and_versions(instance)
    assert len(heads) == 1
    assert versions == heads, "the three storages share one database and one alembic version"
    assert {"runs", "event_logs", "jobs", "concurrency_limits"} <= tables
    # A second instance on the database (as the daemon beside the webserver) finds it made, adds nothing.
    with DagsterInstance.from_config(str(dagster_home)) as second:
        assert _tables_and_versions(second) == (tables, versions)


def test_a_run_and_its_events_are_stored(
    instance: DagsterInstance, probe_run: dg.ExecuteInProcessResult
) -> None:
    assert probe_run.success
    run = instance.get_run_by_id(probe_run.run_id)
    assert run is not None and run.status == DagsterRunStatus.SUCCESS
    stored = {e.dagster_event_type for e in instance.all_logs(probe_run.run_id) if e.dagster_event}
    assert {dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.ASSET_MATERIALIZATION} <= stored
    for domain in discover_domains():
        latest = instance.get_latest_materialization_event(dg.AssetKey(["deploy_test", domain]))
        assert latest is not None and latest.asset_materialization is not None
        assert latest.asset_materialization.metadata["rows"].value == 3


def test_the_runs_output_is_in_the_object_store(
    instance: DagsterInstance, probe_run: dg.ExecuteInProcessResult, object_store: ObjectStore
) -> None:
    """Where the step ran does not matter: the webserver reads its output from the bucket."""
    assert type(instance.compute_log_manager).__name__ == PRODUCTION["compute_logs"]["class"]
    prefix = PRODUCTION["compute_logs"]["config"]["prefix"]
    stored = [key for key in object_store.keys(prefix) if probe_run.run_id in key]
    assert stored, f"no object under {prefix}/ for run {probe_run.run_id}: {object_store.keys(prefix)[:5]}"
    said = b"".join(
        object_store.client().get_object(Bucket=object_store.bucket, Key=key)["Body"].read() for key in stored
    )
    assert b"probe of hr" in said


def test_each_domain_pool_admits_the_configured_number_of_steps(
    instance: DagsterInstance, probe_run: dg.ExecuteInProcessResult
) -> None:
    limit = PRODUCTION["concurrency"]["pools"]["default_limit"]
    assert instance.get_concurrency_config().pool_config.default_pool_limit == limit
    assert probe_run.success
    for domain in discover_domains():
        info = instance.event_log_storage.get_concurrency_info(names.pool(domain))
        assert (info.slot_count, info.active_slot_count) == (limit, 0), domain  # set on first use, freed


def test_dagster_instance_info_reads_it(dagster_home: Path) -> None:
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "instance", "info"],
        capture_output=True, text=True, timeout=120, check=False, env=os.environ.copy(),
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert "PostgresRunStorage" in shown.stdout


def _graphql(port: int, query: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.load(response)
    assert "errors" not in answer, answer
    return answer["data"]  # type: ignore[return-value]


def test_the_webserver_serves_the_stored_run(
    dagster_home: Path, probe_run: dg.ExecuteInProcessResult, tmp_path: Path
) -> None:
    port = free_port()
    command = [str(Path(sys.executable).parent / "dagster-webserver"), "--empty-workspace", "-h", "127.0.0.1",
               "-p", str(port)]  # fmt: skip
    log = tmp_path / "webserver.log"
    with log.open("w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, f"the webserver stopped:\n{log.read_text()[-3000:]}"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (
                    f"the webserver never answered:\n{log.read_text()[-3000:]}"
                )
                time.sleep(0.5)
        data = _graphql(
            port,
            f'{{ runOrError(runId: "{probe_run.run_id}") {{ __typename ... on Run {{ status }} }}'
            " instance { runQueuingSupported poolConfig { defaultPoolLimit } } }",
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert data["runOrError"] == {"__typename": "Run", "status": "SUCCESS"}
    assert data["instance"] == {
        "runQueuingSupported": True,
        "poolConfig": {"defaultPoolLimit": PRODUCTION["concurrency"]["pools"]["default_limit"]},
    }
