"""Alerts: the log line, the webhook (up, erroring and down), the gate and run-failure sensor on real failed
runs, the stale-product sensor on a real freshness state change, and the freshness policy of a contract."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

from mesh_orchestrator.core.contracts import parse_contract
from mesh_orchestrator.orchestration.alert_sensors import gate_failure_sensor, stale_product_sensor
from mesh_orchestrator.orchestration.alerts import WEBHOOK_ENV, Alert, alerts_log_path, send_alert
from mesh_orchestrator.orchestration.automation import freshness_policy, warn_window

KEY = dg.AssetKey(["mesh", "handoff", "shop__items"])


def _lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in alerts_log_path().read_text(encoding="utf-8").splitlines()]


def _alert(**changes: Any) -> Alert:
    fields: dict[str, Any] = {"kind": "gate_failure", "subject": KEY.to_user_string(), "message": "boom"}
    return Alert(**{**fields, **changes})


class _Webhook:
    """A real local HTTP server that records the bodies POSTed to it."""

    def __init__(self, status: int = 204) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.content_types: list[str | None] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.bodies.append(json.loads(body))
                hook.content_types.append(self.headers.get("Content-Type"))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/s3cr3t-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Webhook]:
    hook = _Webhook()
    monkeypatch.setenv(WEBHOOK_ENV, hook.url)
    yield hook
    hook.close()


@pytest.fixture
def no_webhook(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_alert_is_one_json_line_in_the_data_folder(data_dir: Path, no_webhook: None) -> None:
    assert send_alert(_alert(details={"rows": 0}, run_id="r1"))
    assert send_alert(_alert(kind="stale_product", message="late"))
    assert alerts_log_path() == data_dir / "alerts" / "alerts.jsonl"
    first, second = _lines()
    assert first["kind"] == "gate_failure" and first["subject"] == "mesh/handoff/shop__items"
    assert first["details"] == {"rows": 0} and first["run_id"] == "r1" and first["location"] is None
    assert first["timestamp"].endswith("+00:00")
    assert second["kind"] == "stale_product" and second["message"] == "late"


def test_webhook_receives_the_alert_json(webhook: _Webhook) -> None:
    send_alert(_alert(details={"check": "contract_satisfied"}))
    assert webhook.bodies == _lines()
    assert webhook.bodies[0]["details"] == {"check": "contract_satisfied"}
    assert webhook.content_types == ["application/json"]


@pytest.mark.parametrize("target", ["down", "http_500", "not_http"])
def test_webhook_failure_is_logged_never_raised(
    target: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _Webhook(status=500) if target == "http_500" else None
    url = {
        "down": f"http://127.0.0.1:{_closed_port()}/hooks/s3cr3t-token",
        "http_500": hook.url if hook else "",
        "not_http": "file:///etc/passwd",
    }[target]
    monkeypatch.setenv(WEBHOOK_ENV, url)
    started = time.monotonic()
    try:
        assert send_alert(_alert())
    finally:
        if hook:
            hook.close()
    assert time.monotonic() - started < 5
    alert, error = _lines()
    assert alert["kind"] == "gate_failure"
    assert error["kind"] == "webhook_error" and error["subject"] == alert["subject"]
    assert error["alert_kind"] == "gate_failure" and error["message"]
    assert "s3cr3t" not in json.dumps(error)  # the webhook's secret path is never logged


def test_unwritable_log_still_posts_and_does_not_raise(webhook: _Webhook, data_dir: Path) -> None:
    (data_dir / "alerts").write_text("a file where the folder should be")
    assert send_alert(_alert()) is False
    assert len(webhook.bodies) == 1


# --- the run-failure sensor ----------------------------------------------------------------------------


@dg.asset(
    key=KEY,
    check_specs=[
        dg.AssetCheckSpec("contract_satisfied", asset=KEY, blocking=True),
        dg.AssetCheckSpec("no_personal_data", asset=KEY, blocking=True),
        dg.AssetCheckSpec("row_count_advisory", asset=KEY),
    ],
)
def failing_handoff() -> Iterator[dg.AssetCheckResult]:
    yield dg.AssetCheckResult(
        check_name="contract_satisfied",
        passed=False,
        description="expect_column_values_to_not_be_null(sku)",
        metadata={"rows": 3, "failing_rows_sample": dg.MetadataValue.json([{"sku": None}])},
    )
    yield dg.AssetCheckResult(check_name="no_personal_data", passed=True)
    yield dg.AssetCheckResult(check_name="row_count_advisory", passed=False)
    raise dg.Failure(description="shop.items failed its contract", allow_retries=False)


@dg.asset(key=["shop", "gold", "items"])
def crashing_asset() -> None:
    raise ValueError("disk on fire")


def _fail_and_sense(assets: list[dg.AssetsDefinition], instance: dg.DagsterInstance) -> str:
    result = dg.materialize(assets, instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    records = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    event = records[0].event_log_entry.dagster_event
    assert event is not None
    context = dg.build_run_status_sensor_context(
        sensor_name="gate_failure_alert", dagster_event=event, dagster_instance=instance, dagster_run=run
    ).for_run_failure()
    gate_failure_sensor()(context)
    return result.run_id


def test_failed_gate_alerts_once_per_failed_blocking_check(no_webhook: None) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        run_id = _fail_and_sense([failing_handoff], instance)
    (alert,) = _lines()  # the passed check, the non-blocking check and the run itself: no alert
    assert alert["kind"] == "gate_failure" and alert["subject"] == "mesh/handoff/shop__items"
    assert alert["run_id"] == run_id
    assert alert["details"]["check"] == "contract_satisfied"
    assert alert["details"]["description"] == "expect_column_values_to_not_be_null(sku)"
    assert alert["details"]["metadata"] == {"rows": 3, "failing_rows_sample": [{"sku": None}]}
    assert "contract_satisfied" in alert["message"] and "not_be_null(sku)" in alert["message"]


def test_run_failure_without_gate_alerts_with_the_error(no_webhook: None) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        run_id = _fail_and_sense([crashing_asset], instance)
    (alert,) = _lines()
    assert alert["kind"] == "run_failure" and alert["subject"] == run_id == alert["run_id"]
    assert "failed" in alert["message"] and "ValueError: disk on fire" in alert["message"]
    assert alert["details"]["failed_steps"] == {"shop__gold__items": "ValueError: disk on fire"}
    assert alert["details"]["failure_reason"] == "STEP_FAILURE"


def test_gate_and_unrelated_crash_in_one_run_alert_both(no_webhook: None) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        _fail_and_sense([failing_handoff, crashing_asset], instance)
    kinds = sorted(a["kind"] for a in _lines())
    assert kinds == ["gate_failure", "run_failure"]
    run_alert = next(a for a in _lines() if a["kind"] == "run_failure")
    assert list(run_alert["details"]["failed_steps"]) == ["shop__gold__items"]


# --- the stale-product sensor ----------------------------------------------------------------------------


def _report(instance: dg.DagsterInstance, previous: FreshnessState, new: FreshnessState) -> None:
    instance.report_runless_asset_event(
        FreshnessStateChange(
            key=KEY, previous_state=previous, new_state=new, state_change_timestamp=time.time()
        )
    )


def test_stale_product_alerts_once_per_transition_to_fail(no_webhook: None) -> None:
    sensor = stale_product_sensor([KEY, dg.AssetKey(["mesh", "handoff", "never_evaluated"])])
    with dg.DagsterInstance.ephemeral() as instance:

        def tick(cursor: str | None) -> str | None:
            return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor)).cursor

        _report(instance, FreshnessState.UNKNOWN, FreshnessState.PASS)
        cursor = tick(None)
        assert not alerts_log_path().exists()
        _report(instance, FreshnessState.PASS, FreshnessState.FAIL)
        cursor = tick(cursor)
        cursor = tick(cursor)  # still FAIL: no second alert
        (alert,) = _lines()
        assert alert["kind"] == "stale_product" and alert["subject"] == "mesh/handoff/shop__items"
        assert alert["details"]["previous_state"] == "PASS" and alert["details"]["state"] == "FAIL"
        assert alert["details"]["last_materialized_at"] is None and "never materialized" in alert["message"]
        _report(instance, FreshnessState.FAIL, FreshnessState.PASS)
        cursor = tick(cursor)
        instance.report_runless_asset_event(dg.AssetMaterialization(KEY))
        _report(instance, FreshnessState.PASS, FreshnessState.FAIL)
        tick(cursor)  # stale again after a recovery: a new alert
        _, second = _lines()
        assert second["kind"] == "stale_product" and second["details"]["last_materialized_at"]
        assert "last updated" in second["message"]


def test_freshness_policy_from_contract_sla(data_dir: Path) -> None:
    contract = {
        "id": "shop.items",
        "version": "1.0.0",
        "domain": "shop",
        "product": "items",
        "owner": "team:shop",
        "schema": [{"name": "sku", "type": "VARCHAR"}],
    }
    policy = freshness_policy(parse_contract({**contract, "sla": {"freshness": "26h"}}, data_dir / "c.yaml"))
    assert policy == dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=26), warn_window=timedelta(hours=23, minutes=24)
    )
    assert freshness_policy(parse_contract(contract, data_dir / "c.yaml")) is None


def test_warn_window_leaves_at_least_a_minute() -> None:
    assert warn_window(timedelta(minutes=5)) == timedelta(minutes=4)
    assert warn_window(timedelta(minutes=2)) == timedelta(minutes=1)
    assert warn_window(timedelta(minutes=1)) is None
    assert dg.FreshnessPolicy.time_window(fail_window=timedelta(minutes=1), warn_window=None)
