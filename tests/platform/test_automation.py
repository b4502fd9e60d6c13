"""Gated propagation, evaluated without a daemon: new data flows bronze -> silver -> gold -> hand-off
-> consumer, and a failed blocking check anywhere stops it, across code locations."""

import warnings
from collections.abc import Iterator
from datetime import datetime

import dagster as dg
import pytest

from mesh_orchestrator.components.domain import build_domain_definitions
from mesh_orchestrator.components.handoffs import build_mesh_definitions
from mesh_orchestrator.core.spec import discover_domains
from mesh_orchestrator.orchestration.automation import gated_eager

HANDOFF = dg.AssetKey(["mesh", "handoff", "inventory__item_catalogue"])
CONSUMER = dg.AssetKey(["sales", "silver", "stg_ports__item_catalogue"])
LANDING = dg.AssetKey(["sales", "landing", "distributor_orders"])
BRONZE = dg.AssetKey(["sales", "bronze", "distributor_orders"])
STAGING = dg.AssetKey(["sales", "silver", "stg_bronze__distributor_orders"])
GOLD = dg.AssetKey(["sales", "gold", "invoices"])
SALES_HANDOFF = dg.AssetKey(["mesh", "handoff", "sales__invoices"])


@pytest.fixture(scope="module")
def mesh_defs() -> dg.Definitions:
    """Every code location of the workspace in one Definitions: the graph the daemon evaluates."""
    locations = [*(build_domain_definitions(d) for d in discover_domains()), build_mesh_definitions()]
    return dg.Definitions(
        assets=[a for loc in locations for a in loc.assets or []],
        asset_checks=[c for loc in locations for c in loc.asset_checks or []],
        resources={"dbt": dg.ResourceDefinition.none_resource()},  # each domain has its own
    )


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield


class Ticks:
    """Successive automation evaluations of a few assets against one instance."""

    def __init__(self, defs: dg.Definitions, *keys: dg.AssetKey, now: datetime | None = None) -> None:
        self.defs, self.keys, self.now = defs, keys, now
        self.instance = dg.DagsterInstance.ephemeral()
        self.cursor = None
        self.requested: dict[dg.AssetKey, set[str | None]] = {}

    def tick(self) -> dict[dg.AssetKey, int]:
        result = dg.evaluate_automation_conditions(
            defs=self.defs,
            instance=self.instance,
            asset_selection=dg.AssetSelection.assets(*self.keys),
            cursor=self.cursor,
            evaluation_time=self.now,
        )
        self.cursor = result.cursor
        self.requested = {key: set(result.get_requested_partitions(key)) for key in self.keys}
        return {key: result.get_num_requested(key) for key in self.keys}

    def materialize(
        self, key: dg.AssetKey, failed_checks: tuple[str, ...] = (), partition: str | None = None
    ) -> None:
        """A new version of ``key`` (or of one partition) with every blocking check evaluated
        (``failed_checks`` fail)."""
        self.instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))
        self.checks(key, failed_checks)

    def checks(self, key: dg.AssetKey, failed: tuple[str, ...] = ()) -> None:
        graph = self.defs.resolve_asset_graph()
        for check_key in graph.get_check_keys_for_assets({key}):
            if not graph.get_check_spec(check_key).blocking:
                continue
            self.instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(
                    asset_key=key,
                    check_name=check_key.name,
                    passed=check_key.name not in failed,
                    blocking=True,
                )
            )


def test_everything_downstream_of_landing_is_gated(mesh_defs: dg.Definitions) -> None:
    graph = mesh_defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        if key.path[1] == "landing":
            assert node.automation_condition is None, key  # started by its sensor or schedule
        else:
            gated = gated_eager(partitioned=node.partitions_def is not None)
            assert node.automation_condition == gated, key
            assert "all_deps_blocking_checks_passed" in str(gated)


