"""Shared fixtures: an isolated data folder and Dagster home per test session or test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesh_orchestrator.core.paths import DBT_PARSE_DIR_ENV

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

# The embedded Iceberg catalog in each test's data folder, whatever the developer's own pyiceberg
# configuration says: pyiceberg reads the first .pyiceberg.yaml it finds, $PYICEBERG_HOME first.
for key in [k for k in os.environ if k.startswith("PYICEBERG_CATALOG__")]:
    del os.environ[key]
_ICEBERG_HOME = Path(tempfile.gettempdir()) / f"mesh-pyiceberg-home-{os.getuid()}"
_ICEBERG_HOME.mkdir(exist_ok=True)
(_ICEBERG_HOME / ".pyiceberg.yaml").write_text("catalog:\n  unused:\n    type: in-memory\n", encoding="utf-8")
os.environ["PYICEBERG_HOME"] = str(_ICEBERG_HOME)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ``MESH_DATA_DIR`` for one test."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("MESH_DATA_DIR", str(folder))
    yield folder
