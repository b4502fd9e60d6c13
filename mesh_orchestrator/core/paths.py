"""Where everything lives under the mesh's data folder.

One place computes every path so that the CLI, the code locations, dbt and the tests agree.
The data folder is ``$MESH_DATA_DIR`` (default ``./data``), always resolved to an absolute path.
"""

from __future__ import annotations

import os
from pathlib import Path

from mesh_orchestrator.core import settings

DATA_DIR_ENV = settings.DATA_DIR.env
#: Where dbt's parsed projects live (default ``<data>/dbt-parse``); tests share one per session.
DBT_PARSE_DIR_ENV = settings.DBT_PARSE_DIR.env

#: The repository root: the folder that holds ``workspace.yaml``.
REPO_ROOT = Path(__file__).resolve().parents[2]


def shown(path: Path) -> str:
    """A path as the engineer edits it: relative to the repository when inside it."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def _absolute(raw: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path.resolve()


def data_dir() -> Path:
    """The mesh's data folder, absolute. Relative values are taken from the repository root."""
    return _absolute(settings.DATA_DIR.value())


def landing_dir(domain: str, feed: str) -> Path:
    """Folder where a feed's files are dropped, as received."""
    return data_dir() / "landing" / domain / feed


def warehouse_path(domain: str) -> Path:
    """The domain's own DuckDB database file (landing, bronze, silver and gold schemas)."""
    return data_dir() / "warehouse" / f"{domain}.duckdb"


def dbt_run_dir(domain: str) -> Path:
    """Where the domain's dbt invocations write (logs, compiled SQL, run results, parse state)."""
    return data_dir() / "dbt" / domain


def dbt_parse_dir() -> Path:
    """Parsed dbt projects (manifests), ``$MESH_DBT_PARSE_DIR`` or ``<data>/dbt-parse``, beside the
    run folders: dbt never writes into the repository's ``dbt_projects/``."""
    raw = settings.DBT_PARSE_DIR.value()
    return _absolute(raw) if raw else data_dir() / "dbt-parse"


def dagster_home() -> Path:
    """Dagster's local instance for the embedded default, unless ``$DAGSTER_HOME`` is set."""
    raw = os.environ.get("DAGSTER_HOME")
    return Path(raw).resolve() if raw else data_dir() / "dagster_home"