def test_every_location_starts_its_own_automation_sensor() -> None:
    for location in [*discover_domains()]:
        (sensor,) = [s for s in build_domain_definitions(location).sensors or [] if "automation" in s.name]
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    (sensor,) = [s for s in build_mesh_definitions().sensors or [] if "automation" in s.name]
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_a_consumer_runs_only_after_the_providers_gates_passed(mesh_defs: dg.Definitions) -> None:
    ticks = Ticks(mesh_defs, CONSUMER)
    assert ticks.tick()[CONSUMER] == 0
    ticks.materialize(HANDOFF, failed_checks=("no_personal_data",))
    assert ticks.tick()[CONSUMER] == 0  # a failed gate in another code location stops it
    assert ticks.tick()[CONSUMER] == 0
    ticks.checks(HANDOFF)  # the gate passes on the same version
    assert ticks.tick()[CONSUMER] == 1
    assert ticks.tick()[CONSUMER] == 0  # once per new version


def test_new_landing_data_flows_through_bronze_to_silver(mesh_defs: dg.Definitions) -> None:
    ticks = Ticks(mesh_defs, BRONZE, STAGING)
    ticks.tick()
    ticks.materialize(LANDING)
    # One run for both: inside it, bronze's blocking check gates silver.
    assert ticks.tick() == {BRONZE: 1, STAGING: 1}
    ticks.materialize(BRONZE, failed_checks=("rows_reconciled",))
    assert ticks.tick() == {BRONZE: 0, STAGING: 0}  # rows lost on the way: silver waits
    ticks.materialize(BRONZE)
    assert ticks.tick() == {BRONZE: 0, STAGING: 1}


def test_a_new_gold_version_is_handed_off_once_its_dbt_tests_passed(mesh_defs: dg.Definitions) -> None:
    ticks = Ticks(mesh_defs, SALES_HANDOFF)
    ticks.tick()
    graph = mesh_defs.resolve_asset_graph()
    blocking = [k.name for k in graph.get_check_keys_for_assets({GOLD}) if graph.get_check_spec(k).blocking]
    assert blocking, "gold invoices has blocking dbt tests"
    ticks.materialize(GOLD, failed_checks=(blocking[0],))
    assert ticks.tick()[SALES_HANDOFF] == 0
    ticks.materialize(GOLD)
    assert ticks.tick()[SALES_HANDOFF] == 1


def test_checks_run_with_their_asset_in_automated_runs(mesh_defs: dg.Definitions) -> None:
    """A check never requested would leave its asset's consumers waiting for a verdict forever."""
    graph = mesh_defs.resolve_asset_graph()
    finance_gold = dg.AssetKey(["finance", "gold", "balance_sheet"])
    for key in (GOLD, finance_gold):
        check_keys = graph.get_check_keys_for_assets({key})
        assert check_keys
        for check_key in check_keys:
            condition = graph.get_check_spec(check_key).automation_condition
            assert condition is not None, check_key
    blocking = [k for k in graph.get_check_keys_for_assets({STAGING}) if graph.get_check_spec(k).blocking]
    assert blocking
    selection = dg.AssetSelection.assets(BRONZE, STAGING) | dg.AssetSelection.checks(*blocking)
    instance = dg.DagsterInstance.ephemeral()
    first = dg.evaluate_automation_conditions(defs=mesh_defs, instance=instance, asset_selection=selection)
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=LANDING))
    result = dg.evaluate_automation_conditions(
        defs=mesh_defs, instance=instance, asset_selection=selection, cursor=first.cursor
    )
    assert result.get_num_requested(STAGING) == 1
    requested = {r.key: r.true_subset.size for r in result.results}  # get_num_requested: assets only
    assert all(requested[k] == 1 for k in blocking)  # in the same run as their asset


# --- partitions -----------------------------------------------------------------------------------

EVENTS_LANDING = dg.AssetKey(["sales", "landing", "web_order_events"])
EVENTS_BRONZE = dg.AssetKey(["sales", "bronze", "web_order_events"])
EVENTS_STAGING = dg.AssetKey(["sales", "silver", "stg_bronze__web_order_events"])
JOURNAL_LINES = dg.AssetKey(["finance", "silver", "int_journal_lines_placed"])
LEDGER = dg.AssetKey(["finance", "gold", "general_ledger"])
BALANCE_SHEET = dg.AssetKey(["finance", "gold", "balance_sheet"])
LEDGER_HANDOFF = dg.AssetKey(["mesh", "handoff", "finance__general_ledger"])
APRIL = datetime(2026, 4, 2, 6)


