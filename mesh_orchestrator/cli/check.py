"""``mesh check``: everything CI verifies on a pull request, in one readable report.

1. contracts and policies: every policy of ``quality/policies.yaml`` over the whole mesh, and the
   consumption graph (every consumed product exists, no cycle);
2. code locations: ``dg check defs`` loads every location of the dg workspace (``[tool.dg]`` in
   ``pyproject.toml``, the same six as ``workspace.yaml``) exactly as the webserver and daemon
   would (each domain enforces the policies it can answer alone; the meta-orchestrator leaves out
   a broken domain's hand-offs and still loads);
3. contract diff: ``mesh contracts diff`` against the base revision;
4. the whole mesh on freshly generated sample data in a scratch folder, every asset check included.

Every step runs even when an earlier one failed, so one report shows everything to fix.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mesh_orchestrator.cli.run import RUN_SUMMARY_HEADING, without_colours
from mesh_orchestrator.core.environment import tool
from mesh_orchestrator.core.paths import DATA_DIR_ENV, DBT_PARSE_DIR_ENV, REPO_ROOT, dbt_parse_dir

DEFAULT_BASE = "origin/main"
#: A Python warning line and the source line it quotes (e.g. Dagster's BetaWarning): noise here.
_WARNING = re.compile(r"\w+Warning: |^\s+\S+\(.*=")


@dataclass
class StepReport:
    name: str
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False

    def render(self) -> str:
        status = "SKIP" if self.skipped else ("PASS" if self.ok else "FAIL")
        lines = [f"[{status}] {self.name}: {self.summary} ({self.seconds:.1f}s)"]
        lines += [f"       {line}" for line in self.details]
        return "\n".join(lines)


def check_policies() -> StepReport:
    from mesh_orchestrator.core.errors import MeshError
    from mesh_orchestrator.core.spec import domain_order
    from mesh_orchestrator.governance.policies import Landscape, evaluate, load_policies

    try:
        landscape = Landscape.load()
        violations = evaluate(landscape)
    except MeshError as exc:
        return StepReport("contracts and policies", False, "could not evaluate", [str(exc)])
    details = [str(v) for v in violations]
    errors = len([v for v in violations if v.is_error])
    warnings = len(violations) - errors
    try:
        domain_order(landscape.specs)  # the meta-orchestrator location only leaves such a domain out
    except MeshError as exc:
        errors += 1
        details.insert(0, str(exc))
    summary = (
        f"{len(load_policies())} policies over {len(landscape.specs)} domains and "
        f"{len(landscape.contracts)} contracts: {errors} error(s), {warnings} warning(s)"
    )
    return StepReport("contracts and policies", not errors, summary, details)


def check_locations(env: dict[str, str]) -> StepReport:
    """Load every code location of workspace.yaml with Dagster's own validator."""
    with tempfile.TemporaryDirectory(prefix="mesh-check-home-") as home:
        # A throwaway instance: validating must not touch (or need) the user's Dagster instance.
        # dg reads its telemetry switch from the instance's dagster.yaml, not from the environment.
        Path(home, "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
        result = subprocess.run(
            [tool("dg"), "check", "defs", "--use-active-venv", "--log-level", "info"],
            cwd=REPO_ROOT,
            env={**env, "DAGSTER_HOME": home},
            capture_output=True,
            text=True,
            check=False,
        )
    output = without_colours(result.stdout + result.stderr)
    passed = re.findall(r"Validation successful for code location (\w+)", output)
    failed = re.findall(r"Validation failed for code location (\w+)", output)
    details = [f"failed to load: {name}" for name in failed]
    if result.returncode != 0:
        # Dagster prints each location's error with its traceback: keep the lines that say what to
        # fix, once each.
        seen: set[str] = set()
        for line in output.splitlines():
            line = line.strip()
            said = re.sub(r"^[\w.]*(MeshError|SpecError|PolicyViolationError): ", "", line)
            if said.startswith("code location "):
                seen = set()  # a location's own list, even where another location said the same
            if (said != line or line.startswith("- GOV-")) and said not in seen:
                seen.add(said)
                details.append(said)
    summary = f"{len(passed)} loaded" + (f", {len(failed)} failed" if failed else "")
    if result.returncode != 0 and not failed:
        summary = f"dg check defs exited {result.returncode}"
        details = output.strip().splitlines()[-20:]
    return StepReport("code locations", result.returncode == 0, summary, details)


def check_contract_diff(base: str | None) -> StepReport:
    from mesh_orchestrator.core.errors import BaseRevisionError
    from mesh_orchestrator.governance.diff import diff_contracts, format_diff

    name = "contract diff"
    if base is None:
        try:
            subprocess.run(
                ["git", "rev-parse", "--verify", f"{DEFAULT_BASE}^{{commit}}"],
                cwd=REPO_ROOT,
                capture_output=True,
                check=True,
            )
            base = DEFAULT_BASE
        except (subprocess.CalledProcessError, FileNotFoundError):
            return StepReport(
                name, True, f"skipped: no {DEFAULT_BASE} to compare with (pass --base <rev>)", skipped=True
            )
    try:
        diffs = diff_contracts(base)
    except BaseRevisionError as exc:
        return StepReport(name, False, f"cannot compare with {base}", [str(exc)])
    unannounced = [d for d in diffs if d.unannounced]
    summary = f"against {base}: {len(diffs)} contract(s) changed, {len(unannounced)} unannounced breaking"
    return StepReport(name, not unannounced, summary, format_diff(diffs, base).splitlines())


def check_mesh_run(env: dict[str, str], data_dir: Path | None) -> StepReport:
    """Generate sample data in a scratch folder and run the whole mesh as `mesh demo` does."""
    with tempfile.TemporaryDirectory(prefix="mesh-check-") as scratch:
        folder = data_dir or Path(scratch) / "data"
        run_env = {**env, DATA_DIR_ENV: str(folder), "DAGSTER_HOME": str(folder / "dagster_home")}
        result = subprocess.run(
            [sys.executable, "-m", "mesh_orchestrator.cli.main", "demo"],
            cwd=REPO_ROOT,
            env=run_env,
            capture_output=True,
            text=True,
            check=False,
        )
    result_line, details = run_report(result.stdout, result.stderr)
    return StepReport("whole mesh on sample data", result.returncode == 0, result_line, details)


def run_report(stdout: str, stderr: str) -> tuple[str, list[str]]:
    """The result line and the details of a ``mesh demo``: its run summary (from stdout), or, when
    it printed none, the last lines of stderr, where the error is (warnings left out)."""
    lines = stdout.strip().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(RUN_SUMMARY_HEADING)), None)
    if start is None:
        errors = [line for line in stderr.strip().splitlines() if not _WARNING.search(line)]
        lines, start = lines + errors, max(0, len(lines) + len(errors) - 30)
    details = [line for line in lines[start:] if line.strip() and not line.startswith("Dagster instance")]
    details = [line for line in details if not set(line.strip()) <= {"="}]
    result_line = next((line for line in reversed(lines) if line.startswith("RESULT")), "no result line")
    return result_line, details


