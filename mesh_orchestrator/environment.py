"""Process environment shared by the CLI, the code locations and the dbt subprocesses.

dbt reads ``MESH_DATA_DIR`` through ``env_var()`` in its profile and port sources, so the absolute
data folder is exported once here. Telemetry is switched off everywhere: the mesh runs offline.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from mesh_orchestrator.errors import MeshError
from mesh_orchestrator.paths import DATA_DIR_ENV, dagster_home, data_dir
from mesh_orchestrator.storage import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV

TELEMETRY_OFF = {
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
}

#: dbt's log file (``dbt.log`` in a run's folder) at ``info``: dbt's default, ``debug``, writes every
#: SQL statement and costs more than a second of every dbt invocation at sample scale. The dbt
#: events Dagster shows come from stdout and are unchanged. ``DBT_LOG_LEVEL_FILE=debug`` brings
#: the statements back.
DBT_LOG_FILE_LEVEL = ("DBT_LOG_LEVEL_FILE", "info")

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


#: What to install when a tool is missing, per executable the mesh runs.
TOOL_PACKAGES = {
    "dbt": "dbt-core and dbt-duckdb",
    "dagster": "dagster",
    "dagster-daemon": "dagster",
    "dagster-webserver": "dagster-webserver",
}


class ToolNotFoundError(MeshError):
    """An executable the mesh runs (dbt, dagster) is neither beside the interpreter nor on PATH."""

    def __init__(self, name: str, beside: Path) -> None:
        self.name = name
        super().__init__(
            f"{name!r} is neither in {beside} nor on PATH: install {TOOL_PACKAGES.get(name, name)} "
            "into this environment (`make install` installs the locked one into .venv)"
        )


def tool(name: str) -> str:
    """The path of executable ``name``: the one beside the running interpreter, else PATH's.

    The mesh's own tools (dbt, dagster) are installed with it, so ``.venv/bin/mesh`` and the code
    servers Dagster starts with the same interpreter find them without ``.venv/bin`` on PATH.
    The interpreter's folder is taken as is, not resolved: a venv's ``python`` is a symlink.
    """
    beside = Path(sys.executable).parent
    local = beside / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise ToolNotFoundError(name, beside)
    return found


def ensure_environment() -> None:
    """Export the absolute data folder, switch telemetry off, quiet dbt's log file (idempotent)."""
    os.environ[DATA_DIR_ENV] = str(data_dir())
    os.environ.setdefault(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)
    for key, value in (*TELEMETRY_OFF.items(), DBT_LOG_FILE_LEVEL):
        os.environ.setdefault(key, value)


def ensure_dagster_home() -> str:
    """Point ``DAGSTER_HOME`` at the embedded instance, give it a ``dagster.yaml`` and create its
    storage, under the instance's lock: two processes creating one instance at once would both
    write its schema (two heads in ``alembic_version``, and every later run fails)."""
    import dagster as dg

    from mesh_orchestrator.run_guard import instance_creation_lock

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
