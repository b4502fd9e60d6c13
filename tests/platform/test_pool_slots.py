"""A run lost with its worker (a killed container, an OOM kill) never releases the pool slots its
steps claimed: with one slot per DuckDB file, that domain's next run would wait in the queue for
ever. Both instances the mesh writes have run monitoring free them (found by the topology test)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import cast

import dagster as dg
import pytest
import yaml
from dagster._core.workspace.context import IWorkspaceProcessContext
from dagster._daemon.monitoring import concurrency as slots_monitoring

from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.orchestration.instance import DAGSTER_YAML
from tests.platform.runs import noop_job

INSTANCES = {
    "docker/dagster.yaml": (REPO_ROOT / "docker" / "dagster.yaml").read_text(),
    "embedded": DAGSTER_YAML,
}


@pytest.mark.parametrize("name", INSTANCES)
def test_a_lost_runs_pool_slot_is_freed(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = yaml.safe_load(INSTANCES[name])
    wait = config["run_monitoring"].get("free_slots_after_run_end_seconds")
    assert wait, f"{name}: run_monitoring.free_slots_after_run_end_seconds is not set"
    overrides = {key: config[key] for key in ("concurrency", "run_monitoring")}
    with dg.instance_for_test(overrides=overrides) as instance:
        run = instance.create_run_for_job(noop_job)
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("sales")
        assert storage.claim_concurrency_slot("sales", run.run_id, "sales__bronze").is_claimed
        instance.report_run_failed(run)  # what run monitoring records when the worker is gone

        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=wait + 1)
        monkeypatch.setattr(slots_monitoring, "get_current_datetime", lambda: later)
        daemon = cast("IWorkspaceProcessContext", SimpleNamespace(instance=instance))  # all it reads
        list(slots_monitoring.execute_concurrency_slots_iteration(daemon, dg.get_dagster_logger()))

        info = storage.get_concurrency_info("sales")
        assert info.slot_count == 1 and info.claimed_slots == []
