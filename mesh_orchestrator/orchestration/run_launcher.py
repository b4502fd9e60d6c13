"""Dagster's default run launcher, with a health check that run monitoring can use.

In the compose deployment each run executes as a process of its code location's server
(``DefaultRunLauncher``). When that server's container dies, its runs die with it, but Dagster's
default launcher offers run monitoring no way to notice: the runs would stay "started" for ever and
never be retried. This launcher answers run monitoring by asking the code server that started a run
(its address is in the run's tags) whether it still executes it. A restarted server no longer knows
the run, so monitoring marks it failed and run retries start it again.

A server that does not answer (restarting, loading its code, or a network loss) is waited for: its
runs are judged once it has answered again for ``BACK_SECONDS``, long enough for the daemon to have
re-read its workspace (every 60 s), so that the retry finds the location loaded (a retry launched
while the daemon sees the location down fails, and is not tried again). A server silent for
``UNREACHABLE_GRACE_SECONDS`` counts as gone, with its runs. Reloading a location from the UI while
its runs execute starts a new server beside the old one: those runs would count as lost too, so
redeploy (or reload) a location when its runs have finished.
"""

from __future__ import annotations

import json
import time
from typing import Any

from dagster import DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._grpc.types import CanCancelExecutionRequest, CanCancelExecutionResult
from dagster._serdes import deserialize_value

#: How long a code server may stay silent before its runs count as lost, in seconds.
UNREACHABLE_GRACE_SECONDS = 600.0
#: How long a restarted code server must have been answering before its lost runs are failed: the
#: daemon re-reads its workspace every 60 s (``RELOAD_WORKSPACE_INTERVAL``).
BACK_SECONDS = 75.0
#: Seconds a health check waits for a code server's answer.
CHECK_TIMEOUT = 10


class CodeServerRunLauncher(DefaultRunLauncher):
    """Launches runs in their code location's server; tells run monitoring when a run was lost."""

    def __init__(self, inst_data: Any = None) -> None:
        super().__init__(inst_data=inst_data)
        self._silent_since: dict[str, float] = {}  # run id -> when its server stopped answering
        self._lost_since: dict[str, float] = {}  # run id -> when its answering server first disowned it

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
        except Exception as error:  # the server is down, restarting, loading, or the network is
            since = self._silent_since.setdefault(run.run_id, time.monotonic())
            silent = time.monotonic() - since
            if silent < UNREACHABLE_GRACE_SECONDS:
                return CheckRunHealthResult(
                    WorkerStatus.RUNNING, f"code server {server} silent for {silent:.0f}s", transient=True
                )
            return CheckRunHealthResult(
                WorkerStatus.FAILED,
                f"code server {server} did not answer for {silent:.0f}s: the run's process is taken as "
                f"lost ({type(error).__name__})",
            )
        self._silent_since.pop(run.run_id, None)
        if answer.can_cancel:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        latest = self._instance.get_run_by_id(run.run_id)
        if latest is None or latest.is_finished:
            return CheckRunHealthResult(WorkerStatus.SUCCESS, "the run finished")
        lost = time.monotonic() - self._lost_since.setdefault(run.run_id, time.monotonic())
        if lost < BACK_SECONDS:
            return CheckRunHealthResult(
                WorkerStatus.RUNNING,
                f"code server {server} restarted without the run ({lost:.0f}s ago); failed once the "
                "daemon has seen the server back",
                transient=True,
            )
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"code server {server} no longer runs it: the server restarted and the run's process was "
            "lost with it",
        )


def _address(run: DagsterRun) -> str:
    info = json.loads(run.tags.get(GRPC_INFO_TAG, "{}"))
    return f"{info.get('host')}:{info.get('port') or info.get('socket')}"
