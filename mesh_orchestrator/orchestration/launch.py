"""Runs submitted to a Dagster instance through its code locations, the way the UI launches them.

``mesh run --workspace FILE`` uses it against a production instance: each run belongs to its code
location (the UI's Overview timeline shows it and can re-execute it), is queued by the instance's run
coordinator and started by its run launcher in that location's code server, beside its data. The
process that submits needs no data folder: only the instance and the workspace file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster._core.remote_representation.external import RemoteJob, RemoteRepository
from dagster._core.workspace.context import BaseWorkspaceRequestContext, WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from mesh_orchestrator.core.errors import MeshError

#: How often a waiting ``mesh run`` says that a run is still queued or running, in seconds.
PROGRESS_EVERY = 30.0
POLL_SECONDS = 0.5

FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@contextmanager
def open_workspace(
    instance: dg.DagsterInstance, workspace_file: Path
) -> Iterator[BaseWorkspaceRequestContext]:
    """The code locations of ``workspace_file`` (in production, their running code servers)."""
    if not workspace_file.is_file():
        raise MeshError(f"workspace file {workspace_file} not found")
    with WorkspaceProcessContext(instance, WorkspaceFileTarget([str(workspace_file)])) as process:
        yield process.create_request_context()


def _remote_job(
    workspace: BaseWorkspaceRequestContext, location: str, job_name: str
) -> tuple[RemoteRepository, RemoteJob]:
    if not workspace.has_code_location_name(location):
        raise MeshError(f"the workspace has no code location {location!r}: add it to the workspace file")
    error = workspace.get_code_location_error(location)
    if error is not None:
        raise MeshError(f"code location {location} did not load: {error.message.strip()}")
    code_location = workspace.get_code_location(location)
    repositories = list(code_location.get_repositories().values())
    for repository in repositories:
        if repository.has_job(job_name):
            return repository, repository.get_full_job(job_name)
    raise MeshError(f"code location {location} has no job {job_name!r}: is its code server up to date?")


def submit_run(
    instance: dg.DagsterInstance,
    workspace: BaseWorkspaceRequestContext,
    location: str,
    job_name: str,
    tags: Mapping[str, str],
) -> str:
    """Create a run of ``job_name`` from its code location and hand it to the run coordinator."""
    repository, job = _remote_job(workspace, location, job_name)
    plan = workspace.get_code_location(location).get_execution_plan(
        job, {}, step_keys_to_execute=None, known_state=None, instance=instance
    )
    run = instance.create_run(
        job_name=job_name,
        run_id=None,
        run_config={},
        resolved_op_selection=None,
        step_keys_to_execute=None,
        op_selection=None,
        status=None,
        root_run_id=None,
        parent_run_id=None,
        tags={**job.run_tags, **tags},
        job_snapshot=job.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        parent_job_snapshot=job.parent_job_snapshot,
        remote_job_origin=job.get_remote_origin(),
        job_code_origin=job.get_python_origin(),
        asset_selection=None,
        asset_check_selection=None,
        asset_graph=repository.asset_graph,
    )
    instance.submit_run(run.run_id, workspace)
    return run.run_id


def wait_for_run(
    instance: dg.DagsterInstance,
    run_id: str,
    say: Callable[[str], None],
    label: str,
    progress_every: float = PROGRESS_EVERY,
) -> dg.DagsterRun:
    """Wait until the run has finished, saying now and then that it is still queued or running.

    Interrupting the wait does not stop the run: it goes on in its code server (the UI can stop it).
    """
    started = last_said = time.monotonic()
    while True:
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise MeshError(f"run {run_id} of {label} is not in the instance")
        if run.status in FINISHED:
            return run
        now = time.monotonic()
        if now - last_said >= progress_every:
            say(f"{label}: {run.status.value.lower()} for {now - started:.0f}s (run {run_id})")
            last_said = now
        time.sleep(POLL_SECONDS)
