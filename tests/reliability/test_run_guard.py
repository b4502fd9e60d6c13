"""Issue 11, items 7 and 8: the data folder's lock, the instance's creation lock, and which runs
``recover_dead_runs`` may fail (only those whose process is certainly gone)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from mesh_orchestrator.core.errors import DataFolderBusyError
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.orchestration.instance import ensure_dagster_home
from mesh_orchestrator.orchestration.run_guard import (
    HOST_TAG,
    LOCKED_DATA_DIR_TAG,
    PARENT_RUN_TAG,
    PID_TAG,
    STARTED_BY,
    STARTED_BY_TAG,
    WAIT_ENV,
    data_folder_lock,
    owner_tags,
    recover_dead_runs,
)
from tests.reliability.conftest import env_for

HOLD_LOCK = """
import sys
from mesh_orchestrator.orchestration.run_guard import data_folder_lock
with data_folder_lock():
    print("locked", flush=True)
    sys.stdin.read()  # until the test closes stdin
"""

CREATORS, ROUNDS = 3, 4
#: ``python -c CREATE_INSTANCE <folder>``: in each round, wait until every creator is ready, then
#: all create the instance ``<folder>/home-<round>`` at once (the race is won by chance: rounds).
CREATE_INSTANCE = f"""
import os, pathlib, sys, time
import dagster as dg
from mesh_orchestrator.orchestration.instance import ensure_dagster_home
folder = pathlib.Path(sys.argv[1])
for round in range({ROUNDS}):
    os.environ["DAGSTER_HOME"] = str(folder / f"home-{{round}}")
    (folder / f"ready-{{round}}-{{os.getpid()}}").touch()
    while len(list(folder.glob(f"ready-{{round}}-*"))) < {CREATORS}:
        time.sleep(0.001)
    ensure_dagster_home()
    with dg.DagsterInstance.get():
        pass
"""


def test_second_command_waits_for_the_first_or_stops_naming_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK],
        cwd=REPO_ROOT,
        env=env_for(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv(WAIT_ENV, "0")
        with pytest.raises(DataFolderBusyError) as stopped, data_folder_lock(lambda _: None):
            pass
        assert f"data folder {data_dir}" in str(stopped.value)
        assert f"pid {holder.pid}" in str(stopped.value)

        monkeypatch.delenv(WAIT_ENV)
        said: list[str] = []
        assert holder.stdin is not None
        threading.Timer(1.0, holder.stdin.close).start()
        with data_folder_lock(said.append):
            assert holder.wait(timeout=30) == 0
            with data_folder_lock(said.append):  # re-entrant: `mesh demo` runs `mesh run`
                assert owner_tags()[LOCKED_DATA_DIR_TAG] == str(data_dir)
        assert said[0].startswith(f"waiting: pid {holder.pid} ")
        assert f"data folder {data_dir}" in said[0]
        assert LOCKED_DATA_DIR_TAG not in owner_tags(), "the tag claims the lock: only while held"
    finally:
        holder.kill()
        holder.wait()


def _alembic_heads(home: Path) -> dict[str, int]:
    heads = {}
    for db in home.rglob("*.db"):
        with sqlite3.connect(db) as con:
            heads[str(db.relative_to(home))] = con.execute("SELECT count(*) FROM alembic_version").fetchone()[
                0
            ]
    return heads


def test_processes_creating_one_instance_at_once_leave_one_schema_head(tmp_path: Path) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CREATE_INSTANCE, str(tmp_path)],
            cwd=REPO_ROOT,
            env=env_for(tmp_path / "data"),
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(CREATORS)
    ]
    errors = [c.communicate(timeout=240)[1] for c in children]
    assert [c.returncode for c in children] == [0] * CREATORS, errors
    for round in range(ROUNDS):
        heads = _alembic_heads(tmp_path / f"home-{round}")
        assert {"history/runs.db", "schedules/schedules.db", "history/runs/index.db"} <= heads.keys()
        assert set(heads.values()) == {1}, heads


@pytest.fixture
def instance(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    monkeypatch.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))  # restored afterwards
    ensure_dagster_home()
    with dg.DagsterInstance.get() as opened:
        opened.event_log_storage.set_concurrency_slots("duckdb_shop", 10)
        yield opened


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _run(
    instance: dg.DagsterInstance,
    tags: dict[str, str],
    status: dg.DagsterRunStatus = dg.DagsterRunStatus.STARTED,
    job: str = "shop__all_assets",
    pool: str | None = "duckdb_shop",
) -> str:
    run = dg.DagsterRun(job_name=job, run_id=str(uuid.uuid4()), status=status, tags=tags)
    instance.add_run(run)
    if pool is not None:
        instance.event_log_storage.claim_concurrency_slot(pool, run.run_id, "step")
    return run.run_id


def _holders(instance: dg.DagsterInstance) -> set[str]:
    return {s.run_id for s in instance.event_log_storage.get_concurrency_info("duckdb_shop").claimed_slots}


def test_recovery_fails_only_runs_whose_process_is_gone(data_dir: Path, instance: dg.DagsterInstance) -> None:
    here = {STARTED_BY_TAG: STARTED_BY, HOST_TAG: owner_tags()[HOST_TAG]}
    live_pid = str(os.getppid())  # pytest's parent: alive
    other_folder = str(data_dir.parent / "elsewhere")
    locked_here = _run(
        instance, {**here, PID_TAG: live_pid, LOCKED_DATA_DIR_TAG: str(data_dir)}, job="handoff__shop"
    )
    dead_elsewhere = _run(instance, {**here, PID_TAG: str(_dead_pid()), LOCKED_DATA_DIR_TAG: other_folder})
    alive_elsewhere = _run(instance, {**here, PID_TAG: live_pid, LOCKED_DATA_DIR_TAG: other_folder})
    other_host = _run(instance, {**here, HOST_TAG: "another-host", PID_TAG: str(_dead_pid())})
    from_daemon = _run(instance, {"dagster/sensor_name": "shop_files"})
    retry = _run(instance, {**here, PID_TAG: "1", LOCKED_DATA_DIR_TAG: str(data_dir), PARENT_RUN_TAG: "x"})
    ended_holding = _run(
        instance,
        {**here, PID_TAG: live_pid, LOCKED_DATA_DIR_TAG: str(data_dir)},
        status=dg.DagsterRunStatus.FAILURE,
    )
    queued_no_slot = _run(
        instance, {**here, PID_TAG: live_pid, LOCKED_DATA_DIR_TAG: str(data_dir)}, pool=None
    )

    said: list[str] = []
    with data_folder_lock(lambda _: None):
        recovery = recover_dead_runs(instance, said.append)

    assert set(recovery.failed_runs) == {locked_here, dead_elsewhere, queued_no_slot}
    status = {r.run_id: r.status for r in instance.get_runs()}
    for run_id in (locked_here, dead_elsewhere, queued_no_slot):
        assert status[run_id] == dg.DagsterRunStatus.FAILURE
    for run_id in (alive_elsewhere, other_host, from_daemon, retry):
        assert status[run_id] == dg.DagsterRunStatus.STARTED
    assert _holders(instance) == {alive_elsewhere, other_host, from_daemon, retry}
    text = "\n".join(said)
    assert (
        f"[recovery] handoff__shop: marked run {locked_here} failed: its process is gone; "
        "freed pool slot duckdb_shop"
    ) in text
    assert f"freed pool slot duckdb_shop held by run {ended_holding} that ended (FAILURE)" in text
    assert f"note: run {from_daemon} (shop__all_assets, STARTED)" in text