def test_partitions_of_the_mesh(mesh_defs: dg.Definitions) -> None:
    graph = mesh_defs.resolve_asset_graph()
    daily = {
        k.to_user_string() for k in graph.get_all_asset_keys() if "Daily" in str(graph.get(k).partitions_def)
    }
    monthly = {k for k in graph.get_all_asset_keys() if "Monthly" in str(graph.get(k).partitions_def)}
    assert daily == {
        f"{domain}/{layer}/{feed}"
        for domain, feed in (("sales", "web_order_events"), ("hr", "timecards"))
        for layer in ("landing", "bronze")
    }
    assert {k.path[-1] for k in monthly} == {"general_ledger", "trial_balance", "income_statement"}
    # The mappings, resolved over every code location as the daemon resolves them.
    day_to_day = graph.get_partition_mapping(EVENTS_BRONZE, EVENTS_LANDING)
    assert isinstance(day_to_day, dg.TimeWindowPartitionMapping)
    assert (day_to_day.start_offset, day_to_day.end_offset) == (0, 0)
    assert isinstance(graph.get_partition_mapping(LEDGER_HANDOFF, LEDGER), dg.AllPartitionMapping)
    assert isinstance(graph.get_partition_mapping(BALANCE_SHEET, LEDGER), dg.AllPartitionMapping)


def test_a_new_day_updates_only_that_days_bronze(mesh_defs: dg.Definitions) -> None:
    ticks = Ticks(mesh_defs, EVENTS_BRONZE, EVENTS_STAGING, now=APRIL)
    ticks.tick()
    ticks.materialize(EVENTS_LANDING, partition="2026-03-05")
    assert ticks.tick() == {EVENTS_BRONZE: 1, EVENTS_STAGING: 0}
    assert ticks.requested[EVENTS_BRONZE] == {"2026-03-05"}
    ticks.materialize(EVENTS_BRONZE, partition="2026-03-05")
    # Silver is unpartitioned: it reads the days that ran and does not wait for the days that did not.
    assert ticks.tick() == {EVENTS_BRONZE: 0, EVENTS_STAGING: 1}


def test_a_late_day_is_picked_up_too(mesh_defs: dg.Definitions) -> None:
    """Stock eager() would only update the latest day; a file for an old day must flow as well."""
    ticks = Ticks(mesh_defs, EVENTS_BRONZE, now=datetime(2026, 11, 22, 6))
    ticks.tick()
    ticks.materialize(EVENTS_LANDING, partition="2026-01-07")
    assert ticks.tick()[EVENTS_BRONZE] == 1 and ticks.requested[EVENTS_BRONZE] == {"2026-01-07"}


def _other_parents_exist(ticks: Ticks, key: dg.AssetKey, but: dg.AssetKey) -> None:
    for parent in ticks.defs.resolve_asset_graph().get(key).parent_keys - {but}:
        ticks.materialize(parent)


def test_new_journals_reclose_every_month_then_the_statements(mesh_defs: dg.Definitions) -> None:
    ticks = Ticks(mesh_defs, LEDGER, BALANCE_SHEET, LEDGER_HANDOFF, now=APRIL)
    _other_parents_exist(ticks, BALANCE_SHEET, but=LEDGER)
    ticks.tick()
    ticks.materialize(JOURNAL_LINES)
    # An unpartitioned input may touch any month: every month of the close is requested, in one run
    # (single-run backfill policy) together with the unpartitioned statements downstream.
    assert ticks.tick()[LEDGER] == 3
    assert ticks.requested[LEDGER] == {"2026-01-01", "2026-02-01", "2026-03-01"}
    ticks.materialize(LEDGER, partition="2026-03-01")
    # The statements wait until every month re-closed: January and February still read old journals.
    assert ticks.tick() == {LEDGER: 0, BALANCE_SHEET: 0, LEDGER_HANDOFF: 0}
    for month in ("2026-01-01", "2026-02-01"):
        ticks.materialize(LEDGER, partition=month)
    assert ticks.tick() == {LEDGER: 0, BALANCE_SHEET: 1, LEDGER_HANDOFF: 1}
    ticks.materialize(BALANCE_SHEET)
    ticks.materialize(LEDGER_HANDOFF)
    ticks.tick()
    ticks.materialize(LEDGER, partition="2026-02-01")  # one month re-closed alone (a backfill)
    assert ticks.tick() == {LEDGER: 0, BALANCE_SHEET: 1, LEDGER_HANDOFF: 1}


