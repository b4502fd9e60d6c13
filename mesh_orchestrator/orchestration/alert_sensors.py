"""Sensors of the meta location that turn failed runs, failed gates and stale products into alerts.

* ``gate_failure_alert`` is one run-failure sensor for every code location. A failed blocking check
  always fails its run, so one sensor classifies each failed run: one ``gate_failure`` alert per failed
  blocking check, plus one ``run_failure`` alert when the run failed for anything else (no failed gate,
  or a failed step that is not a gate). Two sensors would see the same run twice and alert twice.
* ``stale_product_alert`` polls the freshness states the FreshnessDaemon records for assets with a
  ``FreshnessPolicy`` (see :func:`freshness_policy`) and alerts once when a product turns FAIL.

Both only report: they request no runs. A run-status sensor ignores failures from before its first tick.
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateRecord
from dagster._utils.error import SerializableErrorInfo

from mesh_orchestrator.orchestration.alerts import GATE_FAILURE, RUN_FAILURE, STALE_PRODUCT, Alert, send_alert

GATE_SENSOR = "gate_failure_alert"
STALE_SENSOR = "stale_product_alert"
#: The FreshnessDaemon evaluates every 30 s by default; polling faster finds nothing new.
STALE_INTERVAL_SECONDS = 30


def _root_message(error: SerializableErrorInfo | None) -> str | None:
    """The innermost cause of a ``SerializableErrorInfo``: the user's exception, not Dagster's wrapper."""
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip() if error is not None else None


def _plain_metadata(metadata: Mapping[str, dg.MetadataValue]) -> dict[str, Any]:
    return {name: value.value for name, value in metadata.items()}


def _location(run: dg.DagsterRun) -> str | None:
    return run.remote_job_origin.location_name if run.remote_job_origin else None


def _gate_alerts(instance: dg.DagsterInstance, run: dg.DagsterRun) -> tuple[list[Alert], set[str]]:
    """One alert per failed blocking check of ``run``, and the steps those checks failed."""
    records = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    alerts: list[Alert] = []
    steps: set[str] = set()
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if not isinstance(evaluation, dg.AssetCheckEvaluation):
            continue
        if evaluation.passed or not evaluation.blocking:
            continue
        if record.event_log_entry.step_key:
            steps.add(record.event_log_entry.step_key)
        key = evaluation.asset_key.to_user_string()
        alerts.append(
            Alert(
                kind=GATE_FAILURE,
                subject=key,
                message=f"blocking check {evaluation.check_name} of {key} failed in run {run.run_id[:8]}: "
                f"{evaluation.description or 'no description'}",
                run_id=run.run_id,
                location=_location(run),
                details={
                    "check": evaluation.check_name,
                    "description": evaluation.description,
                    "metadata": _plain_metadata(evaluation.metadata),
                    "severity": evaluation.severity.value,
                    "job": run.job_name,
                },
            )
        )
    return alerts, steps


def _step_errors(context: dg.RunFailureSensorContext) -> dict[str, str | None]:
    """Failed step -> its error: a ``dg.Failure``'s description, else the root exception."""
    errors: dict[str, str | None] = {}
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        user = data.user_failure_data
        errors[event.step_key or "?"] = (user.description if user else None) or _root_message(data.error)
    return errors


def _run_alert(context: dg.RunFailureSensorContext, steps: dict[str, str | None]) -> Alert:
    run = context.dagster_run
    event = context.failure_event
    data = event.event_specific_data
    error = _root_message(getattr(data, "error", None))
    reason = getattr(data, "failure_reason", None)
    summary = "; ".join(f"{step}: {text}" for step, text in steps.items() if text) or error
    message = event.message or f"run {run.run_id[:8]} of {run.job_name} failed"
    return Alert(
        kind=RUN_FAILURE,
        subject=run.run_id,
        message=f"{message} {summary}" if summary else message,
        run_id=run.run_id,
        location=_location(run),
        details={
            "job": run.job_name,
            "failure_reason": reason.value if reason is not None else None,
            "error": error,
            "failed_steps": steps,
        },
    )


def failed_run_alerts(context: dg.RunFailureSensorContext) -> list[Alert]:
    """The alerts for one failed run: its failed gates, and the run itself unless gates explain it."""
    gates, gate_steps = _gate_alerts(context.instance, context.dagster_run)
    steps = _step_errors(context)
    unexplained = {step: text for step, text in steps.items() if step not in gate_steps}
    if gates and steps and not unexplained:
        return gates
    return [*gates, _run_alert(context, unexplained or steps)]


def gate_failure_sensor() -> dg.SensorDefinition:
    """The run-failure sensor of the mesh: gate failures and other run failures, in every location."""

    @dg.run_failure_sensor(
        name=GATE_SENSOR,
        monitor_all_code_locations=True,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=5,
        description="Alerts (log file and webhook) on failed blocking checks and failed runs.",
    )
    def _gate_failure_alert(context: dg.RunFailureSensorContext) -> None:
        for alert in failed_run_alerts(context):
            if send_alert(alert):
                context.log.info(f"alert {alert.kind} {alert.subject}: {alert.message}")
            else:
                context.log.error(f"alert {alert.kind} {alert.subject} could not be logged: {alert.message}")

    return _gate_failure_alert


def _seen(cursor: str | None) -> dict[str, str]:
    try:
        seen = json.loads(cursor or "{}")
    except json.JSONDecodeError:
        return {}
    return seen if isinstance(seen, dict) else {}


def _stale_alert(
    instance: dg.DagsterInstance, key: dg.AssetKey, record: FreshnessStateRecord, previous: str | None
) -> Alert:
    latest = instance.get_latest_materialization_event(key)
    updated = datetime.fromtimestamp(latest.timestamp, UTC).isoformat() if latest else None
    stale_since = record.updated_at.isoformat()
    return Alert(
        kind=STALE_PRODUCT,
        subject=key.to_user_string(),
        message=f"{key.to_user_string()} is stale since {stale_since} "
        f"({f'last updated {updated}' if updated else 'never materialized'})",
        run_id=latest.run_id if latest else None,
        details={
            "state": record.freshness_state.value,
            "previous_state": previous,
            "stale_since": stale_since,
            "last_materialized_at": updated,
        },
    )


def stale_product_sensor(
    keys: Sequence[dg.AssetKey],
    *,
    name: str = STALE_SENSOR,
    minimum_interval_seconds: int = STALE_INTERVAL_SECONDS,
) -> dg.SensorDefinition:
    """A sensor alerting once when one of ``keys`` turns FAIL; its cursor is each key's last state."""
    watched = list(keys)

    @dg.sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Alerts (log file and webhook) when a product breaks its freshness SLA.",
    )
    def _stale_product_alert(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        seen = _seen(context.cursor)
        records = context.instance.get_freshness_state_records(watched)
        keys_by_name = {key.to_user_string(): key for key in records}
        now = {name: records[key].freshness_state.value for name, key in keys_by_name.items()}
        fail = FreshnessState.FAIL.value
        turned = [name for name in sorted(now) if now[name] == fail and seen.get(name) != fail]
        for name in turned:
            key = keys_by_name[name]
            alert = _stale_alert(context.instance, key, records[key], seen.get(name))
            if not send_alert(alert):
                context.log.error(f"alert {alert.kind} {alert.subject} could not be logged: {alert.message}")
        cursor = json.dumps(now, sort_keys=True)
        if not turned:
            return dg.SensorResult(cursor=cursor, skip_reason="no product turned stale")
        return dg.SensorResult(cursor=cursor)

    return _stale_product_alert
