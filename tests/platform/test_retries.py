"""A step whose DuckDB file is locked by another process is retried, and only that error is."""

import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from mesh_orchestrator.core.paths import warehouse_path
from mesh_orchestrator.core.spec import load_domain_spec
from mesh_orchestrator.ingestion.assets import landing_asset
from mesh_orchestrator.orchestration.retries import retry_when_locked

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESH_DUCKDB_LOCK_WAIT_SECONDS", "0.3")
    monkeypatch.setenv("MESH_LOCK_RETRY_SECONDS", "1")
    monkeypatch.setenv("MESH_LOCK_RETRIES", "10")


def test_a_locked_database_is_retried_until_free(data_dir: Path, fast_retries: None) -> None:
    spec = load_domain_spec("sales")
    feed = spec.feed("distributor_orders")
    (data_dir / "landing" / "sales" / "distributor_orders").mkdir(parents=True)
    path = warehouse_path("sales")
    path.parent.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), "3"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    result = dg.materialize([landing_asset(spec, feed)], instance=dg.DagsterInstance.ephemeral())
    holder.wait(timeout=30)
    assert result.success
    restarts = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]
    assert restarts, "the step was retried"
    assert time.monotonic() - started >= 2  # it waited for the other process, it did not break in


def test_other_errors_are_not_retried() -> None:
    with pytest.raises(ValueError), retry_when_locked():
        raise ValueError("a real bug")
