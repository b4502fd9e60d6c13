"""The meta-orchestrator code location: one gated hand-off per data product of every domain.

It reads domain specs and contracts as data and never imports a domain's code.
"""

from __future__ import annotations

import dagster as dg

from mesh_orchestrator import names
from mesh_orchestrator.contracts import Contract, load_contract
from mesh_orchestrator.environment import ensure_environment
from mesh_orchestrator.errors import SpecError
from mesh_orchestrator.handoff import build_handoff_asset
from mesh_orchestrator.spec import DomainSpec, domain_order, load_all_specs


def product_contracts(specs: dict[str, DomainSpec]) -> list[Contract]:
    """Every published product's contract; a consumer must be granted by the provider's contract."""
    contracts = {(d, p): load_contract(d, p) for d, spec in specs.items() for p in spec.products}
    for spec in specs.values():
        for ref in spec.consumes:
            contract = contracts[(ref.domain, ref.product)]
            if not contract.grants(spec.name):
                raise SpecError(
                    contract.path,
                    "consumers",
                    f"{spec.name} consumes {ref} (in {spec.path}) but the contract does not "
                    f"grant it; add {{domain: {spec.name}, purpose: ...}} to consumers",
                )
    return list(contracts.values())


def build_mesh_definitions() -> dg.Definitions:
    ensure_environment()
    specs = load_all_specs()
    order = domain_order(specs)
    contracts = product_contracts(specs)
    assets = [build_handoff_asset(c) for c in contracts]
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
    return dg.Definitions(assets=assets, jobs=jobs, executor=dg.in_process_executor)


defs = build_mesh_definitions()
