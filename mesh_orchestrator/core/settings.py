"""Every ``MESH_*`` setting of the platform, in one place: its variable, default, meaning and check.

A setting is read from the environment each time it is asked for, not once at import: code servers,
dbt's subprocesses and tests change the environment while a process lives. An unset or blank
variable means the default; a value that does not parse stops with an error that names the
variable and what it takes. README "Settings" lists the same table (a test keeps them equal).

Not here: the per-domain masking keys ``MESH_PII_KEY_<DOMAIN>`` (secrets, one per domain:
``quality.masking``), pyiceberg's own ``PYICEBERG_CATALOG__MESH__*`` (``ports.catalog``), and the
partition bounds the platform passes to each dbt process (``MESH_PARTITION_START``/``_END``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mesh_orchestrator.core.errors import MeshError

T = TypeVar("T")


class SettingError(MeshError):
    """A ``MESH_*`` variable holds a value the mesh cannot use."""


def _seconds(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError("negative")
    return value


def _whole(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("negative")
    return value


def _text(raw: str) -> str:
    return raw


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Setting(Generic[T]):
    env: str
    default: T
    takes: str  # what a valid value is, for the error message and the docs
    meaning: str
    parse: Callable[[str], T]

    def value(self) -> T:
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.default
        try:
            return self.parse(raw)
        except ValueError:
            default = "unset" if self.default is None else _shown(self.default)
            raise SettingError(f"${self.env}={raw!r} must be {self.takes} (default {default})") from None


DATA_DIR = Setting(
    "MESH_DATA_DIR", "data", "a folder", "The data folder (relative: from the repository root).", _text
)
DBT_PARSE_DIR: Setting[str | None] = Setting(
    "MESH_DBT_PARSE_DIR",
    None,
    "a folder",
    "Where dbt's parsed projects live (default <data>/dbt-parse).",
    _text,
)
DUCKDB_MEMORY_LIMIT = Setting(
    "MESH_DUCKDB_MEMORY_LIMIT",
    "2GB",
    "a DuckDB memory size such as 2GB",
    "DuckDB's memory ceiling per process, the platform's and dbt's (it spills to disk beyond it).",
    _text,
)
DUCKDB_LOCK_WAIT_SECONDS = Setting(
    "MESH_DUCKDB_LOCK_WAIT_SECONDS",
    30.0,
    "a number of seconds >= 0",
    "How long a step waits for another process's lock on its domain's DuckDB file.",
    _seconds,
)
LOCK_RETRIES = Setting(
    "MESH_LOCK_RETRIES",
    3,
    "a whole number >= 0",
    "Retries of a step whose DuckDB file stayed locked.",
    _whole,
)
LOCK_RETRY_SECONDS = Setting(
    "MESH_LOCK_RETRY_SECONDS", 15.0, "a number of seconds >= 0", "Wait before such a retry.", _seconds
)
DATA_FOLDER_WAIT_SECONDS: Setting[float | None] = Setting(
    "MESH_DATA_FOLDER_WAIT_SECONDS",
    None,
    "a number of seconds >= 0",
    "How long a command waits for another command's lock on the data folder (default: as long as it takes).",
    _seconds,
)
SENSOR_INTERVAL_SECONDS = Setting(
    "MESH_SENSOR_INTERVAL_SECONDS",
    30.0,
    "a number of seconds >= 0",
    "Seconds between a feed sensor's ticks.",
    _seconds,
)
FILE_SETTLE_SECONDS = Setting(
    "MESH_FILE_SETTLE_SECONDS",
    10.0,
    "a number of seconds >= 0",
    "How long a landed file must stay unmodified before it is ingested.",
    _seconds,
)
AUTOMATION_INTERVAL_SECONDS = Setting(
    "MESH_AUTOMATION_INTERVAL_SECONDS",
    30,
    "a whole number >= 0",
    "Seconds between the evaluations of a location's automation sensor.",
    _whole,
)
ALERT_WEBHOOK_URL: Setting[str | None] = Setting(
    "MESH_ALERT_WEBHOOK_URL", None, "a URL", "Where alerts are POSTed as JSON, besides the alert log.", _text
)


def _url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("not an http(s) URL")
    return raw.rstrip("/")


UI_URL = Setting(
    "MESH_UI_URL",
    "http://127.0.0.1:3000",
    "an http(s) URL",
    "The Dagster UI's address, for the catalogue's links to runs (`mesh ui` serves the default).",
    _url,
)

SETTINGS: tuple[Setting[Any], ...] = (
    DATA_DIR,
    DBT_PARSE_DIR,
    DUCKDB_MEMORY_LIMIT,
    DUCKDB_LOCK_WAIT_SECONDS,
    LOCK_RETRIES,
    LOCK_RETRY_SECONDS,
    DATA_FOLDER_WAIT_SECONDS,
    SENSOR_INTERVAL_SECONDS,
    FILE_SETTLE_SECONDS,
    AUTOMATION_INTERVAL_SECONDS,
    ALERT_WEBHOOK_URL,
    UI_URL,
)


def table() -> str:
    """The settings as a Markdown table (README "Settings")."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = "unset" if s.default is None else f"`{_shown(s.default)}`"
        rows.append(f"| `{s.env}` | {default} | {s.meaning} |")
    return "\n".join(rows)
