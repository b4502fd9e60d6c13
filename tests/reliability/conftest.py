"""Crash-recovery helpers: the ``mesh`` CLI as a subprocess, optionally killed at a precise point."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mesh_orchestrator.core.paths import REPO_ROOT

KILL_AT = Path(__file__).with_name("kill_at.py")
#: Longer than a healthy ``mesh run --domains inventory`` (about 25 s on 2 shared cores); a run
#: wedged by a dead run's pool slot waits forever, so this bounds the test instead.
RUN_TIMEOUT = 240


def env_for(data: Path) -> dict[str, str]:
    return {**os.environ, "MESH_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}


def mesh_command(*args: str, kill_at: str | None = None) -> list[str]:
    if kill_at is None:
        return [sys.executable, "-m", "mesh_orchestrator.cli.main", *args]
    return [sys.executable, str(KILL_AT), kill_at, *args]


def mesh(data: Path, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``mesh <args>`` on ``data``; output captured as text, never left hanging."""
    return subprocess.run(
        mesh_command(*args, kill_at=kill_at),
        cwd=REPO_ROOT,
        env=env_for(data),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def shown(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr[-5000:]}"


@pytest.fixture(scope="module")
def inventory_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Inventory's sample data (seed 7), generated once per module; never run: copy it first."""
    data = tmp_path_factory.mktemp("sample") / "data"
    done = mesh(data, "generate", "--scale", "1", "--seed", "7", "--domains", "inventory")
    assert done.returncode == 0, shown(done)
    return data


@pytest.fixture
def fresh_data(inventory_sample: Path, tmp_path: Path) -> Path:
    """A private copy of the sample data: no Dagster instance, no warehouse, nothing published."""
    copy = tmp_path / "data"
    shutil.copytree(inventory_sample, copy)
    return copy
