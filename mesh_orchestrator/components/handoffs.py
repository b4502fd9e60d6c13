"""The meta-orchestrator's hand-offs as a Dagster component: one gated hand-off per data product of
every domain (``mesh_orchestrator/meta/defs.yaml`` declares it).

It reads domain specs and contracts as data and never imports a domain's code. A domain whose spec
does not load, whose contracts are invalid or that breaks a mesh-wide policy is left out; the other
domains' hand-offs load and run.
"""

from __future__ import annotations

import logging

import dagster as dg

from mesh_orchestrator.core import names
from mesh_orchestrator.core.contracts import CONTRACTS_DIR
from mesh_orchestrator.core.environment import ensure_environment
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.spec import DomainSpec, ProductRef, domain_order, load_valid_specs
from mesh_orchestrator.governance.policies import Landscape, evaluate
from mesh_orchestrator.orchestration.alert_sensors import gate_failure_sensor, stale_product_sensor
from mesh_orchestrator.orchestration.automation import automation_sensor
from mesh_orchestrator.ports.handoff import build_handoff_asset

log = logging.getLogger(__name__)

#: Definitions metadata: each domain left out of the mesh, and what stops it.
UNAVAILABLE = "unavailable_domains"


def _ordered(specs: dict[str, DomainSpec], unavailable: dict[str, list[str]]) -> list[str]:
    """The domains in dependency order; one that consumes an unknown product or closes a cycle is
    added to ``unavailable`` and left out. Consuming a product of an unavailable domain is not an
    error here (that domain is reported already)."""
    remaining = dict(specs)
    while True:
        try:
            return domain_order(remaining, unavailable=unavailable.keys())
        except SpecError as exc:
            domain = next(d for d, s in remaining.items() if str(s.path) == exc.path)
            unavailable.setdefault(domain, []).append(str(exc))
            del remaining[domain]


def _placeholders(domain: str, products: list[str], problems: list[str]) -> list[dg.AssetSpec]:
    """Where an unavailable domain's hand-offs belong: not materialisable, saying what stops them,
    so a consumer's engineer sees why its input does not move."""
    return [
        dg.AssetSpec(
            names.handoff_key(domain, product),
            description=f"Not loaded: the {domain} domain is broken. Fix: " + " | ".join(problems),
            group_name=names.group_name(names.MESH, names.HANDOFF),
            owners=[names.owner(domain)],
            tags=names.tags(domain, names.HANDOFF, product),
            metadata={"load_error": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems))},
        )
        for product in products
    ]


def build_mesh_definitions() -> dg.Definitions:
    """One hand-off per product of every domain whose spec, contracts and mesh-wide policies pass.

    The dbt-reading policies are enforced by each domain's own location, which parses its project.
    A domain with a problem is left out: the load logs a warning naming the file and field to fix,
    its products keep their hand-off keys as placeholders that say the same in the UI (definitions
    metadata is not shown there), and ``defs.metadata["unavailable_domains"]`` lists it.
    """
    ensure_environment()
    specs, spec_errors = load_valid_specs()
    unavailable = {domain: [str(error)] for domain, error in spec_errors.items()}
    order = _ordered(specs, unavailable)
    landscape = Landscape.load({d: specs[d] for d in order})
    contracts = [
        landscape.contracts[ref]
        for d in order
        for ref in (ProductRef(d, p) for p in specs[d].products)
        if ref in landscape.contracts
    ]
    handoffs = {
        ProductRef(c.domain, c.product): build_handoff_asset(
            c, partitioned=c.model in specs[c.domain].partitioned_models
        )
        for c in contracts
    }
    landscape.handoff_checks = {
        a.key.to_user_string(): {c.name: c.blocking for c in a.check_specs} for a in handoffs.values()
    }
    for violation in evaluate(landscape, include_domain_files=False):
        if violation.is_error:
            unavailable.setdefault(violation.domain, []).append(str(violation))
    available = [d for d in order if d not in unavailable]
    assets = [asset for ref, asset in handoffs.items() if ref.domain in available]
    placeholders: list[dg.AssetSpec] = []
    for domain, problems in sorted(unavailable.items()):
        log.warning("code location mesh: hand-offs of %s left out: %s", domain, "; ".join(problems))
        products = (
            list(specs[domain].products)
            if domain in specs
            else sorted(p.stem for p in (CONTRACTS_DIR / domain).glob("*.yaml"))
        )
        placeholders += _placeholders(domain, products, problems)
    jobs = [
        dg.define_asset_job(
            names.handoff_job_name(domain),
            selection=dg.AssetSelection.assets(
                *[names.handoff_key(domain, p) for p in specs[domain].products]
            ),
            description=f"Write-audit-publish every product of {domain}.",
        )
        for domain in available
        if specs[domain].products
    ]
    return dg.Definitions(
        assets=[*assets, *placeholders],
        jobs=jobs,
        sensors=[
            automation_sensor(names.MESH),
            gate_failure_sensor(),
            stale_product_sensor([a.key for a in assets]),
        ],
        executor=dg.in_process_executor,
        metadata={UNAVAILABLE: dg.MetadataValue.json(unavailable)},
    )


class HandoffsComponent(dg.Component, dg.Resolvable, dg.Model):
    """The mesh's hand-offs: one write-audit-publish asset per product of every domain, read from
    the domains' specs and contracts (no attributes: what to hand off is what the domains declare)."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return build_mesh_definitions()
