"""The embedded Dagster instance: its ``dagster.yaml`` and creating its storage once.

Production points ``DAGSTER_HOME`` at ``docker/dagster.yaml`` (PostgreSQL); without a setting, ``mesh``
keeps an instance under the data folder, configured as below.
"""

from __future__ import annotations

import os
import sys

from mesh_orchestrator.core.environment import ensure_environment
from mesh_orchestrator.core.paths import dagster_home
from mesh_orchestrator.orchestration.run_guard import instance_creation_lock

DAGSTER_YAML = """\
# Dagster's local instance for the embedded default (written by mesh; edit freely).
telemetry:
  enabled: false
concurrency:
  pools:
    # One DuckDB writer per file: each domain's pool admits one step at a time.
    default_limit: 1
# Used when the daemon runs (`dagster dev` starts it): a run whose process died is detected and
# retried once; a run that failed on its own (a failed gate, a dbt error) is not retried.
run_monitoring:
  enabled: true
  poll_interval_seconds: 30
  # A lost run never releases the pool slot its step held: without this, that domain's next run
  # (the retry too) would stay queued for ever.
  free_slots_after_run_end_seconds: 60
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false
"""


def ensure_dagster_home() -> str:
    """Point ``DAGSTER_HOME`` at the embedded instance, give it a ``dagster.yaml`` and create its
    storage, under the instance's lock: two processes creating one instance at once would both
    write its schema (two heads in ``alembic_version``, and every later run fails)."""
    import dagster as dg

    ensure_environment()
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    with instance_creation_lock(home, log=lambda msg: print(msg, file=sys.stderr, flush=True)):
        config = home / "dagster.yaml"
        if not config.exists():
            partial = home / ".dagster.yaml.tmp"
            partial.write_text(DAGSTER_YAML, encoding="utf-8")
            os.replace(partial, config)
        with dg.DagsterInstance.get():  # opening it creates every storage's schema
            pass
    return str(home)
