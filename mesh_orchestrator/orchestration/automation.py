"""How the mesh keeps itself up to date: gated eager propagation, evaluated by the daemon.

Landing assets are started by their feed's file sensor or schedule. Every asset downstream of
landing (bronze, silver and gold of a domain, the hand-offs, and consumer domains' models that read
a port) materialises when any of its dependencies updated, but only once every blocking check of
those dependencies passed on their latest version. A failed gate, in whatever code location,
therefore stops propagation: consumers stay on the last good version until the gate passes.

Each product's freshness policy comes from its contract's SLA; the daemon judges it and the
``stale_product_alert`` sensor (``alert_sensors``) alerts when it fails.

Each code location carries its own automation sensor (started by default; Dagster's default one
starts stopped), which evaluates its assets against the whole workspace's graph.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import dagster as dg

from mesh_orchestrator.core import names, settings
from mesh_orchestrator.core.contracts import Contract
from mesh_orchestrator.core.spec import load_valid_specs

_MINUTE = timedelta(minutes=1)


@cache
def partitioned_keys() -> tuple[dg.AssetKey, ...]:
    """Every time-partitioned asset of the mesh: partitioned feeds' landing and bronze, and the
    partitioned dbt models (keys of both dbt layers: a key that does not exist is never a dep).

    Read from every valid spec, so that one condition serves every location. A broken spec of
    another domain is skipped, never fatal: an asset depends only on its own domain's assets and on
    hand-offs, so another domain's keys here only ever ignore deps that do not exist.
    """
    keys = []
    for spec in load_valid_specs()[0].values():
        for feed in spec.feeds:
            if feed.partitioned_by is not None:
                keys += [names.asset_key(spec.name, layer, feed.name) for layer in ("landing", "bronze")]
        for model in spec.partitioned_models:
            keys += [names.asset_key(spec.name, layer, model) for layer in ("silver", "gold")]
    return tuple(keys)


def eager_any_partition(wait_for_partitions: bool = True) -> dg.AutomationCondition:
    """Dagster's ``eager()`` without its ``in_latest_time_window``: late data is the rule here.

    A day's file arrives after the day, a correction months later, and a new product version
    touches every month of the close. Stock ``eager()`` would update only the newest time window;
    this updates whichever partitions' dependencies updated. Same as ``eager()`` when unpartitioned.

    ``wait_for_partitions=False`` (for unpartitioned assets): a partition of a dependency that never
    ran (a day without a file yet, a month not closed yet) does not hold the asset back; the
    partitions that did run are read, and the schedules close the days as they end.
    """
    ac = dg.AutomationCondition
    missing = ac.any_deps_missing()
    if not wait_for_partitions:
        missing = missing.ignore(dg.AssetSelection.assets(*partitioned_keys()))
    return (
        (ac.newly_missing() | ac.any_deps_updated()).since_last_handled()
        & ~missing
        & ~ac.any_deps_in_progress()
        & ~ac.in_progress()
    ).with_label("eager (any partition)")


def after_other_partitionings(partitioned: bool) -> dg.AutomationCondition:
    """Not while a dependency of another partitioning is about to be rebuilt.

    Dagster runs assets of different partitionings in different runs (a partitioned request is a
    backfill), in no guaranteed order. Finance's unpartitioned reconciliation reads the sales port
    directly and through the monthly ledger: requested on the new port alone, it would compare the
    new sales version with the old ledger. So an asset waits while such a dependency is requested,
    has dependencies that updated since it last did, or has dependencies requested on this tick
    (the ledger re-closed in the very tick a new sales version arrived: the new journals are about
    to be posted, and Dagster's ``since`` lets the ledger's own update hide that); it follows once
    that dependency updated.
    """
    ac = dg.AutomationCondition
    outdated = (
        ac.any_deps_updated().since(ac.newly_updated())
        | ac.will_be_requested()
        | ac.any_deps_match(ac.will_be_requested())
    )
    waiting = ac.any_deps_match(outdated)
    keys = dg.AssetSelection.assets(*partitioned_keys())
    return ~(waiting.ignore(keys) if partitioned else waiting.allow(keys))


def gated_eager(partitioned: bool = False) -> dg.AutomationCondition:
    """Run after any dependency updated, once all their blocking checks passed.

    An unpartitioned asset does not wait for dependency partitions that never ran (see
    ``eager_any_partition``); a partitioned one waits for its own dependency partitions. Neither
    runs beside a dependency of another partitioning (``after_other_partitionings``).
    """
    return (
        eager_any_partition(wait_for_partitions=partitioned)
        & after_other_partitionings(partitioned)
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    )


def with_target() -> dg.AutomationCondition:
    """For checks: run whenever the checked asset is materialised, in the same run.

    A check without a condition is never requested by automation, so a gated consumer would wait
    forever for a verdict on the new version: every check evaluated on a version must carry this.
    """
    return eager_any_partition()


def automation_sensor(location: str) -> dg.AutomationConditionSensorDefinition:
    """The location's automation sensor, running by default (``MESH_AUTOMATION_INTERVAL_SECONDS``)."""
    return dg.AutomationConditionSensorDefinition(
        f"{location}__automation",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=settings.AUTOMATION_INTERVAL_SECONDS.value(),
        description="Materialises assets whose dependencies updated and passed their blocking checks.",
    )


def warn_window(fail_window: timedelta) -> timedelta | None:
    """90 % of the fail window and at least a minute before it; None when that leaves under a minute
    (Dagster's smallest window)."""
    warn = timedelta(seconds=int(min(fail_window * 0.9, fail_window - _MINUTE).total_seconds()))
    return warn if warn >= _MINUTE else None


def freshness_policy(contract: Contract) -> dg.FreshnessPolicy | None:
    """The contract's freshness SLA as a Dagster policy: FAIL past the SLA, WARN shortly before."""
    fail = contract.sla.freshness
    if fail is None:
        return None
    return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=warn_window(fail))
