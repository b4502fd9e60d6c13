"""The order and gating of ``mesh run``, with the Dagster runs replaced by recorded outcomes."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest

from mesh_orchestrator.cli import run as runner
from mesh_orchestrator.cli.run import run_partitions
from mesh_orchestrator.core.errors import MeshError
from mesh_orchestrator.core.spec import DomainSpec, ProductRef


def _spec(name: str, products: tuple[str, ...] = (), consumes: tuple[ProductRef, ...] = ()) -> DomainSpec:
    return DomainSpec(
        name=name,
        owner=f"team:{name}",
        description="",
        dbt_project=Path(),
        feeds=(),
        products=products,
        consumes=consumes,
    )


def test_domain_without_products_runs_no_handoff(monkeypatch: pytest.MonkeyPatch) -> None:
    specs = {"ledger": _spec("ledger")}
    ran: list[str] = []

    def execute(location: str, job: str, instance: object, log: object, **_: object) -> runner.StepOutcome:
        ran.append(job)
        return runner.StepOutcome(location, job, "run", True, 0.0)

    monkeypatch.setattr(runner, "load_all_specs", lambda: specs)
    monkeypatch.setattr(runner, "_execute", execute)
    summary = runner.run_mesh(instance=None, log=lambda _m: None)  # type: ignore[arg-type]
    assert ran == ["ledger__all_assets"]
    assert summary.success


def test_failed_domain_run_stops_its_consumers(monkeypatch: pytest.MonkeyPatch) -> None:
    specs = {
        "shop": _spec("shop", ("items",)),
        "till": _spec("till", consumes=(ProductRef("shop", "items"),)),
    }
    ran: list[str] = []

    def execute(location: str, job: str, instance: object, log: object, **_: object) -> runner.StepOutcome:
        ran.append(job)
        return runner.StepOutcome(location, job, "run", False, 0.0, error="dbt test failed")

    monkeypatch.setattr(runner, "load_all_specs", lambda: specs)
    monkeypatch.setattr(runner, "_execute", execute)
    summary = runner.run_mesh(instance=None, log=lambda _m: None)  # type: ignore[arg-type]
    assert ran == ["shop__all_assets"]
    assert "till" in summary.skipped and not summary.success
    assert [p.status for p in summary.products] == ["not_run"]


def test_a_failed_dbt_build_is_summarised_by_what_dbt_reported() -> None:
    from mesh_orchestrator.cli.run import _error_summary

    message = (
        "The dbt CLI process with command\n\n`dbt build --select fqn:*`\n\nfailed with exit code `1`.\n\n"
        "Errors parsed from dbt logs:\n\n37 of 39 FAIL 21 payroll_groups_anonymous .... "
        "[\x1b[31mFAIL 21\x1b[0m in 0.06s]\n\n\x1b[31mFailure in test payroll_groups_anonymous\x1b[0m\n"
    )
    summary = _error_summary(message)
    assert summary.startswith("dbt build failed: 37 of 39 FAIL 21 payroll_groups_anonymous")
    assert "Failure in test payroll_groups_anonymous" in summary and "\x1b" not in summary
    assert _error_summary("KeyError: 'x'\nTraceback ...") == "KeyError: 'x'"


@pytest.mark.parametrize(
    ("domain", "first", "last", "message"),
    [
        ("sales", "2026-01-15", "2026-01-10", "the range 2026-01-15..2026-01-10 is reversed"),
        ("finance", "2026-01-15", None, "'2026-01-15' is not a partition of finance (Monthly, starting"),
        ("inventory", None, None, "inventory has no partitioned assets; `mesh run --domains inventory`"),
    ],
)
def test_backfill_errors_say_what_to_do(
    domain: str, first: str | None, last: str | None, message: str
) -> None:
    with pytest.raises(MeshError, match=re.escape(message)):
        run_partitions(dg.DagsterInstance.ephemeral(), domain, first, last, log=lambda _: None)


def test_a_submitted_run_is_not_claimed_by_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run submitted through a workspace executes in its code server and outlives ``mesh run``:
    it carries no owner tags, or a later ``mesh run`` on this host would mark it dead."""
    from mesh_orchestrator.core import names
    from mesh_orchestrator.orchestration import run_guard

    submitted: dict[str, str] = {}

    def submit(instance: object, workspace: object, location: str, job: str, tags: dict[str, str]) -> str:
        submitted.update(tags, location=location)
        return "run-1"

    class Finished:
        status = dg.DagsterRunStatus.SUCCESS

    class Instance:
        def all_logs(self, run_id: str) -> list[object]:
            return []

    monkeypatch.setattr(runner, "submit_run", submit)
    monkeypatch.setattr(runner, "wait_for_run", lambda *_a, **_k: Finished())
    step = runner._execute(
        names.MESH,
        names.handoff_job_name("hr"),
        Instance(),
        lambda _m: None,
        workspace=object(),  # type: ignore[arg-type]
    )
    assert step.success and step.run_id == "run-1"
    assert submitted["location"] == names.MESH_LOCATION
    assert run_guard.STARTED_BY_TAG not in submitted and submitted["mesh/location"] == names.MESH
