"""`mesh new-domain`: refused names, the listings it extends, and (long) a scaffolded domain that
loads, passes `mesh check --skip-run` and publishes its product through a gated hand-off."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.devtools.new_domain import LISTINGS, TEMPLATE_DOMAIN, check_name, copy_entries

#: What a copy of the repository needs for `mesh check`, `mesh run` and the docker tests.
COPIED = (
    "mesh_orchestrator", "domains", "dbt_projects", "quality", "docker", "tests", "workspace.yaml",
    "pyproject.toml", "README.md", "uv.lock",
)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Field-Ops", "snake_case"),
        ("x", "snake_case"),
        ("mesh_orchestrator", "reserved"),
        ("ports", "reserved"),
        ("sales", "exists already"),
    ],
)
def test_a_name_that_is_unsafe_reserved_or_taken_is_refused(name: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_name(name)


def test_every_listing_gets_the_new_location_beside_the_templates() -> None:
    for file, mode in LISTINGS.items():
        text = (REPO_ROOT / file).read_text(encoding="utf-8")
        extended = copy_entries(text, TEMPLATE_DOMAIN, "field_ops", mode)
        added = [line for line in extended.splitlines() if line not in text.splitlines()]
        assert added, file
        assert all("finance" not in line.lower() for line in added), (file, added)
        assert extended.replace("field_ops", "").replace("field-ops", "").replace("FIELD_OPS", "") != text
    compose = copy_entries((REPO_ROOT / "docker/docker-compose.yml").read_text(), "finance", "field_ops")
    assert "  code_field_ops: {condition: service_healthy}\n" in compose
    assert "MESH_PII_KEY_FIELD_OPS: ${MESH_PII_KEY_FIELD_OPS:?" in compose
    values = copy_entries((REPO_ROOT / "docker/helm/values.yaml").read_text(), "finance", "field_ops")
    assert "- {host: code-field-ops, port: 4000, name: field_ops}" in values  # Kubernetes: hyphens
    assert "persistentVolumeClaim: {claimName: mesh-data-field-ops}" in values


def _mesh(repo: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(repo),
        "MESH_DATA_DIR": str(data),
        "DAGSTER_HOME": str(data / "home"),
    }
    return subprocess.run(
        [sys.executable, "-m", "mesh_orchestrator.cli.main", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


@pytest.mark.long  # loads seven locations and runs a domain and its hand-off: minutes
def test_a_new_domain_loads_passes_mesh_check_and_publishes(tmp_path: Path) -> None:
    repo, data = tmp_path / "repo", tmp_path / "data"
    ignore = shutil.ignore_patterns("__pycache__", "target", "logs", "dbt_packages")
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=ignore)
        else:
            shutil.copy2(source, repo / name)
    shutil.copy2(REPO_ROOT / "docker" / ".env.example", repo / "docker" / ".env.example")

    made = _mesh(repo, data, "new-domain", "clinic")
    assert made.returncode == 0, made.stdout + made.stderr
    assert "domain clinic is ready" in made.stdout
    assert (data / "landing" / "clinic" / "events" / "events-0001.csv").is_file()

    check = _mesh(repo, data, "check", "--skip-run", "--skip-diff")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "policies over 6 domains and 14 contracts: 0 error(s), 0 warning(s)" in check.stdout
    assert "[PASS] code locations: 7 loaded" in check.stdout

    run = _mesh(repo, data, "run", "--domains", "clinic")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "RESULT: all gates passed" in run.stdout
    assert [line.split() for line in run.stdout.splitlines() if line.startswith("clinic.daily_totals")] == [
        ["clinic.daily_totals", "published", "1", "47"]
    ]

    docker = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/docker"],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert docker.returncode == 0, docker.stdout[-3000:]