def test_a_failed_check_of_a_month_holds_the_statements(mesh_defs: dg.Definitions) -> None:
    ticks = Ticks(mesh_defs, BALANCE_SHEET, now=APRIL)
    _other_parents_exist(ticks, BALANCE_SHEET, but=LEDGER)
    ticks.tick()
    graph = mesh_defs.resolve_asset_graph()
    blocking = [k.name for k in graph.get_check_keys_for_assets({LEDGER}) if graph.get_check_spec(k).blocking]
    ticks.materialize(LEDGER, failed_checks=(blocking[0],), partition="2026-02-01")
    assert ticks.tick()[BALANCE_SHEET] == 0
    ticks.materialize(LEDGER, partition="2026-02-01")
    assert ticks.tick()[BALANCE_SHEET] == 1


RECONCILIATION = dg.AssetKey(["finance", "gold", "reconciliation"])


def test_a_new_product_version_recloses_in_order_never_beside(mesh_defs: dg.Definitions) -> None:
    """Runs of different partitionings start in no guaranteed order: each waits for the other's."""
    graph = mesh_defs.resolve_asset_graph()
    finance = sorted(
        k for k in graph.get_all_asset_keys() if k.path[0] == "finance" and k.path[1] != "landing"
    )
    silver = [k for k in finance if k.path[1] == "silver"]
    ticks = Ticks(mesh_defs, *silver, LEDGER, RECONCILIATION, now=APRIL)
    for key in finance:  # a closed mesh: every finance asset and month built once
        partitions = ["2026-01-01", "2026-02-01", "2026-03-01"] if graph.get(key).partitions_def else [None]
        for partition in partitions:
            ticks.materialize(key, partition=partition)
    ticks.tick()
    ticks.materialize(SALES_HANDOFF)
    first = ticks.tick()
    requested_silver = [k for k in silver if first[k]]
    assert requested_silver and first[LEDGER] == 0 and first[RECONCILIATION] == 0
    for key in requested_silver:
        ticks.materialize(key)
    second = ticks.tick()
    assert second[LEDGER] == 3 and second[RECONCILIATION] == 0
    for month in ("2026-01-01", "2026-02-01", "2026-03-01"):
        ticks.materialize(LEDGER, partition=month)
    assert ticks.tick()[RECONCILIATION] == 1


def test_a_provider_version_arriving_as_the_ledger_recloses_waits_for_the_new_close(
    mesh_defs: dg.Definitions,
) -> None:
    """The ledger re-closed for one provider (hr) in the very tick another provider's (sales) new
    version arrived: the reconciliation, requested beside the new sales staging, would compare the
    new sales port with a ledger that has not posted it yet, and its blocking check would fail. It
    waits for the ledger to re-close on the new sales journals (found on the topology test)."""
    graph = mesh_defs.resolve_asset_graph()
    finance = sorted(
        k for k in graph.get_all_asset_keys() if k.path[0] == "finance" and k.path[1] != "landing"
    )
    silver = [k for k in finance if k.path[1] == "silver"]
    months = ("2026-01-01", "2026-02-01", "2026-03-01")
    ticks = Ticks(mesh_defs, *silver, LEDGER, RECONCILIATION, now=APRIL)
    for key in finance:
        for partition in months if graph.get(key).partitions_def else [None]:
            ticks.materialize(key, partition=partition)
    ticks.tick()
    for month in months:  # the close of an earlier cascade ends ...
        ticks.materialize(LEDGER, partition=month)
    ticks.materialize(SALES_HANDOFF)  # ... as sales publishes
    first = ticks.tick()
    assert first[dg.AssetKey(["finance", "silver", "stg_ports__sales_invoices"])] == 1
    assert first[RECONCILIATION] == 0
    for key in (k for k in silver if first[k]):
        ticks.materialize(key)
    assert ticks.tick()[LEDGER] == 3
    for month in months:
        ticks.materialize(LEDGER, partition=month)
    assert ticks.tick()[RECONCILIATION] == 1
