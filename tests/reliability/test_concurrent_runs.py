"""Issue 11, item 8: two ``mesh run`` started at once on a fresh data folder.

The second waits for the first (saying so, with the data folder and the first one's pid), then
runs; the Dagster instance they share is created once, so each of its SQLite files has exactly
one schema head (two heads made every later run fail).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from mesh_orchestrator.core.paths import REPO_ROOT
from tests.reliability.conftest import RUN_TIMEOUT, env_for, mesh_command
from tests.reliability.test_run_guard import _alembic_heads


def test_two_runs_at_once_run_one_after_the_other(fresh_data: Path) -> None:
    assert not (fresh_data / "dagster_home").exists()
    runs = [
        subprocess.Popen(
            mesh_command("run", "--domains", "inventory"),
            cwd=REPO_ROOT,
            env=env_for(fresh_data),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=2 * RUN_TIMEOUT) for run in runs]
    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, f"{stdout}\n{stderr[-3000:]}"
        assert "RESULT: all gates passed" in stdout
    waited = [i for i, (stdout, _) in enumerate(outputs) if stdout.startswith("waiting: ")]
    assert len(waited) == 1, [stdout[:300] for stdout, _ in outputs]
    first = runs[1 - waited[0]]
    said = outputs[waited[0]][0].splitlines()[0]
    assert said.startswith(f"waiting: pid {first.pid} ") and f"data folder {fresh_data}" in said, said
    heads = _alembic_heads(fresh_data / "dagster_home")
    assert {"history/runs.db", "schedules/schedules.db", "history/runs/index.db"} <= heads.keys()
    assert set(heads.values()) == {1}, heads
