"""Shared fixtures: an isolated data folder and Dagster home per test session or test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesh_orchestrator.paths import DBT_PARSE_DIR_ENV

for key, value in {
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    # Tests make many data folders; they share one parse of each dbt project (a full parse of the
    # five costs about 90 s), here and in the `mesh` subprocesses they start. Parses are keyed by
    # the projects' content, so the folder serves every xdist worker and later sessions too.
    DBT_PARSE_DIR_ENV: str(Path(tempfile.gettempdir()) / f"mesh-dbt-parse-{os.getuid()}"),
}.items():
    os.environ.setdefault(key, value)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ``MESH_DATA_DIR`` for one test."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("MESH_DATA_DIR", str(folder))
    yield folder
