"""Shared fixtures: an isolated data folder and Dagster home per test session or test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

for key, value in {
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
}.items():
    os.environ.setdefault(key, value)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ``MESH_DATA_DIR`` for one test."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("MESH_DATA_DIR", str(folder))
    yield folder
