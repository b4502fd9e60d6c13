"""The domain's DuckDB database file: opening it, and waiting politely for its lock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from mesh_orchestrator.core import settings
from mesh_orchestrator.core.errors import DatabaseLockedError
from mesh_orchestrator.core.paths import warehouse_path

LOCK_MARKERS = ("could not set lock", "conflicting lock")
#: DuckDB's memory ceiling per process (it spills to disk beyond it); dbt's profiles read the same
#: variable. DuckDB's own default is 80 % of the machine's memory.
MEMORY_LIMIT_ENV = settings.DUCKDB_MEMORY_LIMIT.env


def memory_limit() -> str:
    return settings.DUCKDB_MEMORY_LIMIT.value()


def is_lock_error(exc: BaseException) -> bool:
    return any(marker in str(exc).lower() for marker in LOCK_MARKERS)


def lock_wait_seconds() -> float:
    """How long to wait for another process's lock before giving up (then the step is retried)."""
    return settings.DUCKDB_LOCK_WAIT_SECONDS.value()


def connect(
    path: Path, read_only: bool = False, wait_seconds: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Open ``path``; retry while another process holds the file's lock, then say who to stop."""
    wait_seconds = lock_wait_seconds() if wait_seconds is None else wait_seconds
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    delay = 0.1
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": memory_limit()})
        except duckdb.IOException as exc:
            if not is_lock_error(exc) or time.monotonic() >= deadline:
                if is_lock_error(exc):
                    raise DatabaseLockedError(
                        f"{path} is locked by another process ({exc}); DuckDB allows one writer per "
                        "file: stop it, or let runs share the domain's concurrency pool"
                    ) from exc
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def in_memory() -> duckdb.DuckDBPyConnection:
    """A scratch in-memory database (for reading Parquet files) under the mesh's memory ceiling."""
    return duckdb.connect(config={"memory_limit": memory_limit()})


@contextmanager
def domain_db(domain: str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the domain's own database file, closed on exit."""
    con = connect(warehouse_path(domain), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> tuple:
    """The single row of ``sql``, fully consumed (DuckDB 2 refuses new work on unfinished results)."""
    rows = con.execute(sql, params or []).fetchall()
    if len(rows) != 1:
        raise ValueError(f"expected one row, got {len(rows)}: {sql[:80]}")
    return tuple(rows[0])
