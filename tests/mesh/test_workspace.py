"""The six code locations load from workspace.yaml and form one lineage graph."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from mesh_orchestrator.core.paths import REPO_ROOT

WORKSPACE = REPO_ROOT / "workspace.yaml"


def test_workspace_lists_every_domain_and_the_meta_orchestrator() -> None:
    entries = yaml.safe_load(WORKSPACE.read_text())["load_from"]
    locations = {e["python_module"]["location_name"] for e in entries}
    domains = {p.parent.name for p in (REPO_ROOT / "domains").glob("*/defs.yaml")}
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
        assert set(request.get_code_location_entries()) == {
            "hr",
            "inventory",
            "procurement",
            "sales",
            "finance",
            "mesh_orchestrator",
        }
        graph = request.asset_graph
        edges = [
            ("inventory", "item_catalogue", "sales"),
            ("inventory", "stock_levels", "finance"),
            ("hr", "payroll_costs", "finance"),
            ("hr", "rewards", "finance"),
            ("procurement", "supplier_invoices", "finance"),
            ("procurement", "suppliers", "finance"),
            ("sales", "invoices", "finance"),
            ("sales", "receivables", "finance"),
        ]
        for provider, product, consumer in edges:
            handoff = dg.AssetKey(["mesh", "handoff", f"{provider}__{product}"])
            assert graph.get_repository_handle(handoff).location_name == "mesh_orchestrator"
            assert dg.AssetKey([provider, "gold", product]) in graph.get(handoff).parent_keys
            consumers = graph.get(handoff).child_keys
            assert consumers, f"nobody consumes {handoff.to_user_string()}"
            assert {graph.get_repository_handle(k).location_name for k in consumers} == {consumer}
