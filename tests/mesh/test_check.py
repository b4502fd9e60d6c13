"""`mesh check`, as CI runs it: the repository passes; a copy of it with four governance breaches
fails with one report that says what to fix for each."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mesh_orchestrator.core.paths import REPO_ROOT

COPIED = ("mesh_orchestrator", "domains", "dbt_projects", "quality", "workspace.yaml", "pyproject.toml")


WORKFLOW = REPO_ROOT / ".github" / "workflows" / "mesh-check.yml"


def _steps() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The workflow and its steps by what they use or their name."""
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["mesh-check"]["steps"]
    return workflow, {step.get("uses", "").split("@")[0] or step["name"]: step for step in steps}


def test_the_workflow_runs_mesh_check_on_every_pull_request_against_its_base() -> None:
    workflow, steps = _steps()
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as true
    assert steps["actions/checkout"]["with"]["fetch-depth"] == 0  # the base commit is in the clone
    uv = steps["astral-sh/setup-uv"]["with"]
    uv_version = re.search(r"^UV_VERSION := (\S+)", (REPO_ROOT / "Makefile").read_text(), re.M)
    assert uv["enable-cache"] is True and uv["cache-dependency-glob"] == "uv.lock"
    assert uv_version and uv["version"] == uv_version.group(1)
    check = steps["mesh check"]
    assert check["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert check["run"].startswith('uv run --frozen mesh check --base "$BASE_SHA" ')
    report = re.search(r"--report (\S+)", check["run"])
    assert report
    assert steps["job summary"]["if"] == "always()"
    assert steps["job summary"]["run"] == f'cat {report.group(1)} >> "$GITHUB_STEP_SUMMARY"'
    artifact = steps["actions/upload-artifact"]["with"]["path"].split()
    assert report.group(1) in artifact
    catalogue = steps["catalogue"]
    assert catalogue["if"] == "always()"
    data = re.search(r"--data-dir (\S+)", check["run"])
    assert data and catalogue["run"].startswith(
        f'MESH_DATA_DIR="$PWD/{data.group(1)}" uv run --frozen mesh catalog '
    )
    output = re.search(r"--output (\S+)", catalogue["run"])
    assert output and f"{output.group(1)}/" in artifact


@pytest.mark.long  # generates and runs the whole mesh from nothing (`mesh demo`): minutes
def test_the_repository_passes_the_workflows_mesh_check(tmp_path: Path) -> None:
    """The workflow's own command, run here with the base at HEAD."""
    _, steps = _steps()
    uv = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("MESH_DATA_DIR", "DAGSTER_HOME")},  # as on GitHub
        "BASE_SHA": head.stdout.strip(),
        "UV_PROJECT": str(REPO_ROOT),  # the command runs in a scratch folder, writing nothing here
        "PATH": f"{Path(uv).parent}{os.pathsep}{os.environ['PATH']}",
    }

    def run_step(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", steps[name]["run"]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )

    result = run_step("mesh check")
    report = result.stdout
    assert result.returncode == 0, report + result.stderr
    assert "[PASS] contracts and policies: 13 policies over 5 domains and 13 contracts" in report
    assert "[PASS] code locations: 6 loaded" in report
    assert f"[PASS] contract diff: against {env['BASE_SHA']}" in report
    assert "[PASS] whole mesh on sample data: RESULT: all gates passed" in report
    assert report.rstrip().endswith("report written to mesh-check/report.md")
    summary = (tmp_path / "mesh-check" / "report.md").read_text(encoding="utf-8")
    assert summary.startswith("## mesh check: PASS\n")
    assert "| whole mesh on sample data | pass | RESULT: all gates passed |" in summary

    catalogue = run_step("catalogue")
    assert catalogue.returncode == 0, catalogue.stdout + catalogue.stderr
    assert "catalogue of 13 products (13 fresh) written to" in catalogue.stdout
    page = (tmp_path / "mesh-check" / "catalog" / "sales" / "invoices.html").read_text(encoding="utf-8")
    assert 'data-gate="contract_satisfied">passed' in page, "the gates come from the sample run's instance"


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def broken_repo(tmp_path: Path) -> Path:
    """A copy of the repository with four breaches, one of each kind the issue names."""
    repo = tmp_path / "repo"
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, repo / name, ignore=shutil.ignore_patterns("logs", "__pycache__", "mesh_run*")
            )
        else:
            shutil.copy2(source, repo / name)
    contracts = repo / "quality" / "contracts"
    # 1. an owner removed
    _break(contracts / "hr" / "rewards.yaml", "team:\n  name: hr\n", "")
    # 2. a personal-data column exposed unmasked
    _break(
        contracts / "procurement" / "suppliers.yaml",
        "  - name: supplier_name\n",
        "  - name: supplier_name\n    classification: pii\n",
    )
    # 3. finance consumes a product whose grant was withdrawn
    receivables = contracts / "sales" / "receivables.yaml"
    receivables.write_text(
        re.sub(r"roles:\n- role: finance\n(  .*\n)*", "roles: []\n", receivables.read_text())
    )
    # 4. a dbt model contract edited by hand
    _break(
        repo / "dbt_projects" / "inventory" / "models" / "gold" / "_products.yml",
        "data_type: DECIMAL(18,2)",
        "data_type: DOUBLE",
    )
    return repo


