"""A job with one op that does nothing: for tests that need a run record in an instance, not its work."""

import dagster as dg


@dg.op
def _noop() -> None:
    return None


@dg.job
def noop_job() -> None:
    _noop()
