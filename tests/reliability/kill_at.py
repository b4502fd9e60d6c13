"""Run the ``mesh`` CLI and SIGKILL it at one precise point: ``python kill_at.py <point> <mesh args>``.

The platform's code has no test hooks: this script wraps one platform function before the CLI
imports anything, and the wrapper kills its own process the way ``kill -9`` would (no ``finally``,
no ``atexit``, no Dagster cleanup). Points:

- ``landing``: inside a landing file's DuckDB transaction, after its rows are inserted, before COMMIT;
- ``dbt``: while ``dbt build`` runs, after its first few events;
- ``stage``: in the provider's run, once its first product is written on the staging branch of its
  Iceberg table (before the hand-off audits and publishes it);
- ``publish``: in the hand-off, after the audit passed, just before ``main`` is fast-forwarded.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_on_call(owner: Any, name: str, after_calls: int = 1, before: bool = False) -> None:
    """Replace ``owner.name`` with a wrapper that dies on its ``after_calls``-th call, once the
    call returned (or ``before`` it runs)."""
    original: Callable[..., Any] = getattr(owner, name)
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if before and calls >= after_calls:
            _die()
        result = original(*args, **kwargs)
        if calls >= after_calls:
            _die()
        return result

    setattr(owner, name, wrapper)


def _kill_in_stream(owner: Any, name: str, after_events: int) -> None:
    """Replace generator method ``owner.name`` with one that dies after ``after_events`` items."""
    original: Callable[..., Iterator[Any]] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for n, item in enumerate(original(*args, **kwargs)):
            if n == after_events:
                _die()
            yield item

    setattr(owner, name, wrapper)


def _arm(point: str) -> None:
    if point == "landing":
        from mesh_orchestrator.ingestion import landing

        _kill_on_call(landing, "_land_csv", after_calls=2)  # the first file is committed
    elif point == "dbt":
        from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

        _kill_in_stream(DbtCliInvocation, "stream", after_events=3)
    elif point == "stage":
        from mesh_orchestrator.transformation import dbt

        _kill_on_call(dbt, "stage")  # the write committed
    elif point == "publish":
        from mesh_orchestrator.ports import handoff

        _kill_on_call(handoff, "publish", before=True)
    else:
        raise SystemExit(f"unknown kill point {point!r}")


if __name__ == "__main__":
    _arm(sys.argv[1])
    from mesh_orchestrator.cli.main import main

    sys.exit(main(sys.argv[2:]))
