"""End-to-end helpers: the ``mesh`` CLI run as a real subprocess against a temporary data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