def test_mesh_check_names_each_breach_and_what_to_fix(broken_repo: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(broken_repo), "MESH_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "mesh_orchestrator.cli.main", "check", "--skip-run", "--skip-diff"],
        cwd=broken_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = result.stdout
    assert result.returncode == 1, report + result.stderr
    assert "[FAIL] contracts and policies" in report and "[FAIL] code locations" in report
    assert (
        "GOV-001 product_has_valid_contract (error): hr.rewards: fix field 'team': name the owning team"
        in report
    )
    assert (
        "GOV-005 personal_data_masked (error): procurement.suppliers.supplier_name: is classified pii"
        in report
    )
    assert "mask_pii('supplier_name')" in report
    assert "GOV-003 consume_only_granted_products (error): finance consumes sales.receivables" in report
    assert "ask team team:sales to add or renew {role: finance, access: read" in report
    assert (
        "dbt_projects/inventory/models/gold/_products.yml and "
        "quality/contracts/inventory/item_catalogue.yaml disagree" in report
    )
    # each broken domain stops its own location; the meta-orchestrator loads the others' hand-offs
    assert "failed to load: hr" in report and "failed to load: finance" in report
    assert "failed to load: mesh_orchestrator" not in report
    assert report.rstrip().endswith("RESULT: FAIL (contracts and policies, code locations)")


SUMMARY = """Generating sample data ...

Mesh run summary
================

location          job                         status    secs  assets        rows  checks ok  failed
sales             sales__all_assets           FAILED     9.0       3         100          4       1
    failed check: sales/gold/invoices: amounts_positive

RESULT: FAILED (see above)
"""
WARNINGS = (
    "/x/dagster/components/core/defs_module.py:88: BetaWarning: Class `CodeReferencesMetadataValue` is beta\n"
    "  code_references=CodeReferencesMetadataValue(\n"
)


def test_the_sample_run_report_shows_the_run_summary_not_the_warnings() -> None:
    """Regression: the report looked for a heading the summary no longer has and showed stderr's
    last lines instead, which were Dagster's warnings, so a failed run said nothing of why."""
    from mesh_orchestrator.cli.check import run_report

    result, details = run_report(SUMMARY, WARNINGS * 20)
    assert result == "RESULT: FAILED (see above)"
    assert "    failed check: sales/gold/invoices: amounts_positive" in details
    assert not [line for line in details if "Warning" in line or "code_references" in line]


def test_a_sample_run_that_printed_no_summary_shows_its_error() -> None:
    from mesh_orchestrator.cli.check import run_report

    result, details = run_report("Generating sample data ...\n", WARNINGS + "MeshError: no space left\n")
    assert result == "no result line"
    assert details[-1] == "MeshError: no space left" and not any("Warning" in line for line in details)
