"""The mesh keeps itself up to date under a real ``dagster-daemon`` with the real workspace.

These take minutes (marked ``long``): ``make test-long`` runs them, and so does CI after ``make test``.

1. A new sales file is picked up by its file sensor, and gated automation carries it through sales,
   the hand-offs and finance until the published balance sheet has a new version.
2. A sales file that breaks a hand-off gate publishes nothing, starts no consumer run, and the gate
   failure is written to the alert log.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.dagster_run import RunsFilter

from mesh_orchestrator.core.paths import REPO_ROOT
from tests.mesh.conftest import copy_data, published_version

#: Bounds the whole propagation: sensor tick, landing, sales, hand-offs, finance, hand-offs.
PROPAGATION_TIMEOUT = 420
#: How long the mesh shows no run activity before it counts as settled (automation ticks every second).
QUIET_SECONDS = 30
FAST = {
    "MESH_SENSOR_INTERVAL_SECONDS": "1",
    "MESH_AUTOMATION_INTERVAL_SECONDS": "1",
    "MESH_FILE_SETTLE_SECONDS": "1",
}
HEADER = "order_id,line_number,order_date,distributor_id,customer_id,sku,quantity,discount_pct\n"
#: The hops of a new distributor file to the published balance sheet, each with the assets whose
#: materialisation shows it passed: a timeout names the first hop not reached since the drop.
HOPS = (
    ("landing run", ("sales/landing/distributor_orders",)),
    ("bronze", ("sales/bronze/distributor_orders",)),
    ("silver", ("sales/silver/stg_bronze__distributor_orders", "sales/silver/int_order_lines_priced")),
    ("gold", ("sales/gold/invoices",)),
    ("hand-off", ("mesh/handoff/sales__invoices",)),
    ("finance's close", ("finance/silver/stg_ports__sales_invoices", "finance/gold/general_ledger")),
    ("balance sheet", ("finance/gold/balance_sheet",)),
    ("balance-sheet hand-off", ("mesh/handoff/finance__balance_sheet",)),
)


class Daemon:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.home = data / "dagster_home"
        self.log = data / "daemon.log"
        self.env = {**os.environ, **FAST, "MESH_DATA_DIR": str(data), "DAGSTER_HOME": str(self.home)}
        # The instance's storage exists before the daemon and its code servers start (no race).
        self.instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home)))
        executable = Path(sys.executable).with_name("dagster-daemon")
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [str(executable), "run", "-w", str(REPO_ROOT / "workspace.yaml")],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.instance.dispose()

    def runs_since(self, since: datetime) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs(filters=RunsFilter(created_after=since)))

    def wait_for(
        self,
        what: str,
        condition: Callable[[], bool],
        timeout: float = PROPAGATION_TIMEOUT,
        since: datetime | None = None,
    ) -> None:
        """Wait for ``condition``; on a timeout say where the mesh stalled: with ``since`` (the
        file's drop), the hop the file did not reach and the runs started since."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                break
            time.sleep(2)
        ended = "" if self.process.poll() is None else f" (the daemon exited {self.process.poll()})"
        diagnosis = self.path_report(since) if since is not None else self.recent_runs()
        tail = self.log.read_text()[-3000:]
        raise AssertionError(
            f"timed out after {timeout:.0f}s waiting for {what}{ended}\n{diagnosis}\ndaemon log tail:\n{tail}"
        )

    def recent_runs(self) -> str:
        runs = [
            f"{r.status.value} {sorted(k.to_user_string() for k in r.asset_selection or [])[:3]}"
            for r in self.instance.get_runs(limit=15)
        ]
        return f"runs: {runs}"

    def path_report(self, since: datetime) -> str:
        """Per hop of ``HOPS``, each asset's last materialisation relative to ``since`` (and its
        run); the first hop not reached since; every run started since, with its trigger and
        status (failed steps' messages included)."""
        start = since.timestamp()
        lines = ["path of the new file (last materialisation of each asset, seconds after the drop):"]
        stalled = None
        for hop, keys in HOPS:
            reached = False
            for key in keys:
                event = self.instance.get_latest_materialization_event(dg.AssetKey.from_user_string(key))
                if event is None:
                    when = "never"
                else:
                    reached = reached or event.timestamp >= start
                    when = f"{event.timestamp - start:+.0f}s run {event.run_id[:8]}"
                lines.append(f"  {hop:<24}{key:<48}{when}")
            if not reached and stalled is None:
                stalled = hop
        lines.insert(0, f"stalled before: {stalled}" if stalled else "every hop was reached")
        runs = self.runs_since(since)[::-1]  # oldest first
        counts: dict[str, int] = {}
        for run in runs:
            counts[run.status.value] = counts.get(run.status.value, 0) + 1
        lines.append(f"runs since the drop: {counts or 'none'}")
        lines += [f"  {line}" for line in self.describe(runs).splitlines()]
        return "\n".join(lines)

    def describe(self, runs: list[dg.DagsterRun]) -> str:
        """Each run's selection, trigger and the messages of its failed steps."""
        lines = []
        for run in runs:
            keys = sorted(k.to_user_string() for k in run.asset_selection or [])
            lines.append(f"{run.run_id} {run.status.value} {run.tags.get('dagster/sensor_name')} {keys[:4]}")
            for record in self.instance.all_logs(run.run_id):
                event = record.dagster_event
                if event is not None and event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE"):
                    lines.append(f"    {event.event_type_value}: {(event.message or '')[:800]}")
        return "\n".join(lines)

    def idle(self) -> bool:
        return not self.instance.get_runs(
            filters=RunsFilter(
                statuses=[
                    dg.DagsterRunStatus.QUEUED,
                    dg.DagsterRunStatus.STARTING,
                    dg.DagsterRunStatus.STARTED,
                ]
            )
        )

    def settled(self) -> bool:
        """Idle, and no run created or ended for ``QUIET_SECONDS``: many automation ticks have
        seen the last run's results and started nothing. Idle alone is also true in the gap
        between one run's end and the tick that starts its consumers."""
        if not self.idle():
            return False
        latest = self.instance.get_run_records(limit=1, order_by="update_timestamp", ascending=False)
        return not latest or time.time() - latest[0].update_timestamp.timestamp() >= QUIET_SECONDS


@pytest.fixture(scope="module")
def daemon(clean_mesh: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    # Sample data after one full run: automation starts from a published mesh.
    data = copy_data(clean_mesh[0], tmp_path_factory.mktemp("daemon"))
    running = Daemon(data)
    try:
        yield running
    finally:
        running.stop()


def _drop_orders(data: Path, name: str, lines: list[str]) -> None:
    """Write a distributor batch file the way a producer should: to ``.part``, then rename."""
    folder = data / "landing" / "sales" / "distributor_orders"
    part = folder / f"{name}.part"
    part.write_text(HEADER + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    part.rename(folder / name)


def _known_order_line(data: Path) -> list[str]:
    """Customer, SKU and discount of a real order line, so the new order is valid in every domain."""
    folder = data / "landing" / "sales" / "distributor_orders"
    first = sorted(folder.glob("*.csv"))[0].read_text(encoding="utf-8").splitlines()[1]
    return first.split(",")


@pytest.mark.long
def test_a_new_sales_file_refreshes_the_balance_sheet(daemon: Daemon) -> None:
    before = published_version(daemon.data, "finance", "balance_sheet")
    fields = _known_order_line(daemon.data)
    started = datetime.now(UTC)
    _drop_orders(
        daemon.data,
        "distributor_DIST-01_2026-03-30_late.csv",
        [f"DO-9000001,1,2026-03-30,{fields[3]},{fields[4]},{fields[5]},7,{fields[7]}"],
    )
    daemon.wait_for(
        "a new version of the finance balance sheet",
        lambda: published_version(daemon.data, "finance", "balance_sheet") > before,
        since=started,
    )
    runs = daemon.runs_since(started)
    failed = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
    assert not failed, daemon.describe(failed)
    sensors = {r.tags.get("dagster/sensor_name") for r in runs}
    assert "sales__distributor_orders__files" in sensors
    assert {"sales__automation", "mesh__automation", "finance__automation"} <= sensors
    daemon.wait_for("the mesh to settle", daemon.settled, timeout=PROPAGATION_TIMEOUT)


@pytest.mark.long
def test_a_file_failing_a_gate_starts_no_consumer_and_alerts(daemon: Daemon) -> None:
    # Settled, not just idle: consumers of an earlier test's last hand-off must not count as ours.
    daemon.wait_for("the mesh to settle", daemon.settled, timeout=PROPAGATION_TIMEOUT)
    invoices_before = published_version(daemon.data, "sales", "invoices")
    fields = _known_order_line(daemon.data)
    started = datetime.now(UTC)
    _drop_orders(  # a negative quantity: typed fine, but the invoices contract requires quantity >= 1
        daemon.data,
        "distributor_DIST-01_2026-03-31_correction.csv",
        [f"DO-9000002,1,2026-03-31,{fields[3]},{fields[4]},{fields[5]},-3,{fields[7]}"],
    )
    alerts = daemon.data / "alerts" / "alerts.jsonl"

    def gate_alert() -> bool:
        if not alerts.exists():
            return False
        lines = [json.loads(line) for line in alerts.read_text().splitlines() if line.strip()]
        return any(a["kind"] == "gate_failure" and "sales__invoices" in a["subject"] for a in lines)

    daemon.wait_for("the gate-failure alert", gate_alert, since=started)
    # Many automation ticks after the failure: still no consumer run.
    daemon.wait_for("the mesh to settle", daemon.settled, timeout=PROPAGATION_TIMEOUT)
    assert published_version(daemon.data, "sales", "invoices") == invoices_before
    finance_runs = [
        r
        for r in daemon.runs_since(started)
        if any(key.path[0] == "finance" for key in r.asset_selection or [])
    ]
    assert finance_runs == [], daemon.path_report(started)


def test_a_timeout_names_the_hop_that_stalled(tmp_path: Path) -> None:
    """The diagnostics of a timeout, without a daemon: landing ran after the drop, bronze did not."""

    @dg.asset(key=["sales", "landing", "distributor_orders"])
    def landing() -> None:
        return None

    waiting = Daemon.__new__(Daemon)  # only what wait_for reads: an instance, a process, a log
    waiting.log = tmp_path / "daemon.log"
    waiting.log.write_text("daemon log\n")
    waiting.process = subprocess.Popen(["true"])
    waiting.process.wait()
    with dg.instance_for_test() as instance:
        waiting.instance = instance
        dropped = datetime.now(UTC)
        assert dg.materialize([landing], instance=instance).success
        with pytest.raises(AssertionError) as timeout:
            waiting.wait_for("the balance sheet", lambda: False, timeout=0, since=dropped)
    said = str(timeout.value)
    assert "stalled before: bronze" in said
    assert "runs since the drop: {'SUCCESS': 1}" in said
    assert re.search(r"landing run +sales/landing/distributor_orders +\+\d+s run \w{8}", said)
    assert re.search(r"balance-sheet hand-off +mesh/handoff/finance__balance_sheet +never", said)


def test_settled_waits_for_quiet_after_the_last_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that just ended leaves the mesh idle but not settled: its consumers may start next tick."""

    @dg.asset
    def handed_off() -> None:
        return None

    waiting = Daemon.__new__(Daemon)  # settled reads only the instance
    with dg.instance_for_test() as instance:
        waiting.instance = instance
        assert waiting.settled()  # no run at all
        assert dg.materialize([handed_off], instance=instance).success
        assert waiting.idle()
        assert not waiting.settled()
        monkeypatch.setattr("tests.mesh.test_daemon.QUIET_SECONDS", 0)
        assert waiting.settled()
