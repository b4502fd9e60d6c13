"""Process environment shared by the CLI, the code locations and the dbt subprocesses.

dbt reads ``MESH_DATA_DIR`` through ``env_var()`` in its profile and port sources, so the absolute
data folder is exported once here. Telemetry is switched off everywhere: the mesh runs offline.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from mesh_orchestrator.core import settings
from mesh_orchestrator.core.errors import ToolNotFoundError
from mesh_orchestrator.core.paths import DATA_DIR_ENV, data_dir

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

#: What to install when a tool is missing, per executable the mesh runs.
TOOL_PACKAGES = {
    "dbt": "dbt-core and dbt-duckdb",
    "dagster": "dagster",
    "dagster-daemon": "dagster",
    "dagster-webserver": "dagster-webserver",
    "dg": "dagster-dg-cli (the dev extra)",
}


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
        raise ToolNotFoundError(name, beside, TOOL_PACKAGES.get(name, name))
    return found


def telemetry_off() -> None:
    """Switch every tool's usage statistics off, unless the environment already says otherwise."""
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)


def ensure_environment() -> None:
    """Export the absolute data folder, switch telemetry off, quiet dbt's log file (idempotent)."""
    os.environ[DATA_DIR_ENV] = str(data_dir())
    os.environ.setdefault(settings.DUCKDB_MEMORY_LIMIT.env, settings.DUCKDB_MEMORY_LIMIT.value())
    telemetry_off()
    os.environ.setdefault(*DBT_LOG_FILE_LEVEL)
