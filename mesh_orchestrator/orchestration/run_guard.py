"""The data folder's lock and the recovery of runs whose process died.

``mesh run``, ``mesh backfill`` and ``mesh demo`` hold an advisory lock (``fcntl.flock``) on
``<data>/.mesh.lock`` from start to end. A second command on the same folder waits for it, saying
for whom; the kernel drops the lock when its holder dies, even by ``kill -9``, so a lock is never
stale. Creating the Dagster instance (``instance.ensure_dagster_home``) happens under a second
lock, in ``DAGSTER_HOME``, so that two processes never both write its schema.

Holding the data folder's lock is also what makes crash recovery sound: every run that
``mesh run`` starts carries its process's tags (``owner_tags``), and while this process holds the
lock, an unfinished run tagged as started under the lock of the same folder has lost its process.
Before running anything, ``recover_dead_runs`` marks such runs failed, frees the concurrency-pool
slots they held (one writer per domain: a dead run's slot would otherwise stop every later run of
that domain forever). A batch a dead run staged is only a snapshot on its table's staging branch,
never published: the next write of that product replaces it. A run started anywhere else (the daemon,
the UI, ``mesh run`` on another folder sharing the instance) is failed only if it names this host
and its process no longer exists. A publish is one catalog commit: it happened or it did not.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from mesh_orchestrator.core import settings
from mesh_orchestrator.core.errors import DataFolderBusyError
from mesh_orchestrator.core.paths import dagster_home, data_dir

Log = Callable[[str], None]

LOCK_FILE = ".mesh.lock"
INSTANCE_LOCK_FILE = ".mesh-instance.lock"
#: Seconds a command waits for another one holding the data folder; unset waits as long as it
#: takes (the holder is alive: its lock goes with it), 0 does not wait.
WAIT_ENV = settings.DATA_FOLDER_WAIT_SECONDS.env
POLL_SECONDS = 0.5

STARTED_BY_TAG = "mesh/started_by"
STARTED_BY = "mesh run"
PID_TAG = "mesh/pid"
HOST_TAG = "mesh/host"
#: Set only on runs started while their process held this data folder's lock.
LOCKED_DATA_DIR_TAG = "mesh/locked_data_dir"
#: Dagster's tag on a re-execution (UI or daemon retry); it copies the original run's tags.
PARENT_RUN_TAG = "dagster/parent_run_id"

UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.SUSPENDED,
    dg.DagsterRunStatus.CANCELING,
]


@dataclass
class _Held:
    fd: int
    depth: int


#: Data folders whose lock this process holds (re-entrant: ``mesh demo`` runs ``mesh run``).
_held: dict[Path, _Held] = {}


def _holder(path: Path) -> str:
    """Who holds a lock, from what its holder wrote into the lock file."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {info['pid']} on {info['host']} (`{info['command']}`, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _acquire(fd: int, path: Path, what: str, log: Log) -> None:
    """Take the lock on ``fd``, waiting (and saying for whom) while another process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    limit = settings.DATA_FOLDER_WAIT_SECONDS.value()
    holder = _holder(path)
    if limit is not None and limit <= 0:
        raise DataFolderBusyError(what, holder, 0.0)
    log(f"waiting: {holder} is using {what}; this command starts when it ends ...")
    started = time.monotonic()
    while True:
        time.sleep(POLL_SECONDS)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waited = time.monotonic() - started
            if limit is not None and waited >= limit:
                raise DataFolderBusyError(what, _holder(path), waited) from None
            continue
        log(f"{what} is free after {time.monotonic() - started:.0f}s; starting")
        return


def _write_holder(fd: int) -> None:
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(["mesh", *sys.argv[1:]]),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)


@contextmanager
def _file_lock(path: Path, what: str, log: Log) -> Iterator[int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, what, log)
        _write_holder(fd)
        yield fd
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


@contextmanager
def data_folder_lock(log: Log = print) -> Iterator[Path]:
    """Hold the data folder's lock for the block; re-entrant within one process."""
    folder = data_dir()
    held = _held.get(folder)
    if held is not None:
        held.depth += 1
        try:
            yield folder
        finally:
            held.depth -= 1
        return
    with _file_lock(folder / LOCK_FILE, f"data folder {folder}", log) as fd:
        _held[folder] = _Held(fd, 1)
        try:
            yield folder
        finally:
            del _held[folder]


