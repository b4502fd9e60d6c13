"""The run launcher's health check, as run monitoring calls it (the topology test kills a real code
server; here, a server that never answers, and a run that finished)."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from dagster._core.launcher import WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG

from mesh_orchestrator.orchestration import run_launcher
from mesh_orchestrator.orchestration.run_launcher import CodeServerRunLauncher
from tests.deploy.conftest import free_port
from tests.platform.runs import noop_job

LAUNCHER = {"module": "mesh_orchestrator.orchestration.run_launcher", "class": "CodeServerRunLauncher"}


def test_the_instance_loads_the_launcher_from_its_configuration() -> None:
    with dg.instance_for_test(overrides={"run_launcher": LAUNCHER}) as instance:
        assert isinstance(instance.run_launcher, CodeServerRunLauncher)
        assert instance.run_launcher.supports_check_run_worker_health


def test_a_silent_server_is_waited_for_then_its_run_is_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """A restarting server is waited for (a retry launched before it has loaded would fail); one
    silent for longer than the grace period is gone, with its run."""
    nobody = json.dumps({"host": "127.0.0.1", "port": free_port()})  # nothing listens there
    with dg.instance_for_test(overrides={"run_launcher": LAUNCHER}) as instance:
        run = instance.create_run_for_job(
            noop_job, status=dg.DagsterRunStatus.STARTED, tags={GRPC_INFO_TAG: nobody}
        )
        launcher = instance.run_launcher
        for _ in range(3):
            result = launcher.check_run_worker_health(run)
            assert result.status == WorkerStatus.RUNNING and result.transient
        monkeypatch.setattr(run_launcher, "UNREACHABLE_GRACE_SECONDS", 0.0)
        result = launcher.check_run_worker_health(run)
    assert result.status == WorkerStatus.FAILED
    assert "did not answer for" in str(result.msg) and "taken as lost" in str(result.msg)


def test_a_finished_run_is_not_checked() -> None:
    with dg.instance_for_test(overrides={"run_launcher": LAUNCHER}) as instance:
        run = instance.create_run_for_job(noop_job, status=dg.DagsterRunStatus.SUCCESS)
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.SUCCESS


def test_a_run_not_launched_in_a_code_server_is_left_alone() -> None:
    """A run executed in its own process (``mesh run`` without ``--workspace``) on the production
    instance: monitoring must not fail it for want of a code server to ask."""
    with dg.instance_for_test(overrides={"run_launcher": LAUNCHER}) as instance:
        run = instance.create_run_for_job(noop_job, status=dg.DagsterRunStatus.STARTED)
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
