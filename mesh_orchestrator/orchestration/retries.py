"""Retry a step when its domain's DuckDB file is locked by another process, and only then.

DuckDB allows one writing process per file. The concurrency pools keep the mesh's own steps apart,
but an analyst's notebook or a second webserver can still hold a file: ``storage.connect`` waits
for the lock, then this turns the lock error into a Dagster retry of the step, while every other
error fails at once (``dg.RetryPolicy`` cannot tell errors apart, so it is not used).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from mesh_orchestrator.core import settings
from mesh_orchestrator.core.errors import DatabaseLockedError


@contextmanager
def retry_when_locked() -> Iterator[None]:
    """Inside an asset: a :class:`DatabaseLockedError` requests a retry of the step."""
    try:
        yield
    except DatabaseLockedError as exc:
        raise dg.RetryRequested(
            max_retries=settings.LOCK_RETRIES.value(),
            seconds_to_wait=settings.LOCK_RETRY_SECONDS.value(),
        ) from exc
