"""The dbt project's parse state: parsed once per content of the project's files, one process at a
time, outside the repository; each data folder's runs work in their own target folder, starting
from that state, and nothing is written into ``dbt_projects/``."""

import dataclasses
import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import dagster as dg
import pytest

from mesh_orchestrator.components.domain import domain_assets
from mesh_orchestrator.core.paths import DBT_PARSE_DIR_ENV, REPO_ROOT, dbt_parse_dir
from mesh_orchestrator.core.spec import DomainSpec, load_all_specs, load_domain_spec
from mesh_orchestrator.devtools.generate import generate
from mesh_orchestrator.transformation.dbt import (
    PARTIAL_PARSE_FILE,
    PROFILES_FILE,
    dbt_project,
    parse_target,
    profiles_dir,
    run_target,
)


@pytest.fixture
def inventory(tmp_path: Path, data_dir: Path) -> DomainSpec:
    """A copy of the inventory dbt project (and the shared macros), without any parse state."""
    projects = tmp_path / "dbt_projects"
    shutil.copytree(REPO_ROOT / "dbt_projects" / "_shared", projects / "_shared")
    shutil.copy(REPO_ROOT / "dbt_projects" / PROFILES_FILE, projects / PROFILES_FILE)
    shutil.copytree(
        REPO_ROOT / "dbt_projects" / "inventory",
        projects / "inventory",
        ignore=shutil.ignore_patterns("target", "logs"),
    )
    return dataclasses.replace(load_domain_spec("inventory"), dbt_project=projects / "inventory")


def test_every_domain_shares_one_dbt_profile() -> None:
    """One ``dbt_projects/profiles.yml``; the domain comes in as a var, not as a copy per project."""
    import yaml

    for spec in load_all_specs().values():
        assert not (spec.dbt_project / PROFILES_FILE).exists(), spec.dbt_project
        assert profiles_dir(spec) == REPO_ROOT / "dbt_projects"
        project = yaml.safe_load((spec.dbt_project / "dbt_project.yml").read_text(encoding="utf-8"))
        assert project["profile"] == "mesh", spec.name
    profile = (REPO_ROOT / "dbt_projects" / PROFILES_FILE).read_text(encoding="utf-8")
    assert "var('domain')" in profile and "sales" not in profile.split("mesh:", 1)[1]


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _parse(spec: DomainSpec) -> int:
    return Path(dbt_project(spec).manifest_path).stat().st_ino


def test_parsed_once_by_concurrent_processes_and_run_per_data_folder(
    inventory: DomainSpec, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DBT_PARSE_DIR_ENV, str(tmp_path / "parse"))  # a parse of its own, not the session's
    with ProcessPoolExecutor(2) as pool:
        stamps = list(pool.map(_parse, [inventory, inventory]))
    assert stamps[0] == stamps[1], "the second process found the first one's fresh manifest"
    project = dbt_project(inventory)
    target = Path(project.target_path)
    assert target == parse_target(inventory) and target.parent == tmp_path / "parse"
    assert (target / "manifest.json").is_file() and (target / PARTIAL_PARSE_FILE).is_file()
    assert not list(target.glob("parse-*")), "no scratch folder left behind"
    folder = run_target(inventory, project)
    assert folder == data_dir / "dbt" / "inventory"
    assert (folder / PARTIAL_PARSE_FILE).read_bytes() == (target / PARTIAL_PARSE_FILE).read_bytes()


def test_a_parse_is_keyed_by_the_project_files(inventory: DomainSpec) -> None:
    original = load_domain_spec("inventory")
    assert parse_target(inventory) == parse_target(original), "an identical copy shares the parse"
    model = next((inventory.dbt_project / "models" / "gold").glob("*.sql"))
    model.write_text(model.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
    assert parse_target(inventory) != parse_target(original), "an edited project gets its own"
    assert parse_target(original).parent == dbt_parse_dir()


def test_loading_and_running_write_nothing_into_the_project(inventory: DomainSpec, data_dir: Path) -> None:
    """Regression: the manifest, partial parse, lock and parse scratch folders went to the
    project's ``target/`` (a folder of the repository)."""
    projects = inventory.dbt_project.parent
    before = _files(projects)
    generate(data_dir, scale=1, seed=5, domains=["inventory"])
    assets, dbt = domain_assets(inventory)
    with dg.instance_for_test() as instance:
        result = dg.materialize(assets, instance=instance, resources={"dbt": dbt}, raise_on_error=False)
    assert result.success
    assert _files(projects) == before, "nothing new under dbt_projects/"
    assert not list(projects.glob("*/target")) and not list(projects.glob("*/logs"))
    assert (data_dir / "dbt" / "inventory" / "run_results.json").is_file(), "runs write to the data folder"
    log = (data_dir / "dbt" / "inventory" / "dbt.log").read_text(encoding="utf-8").splitlines()
    levels = {json.loads(line)["info"]["level"] for line in log}
    assert levels == {"info"}, "dbt's log file at info: its debug lines cost a second per dbt run"
