"""``dg`` across the mesh: the workspace names the six code locations of workspace.yaml, ``dg list
defs`` lists a domain's definitions, and ``dg scaffold defs DomainComponent`` starts a new domain."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from mesh_orchestrator.core.environment import tool
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.spec import DOMAIN_COMPONENT_TYPE, SPEC_FILE, component_attributes


def _dg(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """Run ``dg`` from this environment, telemetry off (dg reads it from the instance's dagster.yaml)."""
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    return subprocess.run(
        [tool("dg"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _dg_locations() -> dict[str, str]:
    """Location name -> module, as the dg workspace in pyproject.toml declares them."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["dg"]
    assert config["directory_type"] == "workspace"
    found = {}
    for project in config["workspace"]["projects"]:
        project_config = tomllib.loads((REPO_ROOT / project["path"] / "dg.toml").read_text(encoding="utf-8"))
        assert project_config["directory_type"] == "project"
        found[project_config["project"]["code_location_name"]] = project_config["project"][
            "code_location_target_module"
        ]
    return found


def test_the_dg_workspace_and_workspace_yaml_name_the_same_six_locations() -> None:
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text(encoding="utf-8"))
    declared = {
        entry["python_module"]["location_name"]: entry["python_module"]["module_name"]
        for entry in workspace["load_from"]
    }
    assert _dg_locations() == declared
    assert len(declared) == 6


def test_dg_list_defs_lists_a_domain(tmp_path: Path) -> None:
    listed = _dg("list", "defs", "--json", "--target-path", "domains/inventory", cwd=REPO_ROOT, home=tmp_path)
    assert listed.returncode == 0, listed.stderr[-3000:]
    defs = json.loads(listed.stdout[listed.stdout.index("{") :])
    keys = {asset["asset_key"] for asset in defs["assets"]}
    assert "inventory/landing/stock_movements" in keys and "inventory/gold/item_catalogue" in keys
    assert {job["name"] for job in defs["jobs"]} == {"inventory__all_assets"}
    # each definition says where it was declared: the domain's component file
    assert {asset["source"].split(":")[0] for asset in defs["assets"]} == {"defs.yaml"}


def test_dg_list_defs_lists_the_meta_orchestrator_from_its_component(tmp_path: Path) -> None:
    meta = "mesh_orchestrator/meta"
    listed = _dg("list", "defs", "--json", "--target-path", meta, cwd=REPO_ROOT, home=tmp_path)
    assert listed.returncode == 0, listed.stderr[-3000:]
    defs = json.loads(listed.stdout[listed.stdout.index("{") :])
    handoffs = [a for a in defs["assets"] if a["asset_key"].startswith("mesh/handoff/")]
    assert "mesh/handoff/sales__invoices" in {a["asset_key"] for a in handoffs}
    # the hand-offs come from the component; the gold models they read are other locations' assets
    assert {a["source"].split(":")[0] for a in handoffs} == {"defs.yaml"}


def test_dg_scaffold_starts_a_new_domain(tmp_path: Path) -> None:
    project = tmp_path / "domains"
    project.mkdir()
    (project / "dg.toml").write_text((REPO_ROOT / "domains" / "dg.toml").read_text(encoding="utf-8"))
    made = _dg(
        "scaffold",
        "defs",
        "DomainComponent",
        "payments",
        "--owner",
        "team:treasury",
        cwd=project,
        home=tmp_path,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    folder = project / "payments"
    assert sorted(p.name for p in folder.iterdir()) == [
        "__init__.py",
        "definitions.py",
        "defs.yaml",
        "dg.toml",
    ]
    document = yaml.safe_load((folder / SPEC_FILE).read_text(encoding="utf-8"))
    assert document["type"] == DOMAIN_COMPONENT_TYPE
    attributes = component_attributes(document, folder / SPEC_FILE)
    assert attributes["name"] == "payments" and attributes["owner"] == "team:treasury"
    location = tomllib.loads((folder / "dg.toml").read_text(encoding="utf-8"))["project"]
    assert location["code_location_target_module"] == "domains.payments.definitions"


@pytest.mark.parametrize("domain", ["hr", "sales"])
def test_each_domain_folder_is_a_dg_project_of_its_location(domain: str) -> None:
    assert _dg_locations()[domain] == f"domains.{domain}.definitions"
    assert (REPO_ROOT / "domains" / domain / SPEC_FILE).is_file()


def test_a_location_is_built_at_its_folder_without_the_library_catalogue() -> None:
    """Built at the tree's root, every location would import every installed library's component
    types (dagster-aws, dagster-k8s ...) to list them for the UI: seconds per code-server start."""
    from mesh_orchestrator.components.location import load_location

    defs = load_location("domains.inventory.definitions")
    assert "plugin_component_types_json" not in (defs.metadata or {})
    assert {key.path[-1] for key in defs.resolve_asset_graph().get_all_asset_keys()} >= {"item_catalogue"}
