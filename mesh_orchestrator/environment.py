"""Process environment shared by the CLI, the code locations and the dbt subprocesses.

dbt reads ``MESH_DATA_DIR`` through ``env_var()`` in its profile and port sources, so the absolute
data folder is exported once here. Telemetry is switched off everywhere: the mesh runs offline.
"""

from __future__ import annotations

import os

from mesh_orchestrator.paths import DATA_DIR_ENV, dagster_home, data_dir
from mesh_orchestrator.storage import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV

TELEMETRY_OFF = {
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
}

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
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false
"""


def ensure_environment() -> None:
    """Export the absolute data folder and switch telemetry off (idempotent)."""
    os.environ[DATA_DIR_ENV] = str(data_dir())
    os.environ.setdefault(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)


def ensure_dagster_home() -> str:
    """Point ``DAGSTER_HOME`` at the embedded instance and give it a ``dagster.yaml``."""
    ensure_environment()
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return str(home)