@contextmanager
def instance_creation_lock(home: Path, log: Log = print) -> Iterator[None]:
    """Hold ``DAGSTER_HOME``'s lock while its configuration and storage are created."""
    with _file_lock(home / INSTANCE_LOCK_FILE, f"Dagster instance {home}", log):
        yield


def owner_tags() -> dict[str, str]:
    """Tags of a run started by ``mesh run`` in this process: who to ask whether it is alive."""
    tags = {STARTED_BY_TAG: STARTED_BY, PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    folder = data_dir()
    if folder in _held:
        tags[LOCKED_DATA_DIR_TAG] = str(folder)
    return tags


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def process_gone(run: dg.DagsterRun, folder: Path) -> bool:
    """Whether the process that started ``run`` is certainly dead (never guessed for others' runs).

    Call it only while holding ``folder``'s lock.
    """
    tags = run.tags
    if tags.get(STARTED_BY_TAG) != STARTED_BY or PARENT_RUN_TAG in tags:
        return False  # started by the daemon, the UI or a re-execution: Dagster's to monitor
    pid, host = tags.get(PID_TAG), tags.get(HOST_TAG)
    here = host == socket.gethostname()
    if here and pid == str(os.getpid()):
        return False  # this process's own run
    if tags.get(LOCKED_DATA_DIR_TAG) == str(folder):
        return True  # its process held the lock we hold now: it has ended
    if pid is None and host is None:
        # Started before runs carried their process: only an instance that lives in this data
        # folder serves nobody but this folder's (locked) commands.
        return dagster_home().is_relative_to(folder)
    return here and pid is not None and pid.isdigit() and not _process_exists(int(pid))


@dataclass
class Recovery:
    """What ``recover_dead_runs`` did, one line per run for the run output."""

    failed_runs: list[str] = field(default_factory=list)
    freed: dict[str, list[str]] = field(default_factory=dict)  # run id -> pools
    lines: list[str] = field(default_factory=list)


def _slots_by_run(instance: dg.DagsterInstance) -> dict[str, set[str]]:
    """Pools in which each run holds a slot or waits for one."""
    storage = instance.event_log_storage
    held: dict[str, set[str]] = {}
    if not storage.supports_global_concurrency_limits:
        return held
    for key in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(key)
        for run_id in {s.run_id for s in info.claimed_slots} | {p.run_id for p in info.pending_steps}:
            held.setdefault(run_id, set()).add(key)
    return held


def recover_dead_runs(instance: dg.DagsterInstance, log: Log = print) -> Recovery:
    """Mark failed the unfinished runs whose process is gone and free their pool slots.

    Also frees the slots that runs of this folder's commands still hold after they ended (a run
    marked failed in the UI, say). Call it while holding the data folder's lock, before any run.
    """
    folder = data_dir()
    recovery = Recovery()
    slots = _slots_by_run(instance)
    for run in instance.get_runs(
        filters=dg.RunsFilter(statuses=UNFINISHED, tags={STARTED_BY_TAG: STARTED_BY})
    ):
        if not process_gone(run, folder):
            continue
        instance.report_run_failed(
            run,
            f"The process that ran this run (pid {run.tags.get(PID_TAG, '?')} on "
            f"{run.tags.get(HOST_TAG, '?')}) ended before the run did, e.g. killed; marked failed by "
            f"`mesh` (pid {os.getpid()}) when it next used data folder {folder}.",
        )
        recovery.failed_runs.append(run.run_id)
        done = [f"{run.job_name}: marked run {run.run_id} failed: its process is gone"]
        pools = sorted(slots.pop(run.run_id, set()))
        if pools:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            recovery.freed[run.run_id] = pools
            done += [f"freed pool slot {pool}" for pool in pools]
        recovery.lines.append("; ".join(done))
    for run_id, held in sorted(slots.items()):
        record = instance.get_run_by_id(run_id)
        if record is not None and not (record.is_finished and process_gone(record, folder)):
            recovery.lines.append(
                f"note: run {run_id} ({record.job_name}, {record.status.value}), not started by `mesh` "
                f"on this data folder, holds pool {', '.join(sorted(held))}: steps of that pool wait "
                "until Dagster frees it (the daemon does for runs that ended or whose process died)"
            )
            continue
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        recovery.freed[run_id] = sorted(held)
        state = "that no longer exists" if record is None else f"that ended ({record.status.value})"
        recovery.lines.append(
            f"freed pool slot {', '.join(sorted(held))} held by run {run_id} {state} without releasing it"
        )
    for line in recovery.lines:
        log(f"[recovery] {line}")
    return recovery
