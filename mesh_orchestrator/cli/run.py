"""``mesh run``: every code location's assets in dependency order, against one Dagster instance.

For each domain, providers first: one run of the domain's job (landing -> bronze -> dbt), then one
run of its hand-offs. A domain with partitioned assets runs its partitions up to the last day with
data (``data_horizon``) in that one run. A consumer domain runs only if every product it consumes
passed its gate in this run; otherwise it is skipped and keeps its last good inputs. The runs are
stored in the instance, so they appear in the Dagster UI afterwards.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg
from dagster._core.events import DagsterEvent
from dagster._core.workspace.context import BaseWorkspaceRequestContext

from mesh_orchestrator.cli.headline import balance_sheet_headline
from mesh_orchestrator.core import names
from mesh_orchestrator.core.errors import MeshError
from mesh_orchestrator.core.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    file_day,
    full_range_tags,
    partitions_def,
    range_tags,
)
from mesh_orchestrator.core.spec import DomainSpec, ProductRef, domain_order, load_all_specs, load_valid_specs
from mesh_orchestrator.ingestion.feed_files import UNPARSEABLE_METADATA, UNREAD_METADATA
from mesh_orchestrator.ingestion.triggers import landing_files
from mesh_orchestrator.orchestration.launch import submit_run, wait_for_run
from mesh_orchestrator.orchestration.run_guard import owner_tags
from mesh_orchestrator.ports.tables import current_version, refuse_legacy_layout

Log = Callable[[str], None]


@dataclass
class StepOutcome:
    """One Dagster run of ``mesh run``."""

    location: str
    job: str
    run_id: str | None
    success: bool
    seconds: float
    materialised: int = 0
    rows: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    failed_checks: list[str] = field(default_factory=list)
    error: str | None = None
    materialised_keys: set[str] = field(default_factory=set)
    #: Files landing did not read, and files it landed as one unparseable record:
    #: ``<domain>/<feed>/<file>`` -> why (from the landing assets' metadata).
    files_not_read: dict[str, str] = field(default_factory=dict)
    files_unparseable: dict[str, str] = field(default_factory=dict)


@dataclass
class ProductOutcome:
    ref: ProductRef
    status: str  # published | gate_failed | not_run
    version: int | None = None
    rows: int | None = None
    detail: str = ""


@dataclass
class MeshRunSummary:
    steps: list[StepOutcome] = field(default_factory=list)
    products: list[ProductOutcome] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return (
            all(s.success and not s.checks_failed for s in self.steps)
            and not self.skipped
            and all(p.status == "published" for p in self.products)
        )


def _location_definitions(location: str) -> dg.Definitions:
    module = (
        "mesh_orchestrator.meta.definitions" if location == names.MESH else f"domains.{location}.definitions"
    )
    return importlib.import_module(module).defs


def _execute(
    location: str,
    job_name: str,
    instance: dg.DagsterInstance,
    log: Log,
    partitions: tuple[str, str] | None = None,
    *,
    workspace: BaseWorkspaceRequestContext | None = None,
    through: date | None = None,
) -> StepOutcome:
    """One run of a job; a partitioned job's run covers ``partitions`` (first, last key), by
    default every partition up to ``through`` (default: the last day with data), in one run as a
    single-run backfill does.

    Without ``workspace`` the run executes in this process; with one, it is submitted to the
    instance through its code location (as the UI launches runs) and waited for.
    """
    scope = _scope(location, job_name, partitions, through, local=workspace is None)
    covers = f" for partitions {scope[RANGE_START_TAG]}..{scope[RANGE_END_TAG]}" if scope else ""
    log(f"[{location}] running {job_name}{covers} ...")
    tags = {"mesh/location": location, **scope}
    if workspace is None:  # who runs it (process, host, data folder lock): a later `mesh run` can
        tags.update(owner_tags())  # tell it died; a submitted run is its code server's (run monitoring)
    started = time.monotonic()
    output = ""
    if workspace is None:
        job = _location_definitions(location).resolve_job_def(job_name)
        # dbt's own progress lines go to stdout; keep them for a failure report instead of the console.
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                tags=tags,
                # Failures are reported in the summary (the full events and stack traces are in the UI).
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            )
        run_id, success, events = result.run_id, result.success, result.all_events
        output = captured.getvalue()
    else:
        run_id = submit_run(instance, workspace, names.code_location(location), job_name, tags)
        run = wait_for_run(instance, run_id, log, f"[{location}] {job_name}")
        success = run.status == dg.DagsterRunStatus.SUCCESS
        events = [entry.dagster_event for entry in instance.all_logs(run_id) if entry.dagster_event]
    outcome = _outcome(location, job_name, run_id, success, time.monotonic() - started, events)
    if not success:
        tail = output.splitlines()[-30:]
        if tail:
            log(f"[{location}] last lines of output:\n  " + "\n  ".join(tail))
    status = "ok" if outcome.success and not outcome.checks_failed else "FAILED"
    where = "" if workspace is None else f" (run {run_id})"
    log(
        f"[{location}] {job_name}: {status} in {outcome.seconds:.1f}s, {outcome.materialised} assets, "
        f"{outcome.checks_passed} checks passed, {outcome.checks_failed} failed{where}"
    )
    return outcome


def _scope(
    location: str, job_name: str, partitions: tuple[str, str] | None, through: date | None, local: bool
) -> dict[str, str]:
    """The partition-range tags of a run (none for an unpartitioned job)."""
    if partitions is not None:
        return dict(range_tags(*partitions))
    if local:
        pdef = _location_definitions(location).resolve_job_def(job_name).partitions_def
    else:  # from the spec: the submitting process need not load the location's code
        spec = load_all_specs().get(location)
        pdef = partitions_def(spec.partitioning) if spec and spec.partitioning else None
    if pdef is None:
        return {}
    until = through or data_horizon()
    if until is None and not local:
        raise MeshError(
            f"{location} is partitioned and no landing folder is on this machine to tell the last day "
            "with data: say up to which day to run with --through YYYY-MM-DD"
        )
    return full_range_tags(pdef, job_name, until)


def _outcome(
    location: str, job_name: str, run_id: str, success: bool, seconds: float, events: Sequence[DagsterEvent]
) -> StepOutcome:
    """What one run did, from its events: materialisations, rows, checks, files, failures."""
    outcome = StepOutcome(location, job_name, run_id, success, seconds)
    for event in events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            outcome.materialised += 1
            if event.asset_key is not None:
                outcome.materialised_keys.add(event.asset_key.to_user_string())
            metadata = event.step_materialization_data.materialization.metadata
            rows = metadata.get("dagster/row_count")
            if rows is not None and isinstance(rows.value, int):
                outcome.rows += rows.value
            if event.asset_key is not None:
                _collect_files(event.asset_key, metadata, outcome)
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            assert isinstance(evaluation, dg.AssetCheckEvaluation)
            if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
                outcome.checks_passed += 1  # a warning is reported in the UI, it does not gate
                continue
            outcome.checks_failed += 1
            failed = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            if evaluation.description:
                failed += f": {evaluation.description}"
            outcome.failed_checks.append(failed)
    if not success:
        outcome.error = "\n".join(_failure_messages(events)) or "run failed"
    return outcome


def _collect_files(key: dg.AssetKey, metadata: Mapping[str, Any], outcome: StepOutcome) -> None:
    """The unread and unparseable files a landing asset reported, named from the landing folder."""
    folder = f"{key.path[0]}/{key.path[-1]}"
    for name, found in (
        (UNREAD_METADATA, outcome.files_not_read),
        (UNPARSEABLE_METADATA, outcome.files_unparseable),
    ):
        entry = metadata.get(name)
        if entry is not None and isinstance(entry.value, dict):
            found.update({f"{folder}/{label}": str(why) for label, why in entry.value.items()})


def data_horizon() -> date | None:
    """The last day any partitioned feed of the mesh has a file for; None without any.

    ``mesh run`` covers partitions up to that day (its month, for monthly ones): later partitions
    hold nothing yet and are left to the schedules, which close each day as it ends. A domain whose
    spec is broken does not count (it cannot run), so the others still can.
    """
    days = [
        day
        for spec in load_valid_specs()[0].values()
        for feed in spec.feeds
        if feed.partitioned_by is not None
        for file in landing_files(spec, feed)
        if (day := file_day(file.label)) is not None
    ]
    return max(days, default=None)


def _failure_messages(events: Sequence[DagsterEvent]) -> list[str]:
    """What each failed step said: the user's Failure description, else the error message; for a
    run that failed with no step failing (its worker lost, say), what the run failure said."""
    messages: list[str] = []
    for event in events:
        if event.event_type_value == "RUN_FAILURE" and not messages:
            messages.append(event.message or "run failed")
            continue
        if event.event_type_value != "STEP_FAILURE":
            continue
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            messages.append(data.user_failure_data.description)
        elif data.error is not None:
            messages.append(_error_summary(data.error.message))
        else:
            messages.append(event.message or "step failed")
    return messages


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def without_colours(text: str) -> str:
    """Text a tool printed for a terminal, without its ANSI colour codes."""
    return _ANSI.sub("", text)


_DBT_ERRORS = "Errors parsed from dbt logs:"


def _error_summary(message: str) -> str:
    """An error's first line; for a failed dbt build, the failures dbt reported."""
    text = without_colours(message).strip()
    if _DBT_ERRORS in text:
        reported = [line.strip() for line in text.split(_DBT_ERRORS, 1)[1].splitlines() if line.strip()]
        return "dbt build failed: " + "; ".join(reported[:12])
    return text.splitlines()[0] if text else "step failed"


