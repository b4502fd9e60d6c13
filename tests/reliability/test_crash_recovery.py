"""Issue 11, item 7: after ``kill -9`` of ``mesh run`` at any moment, the next ``mesh run`` completes.

Each test kills ``mesh run --domains inventory`` at one point (see ``kill_at.py``), then runs it
again: the dead run is marked failed and its pool slot freed, every gate passes, and each product
is published exactly once (``main`` of its Iceberg table holds version 1, and no other version).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from mesh_orchestrator.ports.tables import current_version, load_port, published_versions, staged_snapshot
from tests.reliability.conftest import mesh, shown

PRODUCTS = ("item_catalogue", "stock_levels")
POOL = "duckdb_inventory"


def _runs(data: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        return list(instance.get_runs())


def _claimed_slots(data: Path) -> list[str]:
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        storage = instance.event_log_storage
        return [
            f"{key}: {slot.run_id}"
            for key in storage.get_concurrency_keys()
            for slot in storage.get_concurrency_info(key).claimed_slots
        ]


def assert_published_once(data: Path) -> None:
    """One published version per product: ``main`` holds version 1, written by one run."""
    for product in PRODUCTS:
        shown = mesh(data, "port", "inventory", product, "--json")
        assert shown.returncode == 0, shown.stderr
        port = json.loads(shown.stdout)
        assert port["version"] == 1, port
        with _data_folder(data):
            table = load_port("inventory", product)
            assert [v.version for v in published_versions(table)] == [1], product
            assert table.current_snapshot().snapshot_id == port["snapshot_id"]  # type: ignore[union-attr]


@contextmanager
def _data_folder(data: Path) -> Iterator[None]:
    saved = os.environ.get("MESH_DATA_DIR")
    os.environ["MESH_DATA_DIR"] = str(data)
    try:
        yield
    finally:
        if saved is None:
            del os.environ["MESH_DATA_DIR"]
        else:
            os.environ["MESH_DATA_DIR"] = saved


#: The default run kills at publishing (a version half-written is the worst case); the other
#: points, a minute each, run with the long tests.
@pytest.mark.parametrize(
    "point",
    [
        pytest.param("landing", marks=pytest.mark.long),
        pytest.param("dbt", marks=pytest.mark.long),
        pytest.param("stage", marks=pytest.mark.long),
        "publish",
    ],
)
def test_next_run_completes_after_kill(fresh_data: Path, point: str) -> None:
    killed = mesh(fresh_data, "run", "--domains", "inventory", kill_at=point)
    assert killed.returncode == -signal.SIGKILL, shown(killed)
    dead = [r for r in _runs(fresh_data) if not r.is_finished]
    assert len(dead) == 1, [(r.run_id, r.status) for r in _runs(fresh_data)]
    if point in ("stage", "publish"):  # the state the kill is meant to leave: staged, not published
        with _data_folder(fresh_data):
            table = load_port("inventory", "item_catalogue")
            assert (
                staged_snapshot(table) is not None and current_version("inventory", "item_catalogue") is None
            )

    again = mesh(fresh_data, "run", "--domains", "inventory")

    assert again.returncode == 0, shown(again)
    assert "RESULT: all gates passed" in again.stdout
    run_id = dead[0].run_id
    assert f"marked run {run_id} failed: its process is gone" in again.stdout, shown(again)
    assert f"freed pool slot {POOL}" in again.stdout, shown(again)
    statuses = {r.run_id: r.status for r in _runs(fresh_data)}
    assert statuses[run_id] == dg.DagsterRunStatus.FAILURE
    assert all(s == dg.DagsterRunStatus.SUCCESS for r, s in statuses.items() if r != run_id), statuses
    assert _claimed_slots(fresh_data) == []
    assert_published_once(fresh_data)
