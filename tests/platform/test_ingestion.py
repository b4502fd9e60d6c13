"""Ingestion triggers: the file sensor's cursor (each file requested once) and the feed schedules."""

import dataclasses
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import yaml

from mesh_orchestrator.core import names
from mesh_orchestrator.core.errors import MeshError, SpecError
from mesh_orchestrator.core.spec import DomainSpec, discover_domains, load_domain_spec
from mesh_orchestrator.ingestion.assets import landing_asset
from mesh_orchestrator.ingestion.triggers import (
    FILE_COUNT_TAG,
    FILES_TAG,
    FeedCursor,
    evaluate_feed,
    feed_schedule,
    feed_sensor,
    files_tag,
    ingestion_triggers,
    landing_files,
    load_schedules,
    run_key,
    scan,
)

SALES_KEY = names.asset_key("sales", "landing", "distributor_orders")


@pytest.fixture(scope="module")
def sales() -> DomainSpec:
    return load_domain_spec("sales")


@pytest.fixture
def folder(data_dir: Path) -> Path:
    path = data_dir / "landing" / "sales" / "distributor_orders"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def sensor(sales: DomainSpec) -> dg.SensorDefinition:
    return feed_sensor(sales, sales.feed("distributor_orders"))


def _drop(
    folder: Path, name: str, text: str = "order_id\n1\n", age: float = 60.0, now: float | None = None
) -> Path:
    """Write a file as its producer would, last modified ``age`` seconds before ``now`` (default:
    the real clock; a test that pins "now" passes the same instant here)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stamp = (time.time() if now is None else now) - age
    os.utime(path, (stamp, stamp))
    return path


def _tick(sensor: dg.SensorDefinition, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(cursor=cursor, instance=dg.DagsterInstance.ephemeral())
    result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _files(result: dg.SensorResult) -> list[str]:
    assert result.run_requests is not None and len(result.run_requests) == 1
    return result.run_requests[0].tags[FILES_TAG].split(", ")


def _skipped(result: dg.SensorResult) -> str:
    assert not result.run_requests
    assert result.skip_reason is not None
    return str(result.skip_reason.skip_message)


# --- the file sensor ------------------------------------------------------------------------------


def test_sensor_defaults(sensor: dg.SensorDefinition) -> None:
    assert sensor.name == "sales__distributor_orders__files"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 30


def test_interval_from_environment(sales: DomainSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESH_SENSOR_INTERVAL_SECONDS", "5")
    assert feed_sensor(sales, sales.feeds[0]).minimum_interval_seconds == 5
    monkeypatch.setenv("MESH_SENSOR_INTERVAL_SECONDS", "soon")
    with pytest.raises(MeshError, match="MESH_SENSOR_INTERVAL_SECONDS"):
        feed_sensor(sales, sales.feeds[0])


def test_missing_folder_skips_and_keeps_cursor(data_dir: Path, sensor: dg.SensorDefinition) -> None:
    result = _tick(sensor, "kept")
    assert "does not exist" in _skipped(result)
    assert result.cursor == "kept"


def test_new_files_are_requested_once(folder: Path, sensor: dg.SensorDefinition) -> None:
    result = _tick(sensor, None)
    assert _skipped(result) == f"no new files in {folder}"

    _drop(folder, "a.csv", "order_id\n1\n")
    _drop(folder, "b.csv", "order_id\n2\n")
    result = _tick(sensor, result.cursor)
    assert _files(result) == ["a.csv", "b.csv"]
    request = result.run_requests[0]  # type: ignore[index]
    assert request.asset_selection == [SALES_KEY]
    assert request.tags[FILE_COUNT_TAG] == "2"
    cursor = result.cursor
    assert set(FeedCursor.from_json(cursor).requested) == {"a.csv", "b.csv"}

    result = _tick(sensor, cursor)
    assert _skipped(result) == f"no new files in {folder}"

    _drop(folder, "c.csv", "order_id\n3\n")
    result = _tick(sensor, result.cursor)
    assert _files(result) == ["c.csv"]


def test_evaluate_tick_as_the_daemon_does(folder: Path, sensor: dg.SensorDefinition) -> None:
    _drop(folder, "a.csv")
    context = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral())
    data = sensor.evaluate_tick(context)
    assert [r.asset_selection for r in data.run_requests or []] == [[SALES_KEY]]
    assert data.cursor is not None and "a.csv" in data.cursor


def test_tied_or_older_mtimes_are_not_missed(folder: Path, sensor: dg.SensorDefinition) -> None:
    """No high-water mark: a file with the same or an older mtime (clock jumped back) is still new."""
    first = _drop(folder, "a.csv", "order_id\n1\n")
    cursor = _tick(sensor, None).cursor
    tied = _drop(folder, "b.csv", "order_id\n2\n")
    stamp = first.stat().st_mtime_ns
    os.utime(tied, ns=(stamp, stamp))
    older = _drop(folder, "c.csv", "order_id\n3\n", age=86_400)
    result = _tick(sensor, cursor)
    assert _files(result) == ["b.csv", "c.csv"]
    assert older.exists()


def test_partial_hidden_and_fresh_files_wait(folder: Path, sensor: dg.SensorDefinition) -> None:
    part = _drop(folder, "late.csv.part")
    _drop(folder, "sneaky.csv.tmp")
    _drop(folder, ".hidden.csv")
    fresh = _drop(folder, "fresh.csv", age=0)
    result = _tick(sensor, None)
    reason = _skipped(result)
    assert reason.startswith(f"no new files in {folder}")
    assert "1 still being written: fresh.csv" in reason

    part.rename(folder / "late.csv")  # the producer finishes: rename keeps the old mtime
    old = time.time() - 60
    os.utime(fresh, (old, old))
    result = _tick(sensor, result.cursor)
    assert _files(result) == ["fresh.csv", "late.csv"]
    assert _skipped(_tick(sensor, result.cursor))


def test_settle_time_from_environment(
    folder: Path, sensor: dg.SensorDefinition, monkeypatch: pytest.MonkeyPatch
) -> None:
    _drop(folder, "fresh.csv", age=3)
    monkeypatch.setenv("MESH_FILE_SETTLE_SECONDS", "5")
    assert "still being written" in _skipped(_tick(sensor, None))
    monkeypatch.setenv("MESH_FILE_SETTLE_SECONDS", "2")
    assert _files(_tick(sensor, None)) == ["fresh.csv"]


def test_future_mtime_settles_by_being_seen_unchanged(folder: Path, sales: DomainSpec) -> None:
    """A producer whose clock runs ahead: its file is taken once it stayed unchanged for the settle time."""
    feed = sales.feed("distributor_orders")
    path = _drop(folder, "ahead.csv", age=-3600)
    now = time.time_ns()
    first = evaluate_feed(sales, feed, None, now_ns=now)
    assert "1 still being written: ahead.csv" in _skipped(first)
    second = evaluate_feed(sales, feed, first.cursor, now_ns=now + 11 * 10**9)
    assert _files(second) == ["ahead.csv"]
    assert path.exists()


def test_changed_content_is_new_a_touch_is_not(folder: Path, sensor: dg.SensorDefinition) -> None:
    path = _drop(folder, "a.csv", "order_id\n1\n", age=120)
    first = _tick(sensor, None)
    key_before = first.run_requests[0].run_key  # type: ignore[index]

    stamp = time.time() - 90
    os.utime(path, (stamp, stamp))  # touched, same content
    touched = _tick(sensor, first.cursor)
    assert _skipped(touched)

    _drop(folder, "a.csv", "order_id\n1\n2\n", age=60)  # rewritten under the same name
    result = _tick(sensor, touched.cursor)
    assert _files(result) == ["a.csv"]
    assert result.run_requests[0].run_key != key_before  # type: ignore[index]


def test_a_rewrite_in_progress_waits(folder: Path, sensor: dg.SensorDefinition) -> None:
    _drop(folder, "a.csv", "order_id\n1\n", age=120)
    cursor = _tick(sensor, None).cursor
    path = _drop(folder, "a.csv", "order_id\n1\n2", age=0)
    result = _tick(sensor, cursor)
    assert "still being written: a.csv" in _skipped(result)
    assert "a.csv" in FeedCursor.from_json(result.cursor).requested  # the old version stays known
    old = time.time() - 60
    os.utime(path, (old, old))
    assert _files(_tick(sensor, result.cursor)) == ["a.csv"]


def test_cursor_keeps_only_present_files(folder: Path, sensor: dg.SensorDefinition) -> None:
    _drop(folder, "a.csv", "order_id\n1\n")
    path = _drop(folder, "b.csv", "order_id\n2\n")
    cursor = _tick(sensor, None).cursor
    path.unlink()  # archived by the operator
    result = _tick(sensor, cursor)
    assert _skipped(result)
    assert set(FeedCursor.from_json(result.cursor).requested) == {"a.csv"}


def test_unreadable_cursor_starts_afresh(folder: Path, sensor: dg.SensorDefinition) -> None:
    _drop(folder, "a.csv")
    assert _files(_tick(sensor, "1700000000.0")) == ["a.csv"]  # e.g. an mtime cursor of an older sensor


def test_multi_source_feed_reads_each_sender_folder(data_dir: Path) -> None:
    spec = load_domain_spec("procurement")
    sensor = feed_sensor(spec, spec.feed("supplier_invoices"))
    folder = data_dir / "landing" / "procurement" / "supplier_invoices"
    _drop(folder, "nordwerk/inv_1.csv")
    _drop(folder, "atlas/inv_1.json", "{}")
    _drop(folder, "brightline/inv_1.xml", "<invoices/>")
    _drop(folder, "fjord/inv_1.txt", "x")
    _drop(folder, "stray.csv")  # not in a sender's folder: landing does not read it
    _drop(folder, "atlas/inv_2.csv")  # not the sender's format
    result = _tick(sensor, None)
    assert _files(result) == [
        "atlas/inv_1.json",
        "brightline/inv_1.xml",
        "fjord/inv_1.txt",
        "nordwerk/inv_1.csv",
    ]
    assert result.run_requests[0].asset_selection == [  # type: ignore[index]
        names.asset_key("procurement", "landing", "supplier_invoices")
    ]
    _drop(folder, "fjord/inv_2.dat", "y")
    assert _files(_tick(sensor, result.cursor)) == ["fjord/inv_2.dat"]


def test_run_key_is_deterministic(folder: Path, sensor: dg.SensorDefinition) -> None:
    _drop(folder, "b.csv", "order_id\n2\n")
    _drop(folder, "a.csv", "order_id\n1\n")
    keys = {_tick(sensor, None).run_requests[0].run_key for _ in range(3)}  # type: ignore[index]
    assert len(keys) == 1
    assert run_key("sales", "f", [("a", "1"), ("b", "2")]) == run_key("sales", "f", [("b", "2"), ("a", "1")])
    assert run_key("sales", "f", [("a", "1")]) != run_key("sales", "f", [("a", "2")])
    assert keys.pop().startswith("sales__distributor_orders__files:")  # type: ignore[union-attr]


def test_files_tag_is_truncated(folder: Path, sensor: dg.SensorDefinition) -> None:
    for i in range(200):
        _drop(folder, f"distributor_{i:03d}_orders_batch.csv", f"order_id\n{i}\n")
    request = _tick(sensor, None).run_requests[0]  # type: ignore[index]
    assert len(request.tags[FILES_TAG]) <= 1000
    assert request.tags[FILES_TAG].endswith("more")
    assert request.tags[FILE_COUNT_TAG] == "200"
    assert files_tag(["a", "b"]) == "a, b"


def test_hashing_budget_leaves_the_rest_for_the_next_tick(folder: Path, sales: DomainSpec) -> None:
    for name in ("a.csv", "b.csv", "c.csv"):
        _drop(folder, name, f"order_id\n{name}\n")
    files = landing_files(sales, sales.feed("distributor_orders"))
    now = time.time_ns()
    first = scan(files, FeedCursor(), now, 10**10, hash_budget_s=0)
    assert [label for label, _ in first.new] == ["a.csv"]  # at least one file per tick
    assert first.deferred == ["b.csv", "c.csv"]
    assert set(first.cursor.requested) == {"a.csv"}
    second = scan(files, first.cursor, now, 10**10)
    assert [label for label, _ in second.new] == ["b.csv", "c.csv"]
    assert not second.deferred


def test_files_tag_edges() -> None:
    assert files_tag(["x" * 300] * 3, 100) == "3 files"
    tag = files_tag(["x" * 30] * 100, 100)
    assert len(tag) <= 100 and tag.endswith(", ... and 98 more")


# --- schedules ------------------------------------------------------------------------------------


def test_schedules_of_the_domains() -> None:
    found = {
        s.name: (s.cron_schedule, s.execution_timezone)
        for domain in discover_domains()
        for s in ingestion_triggers(load_domain_spec(domain))[1]
    }
    assert found == {
        "sales__distributor_orders__schedule": ("0 2 * * *", "Europe/Berlin"),
        "sales__web_order_events__schedule": ("30 0 * * *", "UTC"),
        "procurement__supplier_invoices__schedule": ("0 6 * * 1-5", "Europe/Berlin"),
        "hr__payroll_runs__schedule": ("0 4 1 * *", "Europe/Berlin"),
        "hr__timecards__schedule": ("0 1 * * *", "Europe/Berlin"),
    }


def test_schedule_defaults_and_unscheduled_feed(sales: DomainSpec) -> None:
    schedule = feed_schedule(sales, sales.feed("distributor_orders"))
    assert schedule is not None
    assert schedule.name == "sales__distributor_orders__schedule"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert feed_schedule(sales, sales.feed("customer_payments")) is None


def test_schedule_tick_materialises_the_landing_asset(sales: DomainSpec) -> None:
    sensors, schedules = ingestion_triggers(sales)
    defs = dg.Definitions(
        assets=[landing_asset(sales, feed) for feed in sales.feeds], sensors=sensors, schedules=schedules
    )
    dg.Definitions.validate_loadable(defs)
    (schedule,) = [s for s in schedules if s.name == "sales__distributor_orders__schedule"]
    context = dg.build_schedule_context(
        instance=dg.DagsterInstance.ephemeral(), scheduled_execution_time=datetime(2025, 1, 6, 2)
    )
    data = schedule.evaluate_tick(context)
    assert len(data.run_requests or []) == 1
    job = defs.get_repository_def().get_job(schedule.job_name)
    assert job.asset_layer.executable_asset_keys == {SALES_KEY}


# --- a feed partitioned by day ---------------------------------------------------------------------

EVENTS = "web_order_events"


def test_partitioned_feed_requests_one_run_per_day(sales: DomainSpec, data_dir: Path) -> None:
    """The clock is pinned, for the sensor and for the files' mtimes alike: the test means the same
    whatever day it runs on."""
    events = data_dir / "landing" / "sales" / EVENTS
    pinned = datetime(2026, 11, 22, 15, tzinfo=UTC).timestamp()
    for name in (
        "web_order_events_2026-03-04.jsonl",
        "web_order_events_2026-03-05.jsonl",
        "shop_2026-03-05_web_order_events_2026-03-04.jsonl",  # the last date in the name counts
        "web_order_events_2026-11-22.jsonl",  # today: waits until the day is over
        "web_order_events_latest.jsonl",  # no day: never ingested, reported
        "web_order_events_2025-12-31.jsonl",  # before the first partition
    ):
        _drop(events, name, "{}\n", now=pinned)
    now = int(pinned * 1e9)
    result = evaluate_feed(sales, sales.feed(EVENTS), None, now_ns=now)
    requests = {r.partition_key: r.tags[FILES_TAG] for r in result.run_requests or []}
    assert requests == {
        "2026-03-04": "shop_2026-03-05_web_order_events_2026-03-04.jsonl, web_order_events_2026-03-04.jsonl",
        "2026-03-05": "web_order_events_2026-03-05.jsonl",
    }
    again = evaluate_feed(sales, sales.feed(EVENTS), result.cursor, now_ns=now)
    assert not again.run_requests
    reason = again.skip_reason.skip_message if again.skip_reason else ""
    assert "1 file(s) wait until their day is over (UTC): web_order_events_2026-11-22.jsonl" in reason
    assert "2 file(s) not read: " in reason
    assert "web_order_events_latest.jsonl (undated: no day (YYYY-MM-DD) in its name" in reason
    assert (
        "web_order_events_2025-12-31.jsonl (before the first partition: 2025-12-31 is before the "
        "feed's first partition 2026-01-01)" in reason
    )
    tomorrow = evaluate_feed(sales, sales.feed(EVENTS), again.cursor, now_ns=now + 86_400 * 10**9)
    assert [r.partition_key for r in tomorrow.run_requests or []] == ["2026-11-22"]


def test_partitioned_schedule_closes_the_day_that_ended(sales: DomainSpec) -> None:
    schedule = feed_schedule(sales, sales.feed(EVENTS))
    assert schedule is not None
    defs = dg.Definitions(assets=[landing_asset(sales, sales.feed(EVENTS))], schedules=[schedule])
    context = dg.build_schedule_context(
        instance=dg.DagsterInstance.ephemeral(),
        scheduled_execution_time=datetime(2026, 3, 6, 0, 30, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    (request,) = schedule.evaluate_tick(context).run_requests or []
    assert request.partition_key == "2026-03-05"


ORDERS = "schedules.distributor_orders"


def _with_schedules(spec: DomainSpec, tmp_path: Path, text: str) -> tuple[DomainSpec, Path]:
    """The spec with ``schedules:`` as ``text`` says, read from a file of its own."""
    path = tmp_path / spec.name / "defs.yaml"
    return dataclasses.replace(spec, path=path, schedules=yaml.safe_load(text)), path


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("nightly_orders:\n  cron: '0 2 * * *'\n", "schedules.nightly_orders", "no feed 'nightly_orders'"),
        (
            "distributor_orders:\n  cron: '0 25 * * *'\n",
            ORDERS + ".cron",
            "not a valid cron",
        ),
        (
            "distributor_orders:\n  cron: every night\n",
            ORDERS + ".cron",
            "not a valid cron",
        ),
        (
            "distributor_orders:\n  timezone: UTC\n",
            ORDERS + ".cron",
            "is required: a cron string (minute hour",
        ),
        (
            "distributor_orders:\n  cron: '0 2 * * *'\n  timezone: Europe/Berln\n",
            ORDERS + ".timezone",
            "not an IANA time zone",
        ),
        (
            "distributor_orders:\n  cron: '0 2 * * *'\n  tz: UTC\n",
            ORDERS + ".tz",
            "unknown field",
        ),
        ("distributor_orders: '0 2 * * *'\n", ORDERS, "expected a mapping"),
        ("- distributor_orders\n", "schedules", "expected a mapping"),
    ],
)
def test_schedule_errors_name_file_and_field(
    sales: DomainSpec, tmp_path: Path, text: str, field: str, problem: str
) -> None:
    spec, path = _with_schedules(sales, tmp_path, text)
    with pytest.raises(SpecError) as raised:
        load_schedules(spec)
    assert raised.value.path == str(path)
    assert raised.value.field == field
    assert problem in raised.value.problem
    assert f"{path}: field '{field}'" in str(raised.value)


def test_no_schedules_means_no_schedules(sales: DomainSpec, tmp_path: Path) -> None:
    spec, _ = _with_schedules(sales, tmp_path, "")
    assert load_schedules(spec) == {}
    assert ingestion_triggers(spec)[1] == []


def test_timezone_defaults_to_utc(sales: DomainSpec, tmp_path: Path) -> None:
    spec, _ = _with_schedules(sales, tmp_path, "distributor_orders:\n  cron: '0 2 * * *'\n")
    assert load_schedules(spec)["distributor_orders"].timezone == "UTC"


def test_first_tick_skips_files_the_last_landing_run_already_read(
    folder: Path, sensor: dg.SensorDefinition
) -> None:
    """Starting the daemon on an existing mesh does not re-run every feed."""
    _drop(folder, "old.csv", age=600)
    instance = dg.DagsterInstance.ephemeral()
    key = names.asset_key("sales", "landing", "distributor_orders")
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
    first = sensor(dg.build_sensor_context(cursor=None, instance=instance))
    assert isinstance(first, dg.SensorResult)
    assert "no new files" in _skipped(first) and "old.csv" in str(first.cursor)
    _drop(folder, "new.csv", text="order_id\n2\n", age=60)  # arrives later: requested
    assert _files(_tick(sensor, first.cursor)) == ["new.csv"]
    unlanded = sensor(dg.build_sensor_context(cursor=None, instance=dg.DagsterInstance.ephemeral()))
    assert isinstance(unlanded, dg.SensorResult) and "old.csv" in _files(unlanded)
