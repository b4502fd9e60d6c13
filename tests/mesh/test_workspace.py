"""The six (for now three) code locations load from workspace.yaml and form one lineage graph."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from mesh_orchestrator.paths import REPO_ROOT

WORKSPACE = REPO_ROOT / "workspace.yaml"


def test_workspace_lists_every_domain_and_the_meta_orchestrator() -> None:
    entries = yaml.safe_load(WORKSPACE.read_text())["load_from"]
    locations = {e["python_module"]["location_name"] for e in entries}
    domains = {p.parent.name for p in (REPO_ROOT / "domains").glob("*/domain.yaml")}
    assert locations == domains | {"mesh_orchestrator"}


def test_dagster_definitions_validate(tmp_path: Path) -> None:
    env = {**os.environ, "MESH_DATA_DIR": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", str(WORKSPACE)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cross_location_lineage(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MESH_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(REPO_ROOT)
    with (
        dg.instance_for_test(temp_dir=str(tmp_path)) as instance,
        WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(WORKSPACE)])) as context,
    ):
        request = context.create_request_context()
        errors = {
            name: entry.load_error
            for name, entry in request.get_code_location_entries().items()
            if entry.load_error
        }
        assert not errors, errors
        graph = request.asset_graph
        handoff = dg.AssetKey(["mesh", "handoff", "inventory__item_catalogue"])
        owner = graph.get_repository_handle(handoff).location_name
        assert owner == "mesh_orchestrator"
        assert dg.AssetKey(["inventory", "gold", "item_catalogue"]) in graph.get(handoff).parent_keys
        consumers = {k for k in graph.get(handoff).child_keys}
        assert any(k.path[0] == "sales" for k in consumers), consumers
        for key in consumers:
            assert graph.get_repository_handle(key).location_name == "sales"