def _handoff_outcomes(spec: DomainSpec, step: StepOutcome) -> list[ProductOutcome]:
    """Per product of a hand-off run: published in this run, or stopped by its gate."""
    outcomes = []
    for product in spec.products:
        ref = ProductRef(spec.name, product)
        key = names.handoff_key(spec.name, product).to_user_string()
        published = current_version(spec.name, product)
        if key in step.materialised_keys and published is not None:
            outcomes.append(ProductOutcome(ref, "published", published.version, published.rows))
            continue
        reason = next((m for m in (step.error or "").split("\n") if f"{ref} " in m), None)
        outcomes.append(
            ProductOutcome(
                ref,
                "gate_failed",
                published.version if published else None,
                detail=reason or step.error or "hand-off failed",
            )
        )
    return outcomes


def run_partitions(
    instance: dg.DagsterInstance, domain: str, first: str | None, last: str | None, log: Log = print
) -> MeshRunSummary:
    """``mesh backfill``: one run of the domain's job over partitions ``first..last`` (default: all),
    then its hand-offs, so that its products publish what the backfill rebuilt."""
    refuse_legacy_layout()
    job = _location_definitions(domain).resolve_job_def(names.domain_job_name(domain))
    if job.partitions_def is None:
        raise MeshError(f"{domain} has no partitioned assets; `mesh run --domains {domain}` runs it whole")
    keys = job.partitions_def.get_partition_keys()
    first, last = first or keys[0], last or first or keys[-1]
    for key in (first, last):
        if key not in keys:
            raise MeshError(
                f"{key!r} is not a partition of {domain} ({job.partitions_def}); "
                f"partitions run from {keys[0]} to {keys[-1]}"
            )
    if keys.index(first) > keys.index(last):
        raise MeshError(f"the range {first}..{last} is reversed")
    summary = MeshRunSummary()
    step = _execute(domain, job.name, instance, log, (first, last))
    summary.steps.append(step)
    spec = load_all_specs()[domain]
    if step.success and spec.products:
        handoff = _execute(names.MESH, names.handoff_job_name(domain), instance, log)
        summary.steps.append(handoff)
        summary.products += _handoff_outcomes(spec, handoff)
    return summary


