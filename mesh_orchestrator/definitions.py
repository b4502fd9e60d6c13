"""The meta-orchestrator code location: one gated hand-off per data product of every domain.

It reads domain specs and contracts as data and never imports a domain's code.
"""

from __future__ import annotations

import dagster as dg

from mesh_orchestrator import names
from mesh_orchestrator.alert_sensors import gate_failure_sensor, stale_product_sensor
from mesh_orchestrator.automation import automation_sensor
from mesh_orchestrator.environment import ensure_environment
from mesh_orchestrator.handoff import build_handoff_asset
from mesh_orchestrator.policies import Landscape, enforce
from mesh_orchestrator.spec import ProductRef, domain_order, load_all_specs


def build_mesh_definitions() -> dg.Definitions:
    """One hand-off per product, after the mesh-wide policies pass (contracts, grants, gates)."""
    ensure_environment()
    specs = load_all_specs()
    order = domain_order(specs)
    landscape = Landscape.load(specs)
    refs = [ProductRef(d, p) for d in order for p in specs[d].products]
    contracts = [landscape.contracts[r] for r in refs if r in landscape.contracts]
    assets = [
        build_handoff_asset(c, partitioned=c.model in specs[c.domain].partitioned_models) for c in contracts
    ]
    landscape.handoff_checks = {
        a.key.to_user_string(): {c.name: c.blocking for c in a.check_specs} for a in assets
    }
    # The dbt-reading policies are enforced by each domain's own location, which parses its project.
    enforce(landscape, "code location mesh", include_dbt=False)
    jobs = [
        dg.define_asset_job(
            names.handoff_job_name(domain),
            selection=dg.AssetSelection.assets(
                *[names.handoff_key(domain, p) for p in specs[domain].products]
            ),
            description=f"Write-audit-publish every product of {domain}.",
        )
        for domain in order
        if specs[domain].products
    ]
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        sensors=[
            automation_sensor(names.MESH),
            gate_failure_sensor(),
            stale_product_sensor([a.key for a in assets]),
        ],
        executor=dg.in_process_executor,
    )


defs = build_mesh_definitions()
