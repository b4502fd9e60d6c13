"""End-to-end helpers: the ``mesh`` CLI run as a real subprocess against a temporary data folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mesh_orchestrator.paths import REPO_ROOT


def mesh(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``mesh <args>`` with ``MESH_DATA_DIR=data_dir``; output captured as text."""
    env = {**os.environ, "MESH_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(data_dir / "dagster_home")}
    result = subprocess.run(
        [sys.executable, "-m", "mesh_orchestrator.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"mesh {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="session")
def clean_mesh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Sample data (seed 7) after one whole ``mesh run``: the folder and the run's output.

    Shared by the tests of this folder; a test that changes data works on ``copy_data`` of it.
    """
    data = tmp_path_factory.mktemp("clean") / "data"
    mesh(data, "generate", "--scale", "1", "--seed", "7")
    run = mesh(data, "run")
    return data, run.stdout


def copy_data(data: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    return copy