def run_mesh(
    instance: dg.DagsterInstance,
    log: Log = print,
    domains: list[str] | None = None,
    workspace: BaseWorkspaceRequestContext | None = None,
    through: date | None = None,
) -> MeshRunSummary:
    """Every domain's job, then its hand-offs, providers first. Runs execute in this process, or,
    given a ``workspace``, are submitted through its code locations (see ``launch``)."""
    refuse_legacy_layout()  # ports of the layout before Iceberg: say what to do before running anything
    specs = load_all_specs()
    order = [d for d in domain_order(specs) if domains is None or d in domains]
    summary = MeshRunSummary()
    failed_products: set[ProductRef] = set()
    for domain in order:
        spec = specs[domain]
        blocked = [ref for ref in spec.consumes if ref in failed_products]
        if blocked:
            reason = f"input(s) failed their gate: {', '.join(map(str, blocked))}"
            summary.skipped[domain] = reason
            failed_products.update(ProductRef(domain, p) for p in spec.products)
            summary.products += [
                ProductOutcome(ProductRef(domain, p), "not_run", detail=reason) for p in spec.products
            ]
            log(f"[{domain}] skipped: {reason}")
            continue
        step = _execute(
            domain, names.domain_job_name(domain), instance, log, workspace=workspace, through=through
        )
        summary.steps.append(step)
        if not step.success:
            failed_products.update(ProductRef(domain, p) for p in spec.products)
            summary.products += [
                ProductOutcome(ProductRef(domain, p), "not_run", detail=f"{domain} run failed")
                for p in spec.products
            ]
            continue
        if not spec.products:
            continue
        handoff = _execute(
            names.MESH, names.handoff_job_name(domain), instance, log, workspace=workspace, through=through
        )
        summary.steps.append(handoff)
        for outcome in _handoff_outcomes(spec, handoff):
            summary.products.append(outcome)
            if outcome.status != "published":
                failed_products.add(outcome.ref)
    return summary