def run_check(
    base: str | None = None,
    run_mesh: bool = True,
    diff: bool = True,
    data_dir: Path | None = None,
    progress: Callable[[str], None] = print,
) -> list[StepReport]:
    env = {**os.environ, DBT_PARSE_DIR_ENV: str(dbt_parse_dir())}  # the sample run reuses the parse
    reports: list[StepReport] = []
    steps: list[tuple[str, Callable[[], StepReport]]] = [
        ("contracts and policies", check_policies),
        ("code locations", lambda: check_locations(env)),
    ]
    if diff:
        steps.append(("contract diff", lambda: check_contract_diff(base)))
    if run_mesh:
        steps.append(("whole mesh on sample data", lambda: check_mesh_run(env, data_dir)))
    for name, step in steps:
        progress(f"... {name}")
        started = time.perf_counter()
        report = step()
        report.seconds = time.perf_counter() - started
        reports.append(report)
    return reports


def _verdict(reports: list[StepReport]) -> str:
    failed = [r for r in reports if not r.ok]
    return "PASS" if not failed else f"FAIL ({', '.join(r.name for r in failed)})"


def format_report(reports: list[StepReport]) -> str:
    lines = ["", "mesh check", "=========="]
    lines += [r.render() for r in reports]
    lines += ["", f"RESULT: {_verdict(reports)}"]
    return "\n".join(lines)


def format_markdown(reports: list[StepReport]) -> str:
    """The report as GitHub-flavoured Markdown: a pull request's job summary (``--report``)."""
    lines = [
        f"## mesh check: {_verdict(reports)}",
        "",
        "| step | result | summary | seconds |",
        "|---|---|---|---|",
    ]
    for r in reports:
        status = "skipped" if r.skipped else ("pass" if r.ok else "**FAIL**")
        summary = r.summary.replace("|", "\\|")
        lines.append(f"| {r.name} | {status} | {summary} | {r.seconds:.1f} |")
    for r in (r for r in reports if r.details):
        lines += ["", f"<details{' open' if not r.ok else ''}><summary>{r.name}</summary>", "", "```text"]
        lines += [*r.details, "```", "", "</details>"]
    return "\n".join(lines) + "\n"
