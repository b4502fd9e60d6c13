"""The dbt project's parse state: re-parsed when stale, replaced whole, one process at a time; each
data folder's runs work in their own target folder, starting from that state."""

import dataclasses
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from mesh_orchestrator.dbt import PARTIAL_PARSE_FILE, dbt_project, project_target, run_target
from mesh_orchestrator.paths import REPO_ROOT
from mesh_orchestrator.spec import DomainSpec, load_domain_spec


@pytest.fixture
def inventory(tmp_path: Path, data_dir: Path) -> DomainSpec:
    """A copy of the inventory dbt project with a stale manifest."""
    projects = tmp_path / "dbt_projects"
    shutil.copytree(REPO_ROOT / "dbt_projects" / "_shared", projects / "_shared")
    shutil.copytree(
        REPO_ROOT / "dbt_projects" / "inventory",
        projects / "inventory",
        ignore=shutil.ignore_patterns("target", "logs"),
    )
    return dataclasses.replace(load_domain_spec("inventory"), dbt_project=projects / "inventory")


def _parse(spec: DomainSpec) -> float:
    return Path(dbt_project(spec).manifest_path).stat().st_mtime


def test_parsed_once_by_concurrent_processes_and_run_per_data_folder(
    inventory: DomainSpec, data_dir: Path
) -> None:
    with ProcessPoolExecutor(2) as pool:
        stamps = list(pool.map(_parse, [inventory, inventory]))
    assert stamps[0] == stamps[1], "the second process found the first one's fresh manifest"
    project = dbt_project(inventory)
    target = project_target(project)
    assert (target / "manifest.json").is_file() and (target / PARTIAL_PARSE_FILE).is_file()
    assert not list(target.glob("parse-*")), "no scratch folder left behind"
    folder = run_target(inventory, project)
    assert folder == data_dir / "dbt" / "inventory"
    assert (folder / PARTIAL_PARSE_FILE).read_bytes() == (target / PARTIAL_PARSE_FILE).read_bytes()