def _files_section(summary: MeshRunSummary) -> list[str]:
    """Files in the landing folders that landing does not read, and files landed as one unparseable
    record, each with why."""
    not_read = {path: why for s in summary.steps for path, why in s.files_not_read.items()}
    unparseable = {path: why for s in summary.steps for path, why in s.files_unparseable.items()}
    lines: list[str] = []
    for heading, found in (
        ("files not read (still in the landing folders: fix, rename or remove them)", not_read),
        ("files landed as one unparseable record (quarantined: fix and drop again)", unparseable),
    ):
        if found:
            lines += ["", heading]
            lines += [f"    {path}: {why[:500]}" for path, why in sorted(found.items())]
    return lines


RUN_SUMMARY_HEADING = "Mesh run summary"


def format_summary(summary: MeshRunSummary) -> str:
    lines = [
        "",
        RUN_SUMMARY_HEADING,
        "=" * len(RUN_SUMMARY_HEADING),
        "",
        f"{'location':<18}{'job':<28}{'status':<8}{'secs':>6}{'assets':>8}{'rows':>12}"
        f"{'checks ok':>11}{'failed':>8}",
    ]
    for s in summary.steps:
        status = "ok" if s.success and not s.checks_failed else "FAILED"
        lines.append(
            f"{s.location:<18}{s.job:<28}{status:<8}{s.seconds:>6.1f}{s.materialised:>8}"
            f"{s.rows:>12,}{s.checks_passed:>11}{s.checks_failed:>8}"
        )
        for check in s.failed_checks:
            lines.append(f"    failed check: {check[:2000]}")
        if s.error and not s.success:
            for message in s.error.splitlines():
                lines.append(f"    error: {message[:1000]}")
    for domain, reason in summary.skipped.items():
        lines.append(f"{domain:<18}{'(skipped)':<28}{reason}")
    lines += _files_section(summary)
    lines += ["", f"{'data product':<30}{'status':<14}{'version':>8}{'rows':>12}"]
    for p in summary.products:
        version = "-" if p.version is None else str(p.version)
        rows = "-" if p.rows is None else f"{p.rows:,}"
        lines.append(f"{p.ref!s:<30}{p.status:<14}{version:>8}{rows:>12}")
        if p.status != "published" and p.detail:
            lines.append(f"    {p.detail[:1000]}")
    lines += ["", "RESULT: " + ("all gates passed" if summary.success else "FAILED (see above)")]
    headline = balance_sheet_headline()
    if headline is not None:
        lines += ["", str(headline)]
    return "\n".join(lines)
