"""End-to-end helpers: the ``mesh`` CLI run as a real subprocess against a temporary data folder."""

from __future__ import annotations

import fcntl
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
def clean_mesh(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> tuple[Path, str]:
    """Sample data (seed 7) after one whole ``mesh run``: the folder and the run's output.

    Built once per test session and shared by the pytest-xdist workers: the first to need it builds
    it under a lock, the others wait for it (each used to build its own, ~100 s of CPU apiece). It
    is read-only: a test that changes data, or runs anything, works on ``copy_data`` of it.
    """
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        root = root.parent  # the folder all workers' temporary folders share
    folder = root / "clean-mesh"
    folder.mkdir(exist_ok=True)
    data, output = folder / "data", folder / "run-output.txt"
    with (folder / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not output.exists():
            shutil.rmtree(data, ignore_errors=True)
            mesh(data, "generate", "--scale", "1", "--seed", "7")
            output.write_text(mesh(data, "run").stdout, encoding="utf-8")
    return data, output.read_text(encoding="utf-8")


def copy_data(data: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    return copy
