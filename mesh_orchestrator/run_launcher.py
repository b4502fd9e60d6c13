"""Dagster's default run launcher, with a health check that run monitoring can use.

In the compose deployment each run executes as a process of its code location's server
(``DefaultRunLauncher``). When that server's container dies, its runs die with it, but Dagster's
default launcher offers run monitoring no way to notice: the runs would stay "started" for ever and
never be retried. This launcher answers run monitoring by asking the code server that started a run
(its address is in the run's tags) whether it still executes it. A restarted server no longer knows
the run, so monitoring marks it failed and run retries start it again.

A server that does not answer is given ``UNREACHABLE_CHECKS`` checks (a brief network loss or a
restart in progress) before its runs count as lost. Reloading a location from the UI while its runs
execute starts a new server beside the old one: those runs would count as lost too, so redeploy
(or reload) a location when its runs have finished.
"""

from __future__ import annotations

import json
from typing import Any

from dagster import DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._grpc.types import CanCancelExecutionRequest, CanCancelExecutionResult
from dagster._serdes import deserialize_value

#: Consecutive health checks a code server may miss before its runs count as lost.
UNREACHABLE_CHECKS = 3
#: Seconds a health check waits for a code server's answer.
CHECK_TIMEOUT = 10


class CodeServerRunLauncher(DefaultRunLauncher):
    """Launches runs in their code location's server; tells run monitoring when a run was lost."""

    def __init__(self, inst_data: Any = None) -> None:
        super().__init__(inst_data=inst_data)
        self._missed: dict[str, int] = {}  # run id -> consecutive checks its server did not answer

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        client = self._get_grpc_client_for_termination(run.run_id)
        if client is None:
            latest = self._instance.get_run_by_id(run.run_id)
            if latest is None or latest.is_finished:
                return CheckRunHealthResult(WorkerStatus.SUCCESS, "the run finished")
            # Not started by a code server (run in process, by `mesh run` without --workspace, say):
            # its process is not ours to judge.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not launched in a code server")
        server = _address(run)
        try:
            answer = deserialize_value(
                client.can_cancel_execution(CanCancelExecutionRequest(run_id=run.run_id), CHECK_TIMEOUT),
                CanCancelExecutionResult,
            )
        except Exception as error:  # the server is down, restarting, or the network is
            missed = self._missed[run.run_id] = self._missed.get(run.run_id, 0) + 1
            if missed < UNREACHABLE_CHECKS:
                return CheckRunHealthResult(
                    WorkerStatus.RUNNING, f"code server {server} did not answer ({missed}x)", transient=True
                )
            return CheckRunHealthResult(
                WorkerStatus.FAILED,
                f"code server {server} did not answer {missed} health checks in a row: the run's "
                f"process is taken as lost ({type(error).__name__})",
            )
        self._missed.pop(run.run_id, None)
        if answer.can_cancel:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        latest = self._instance.get_run_by_id(run.run_id)
        if latest is None or latest.is_finished:
            return CheckRunHealthResult(WorkerStatus.SUCCESS, "the run finished")
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"code server {server} no longer runs it: the server restarted and the run's process was "
            "lost with it",
        )


def _address(run: DagsterRun) -> str:
    info = json.loads(run.tags.get(GRPC_INFO_TAG, "{}"))
    return f"{info.get('host')}:{info.get('port') or info.get('socket')}"
