"""How the mesh keeps itself up to date: gated eager propagation, evaluated by the daemon.

Landing assets are started by their feed's file sensor or schedule. Every asset downstream of
landing (bronze, silver and gold of a domain, the hand-offs, and consumer domains' models that read
a port) materialises when any of its dependencies updated, but only once every blocking check of
those dependencies passed on their latest version. A failed gate, in whatever code location,
therefore stops propagation: consumers stay on the last good version until the gate passes.

Each code location carries its own automation sensor (started by default; Dagster's default one
starts stopped), which evaluates its assets against the whole workspace's graph.
"""

from __future__ import annotations

import os

import dagster as dg

INTERVAL_ENV = "MESH_AUTOMATION_INTERVAL_SECONDS"
DEFAULT_INTERVAL_SECONDS = 30


def gated_eager() -> dg.AutomationCondition:
    """Run after any dependency updated, once all their blocking checks passed."""
    return dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()


def with_target() -> dg.AutomationCondition:
    """For checks: run whenever the checked asset is materialised, in the same run.

    A check without a condition is never requested by automation, so a gated consumer would wait
    forever for a verdict on the new version: every check evaluated on a version must carry this.
    """
    return dg.AutomationCondition.eager()


def automation_sensor(location: str) -> dg.AutomationConditionSensorDefinition:
    """The location's automation sensor, running by default (``MESH_AUTOMATION_INTERVAL_SECONDS``)."""
    return dg.AutomationConditionSensorDefinition(
        f"{location}__automation",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=int(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_SECONDS)),
        description="Materialises assets whose dependencies updated and passed their blocking checks.",
    )
