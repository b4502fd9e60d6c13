"""Issue 11, item 7: after ``kill -9`` of ``mesh run`` at any moment, the next ``mesh run`` completes.

Each test kills ``mesh run --domains inventory`` at one point (see ``kill_at.py``), then runs it
again: the dead run is marked failed and its pool slot freed, every gate passes, and each product
is published exactly once (one version, ``current.parquet`` is that version, no leftover file).
"""

from __future__ import annotations

import signal
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

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
    """One version per product, ``current.parquet`` is it, and the port holds nothing else."""
    for product in PRODUCTS:
        port = data / "products" / "inventory" / product
        assert sorted(p.name for p in port.iterdir()) == ["current.parquet", "versions"], product
        versions = port / "versions"
        assert [p.name for p in versions.iterdir()] == ["000001.parquet"], product
        current, version = port / "current.parquet", versions / "000001.parquet"
        assert current.samefile(version) or pq.read_table(current).equals(pq.read_table(version))
        assert (pq.read_schema(current).metadata or {})[b"mesh.version"] == b"1"
    staged = [p for p in (data / "staging").rglob("*") if p.is_file()]
    assert not staged, f"staged batches left behind: {staged}"


@pytest.mark.parametrize("point", ["landing", "dbt", "audit", "publish"])
def test_next_run_completes_after_kill(fresh_data: Path, point: str) -> None:
    killed = mesh(fresh_data, "run", "--domains", "inventory", kill_at=point)
    assert killed.returncode == -signal.SIGKILL, shown(killed)
    dead = [r for r in _runs(fresh_data) if not r.is_finished]
    assert len(dead) == 1, [(r.run_id, r.status) for r in _runs(fresh_data)]
    if point == "publish":  # the state the kill is meant to leave: a version that is not current
        port = fresh_data / "products" / "inventory" / "item_catalogue"
        assert (port / "versions" / "000001.parquet").exists()
        assert not (port / "current.parquet").exists()

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
