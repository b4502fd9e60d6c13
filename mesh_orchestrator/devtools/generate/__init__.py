"""Synthetic, reproducible sample data for the mesh's landing folders.

``generate(data_dir, scale, seed)`` writes every feed of the known domains to
``<data_dir>/landing/<domain>/<feed>/`` as the source systems would drop them: same seed, scale
and fault rate give byte-identical files. ``faults`` > 0 mixes in duplicates, malformed lines,
bad types, missing keys, unknown SKUs, unknown references (employees, invoices, purchase orders
nobody issued), an unknown JSON key and one unparseable document per invoicing supplier, so
quarantine can be exercised. The clean rows stay the same, except that an unknown SKU replaces a
sales line, so its invoice's customer payments are smaller by that line.

Domains register a generator in :data:`GENERATORS` (a module with a
``generate_<domain>(ctx) -> list[FeedReport]`` function and one entry). Any other domain of
``domains/`` gets sample data from the feeds its spec declares (:mod:`.declared`), after the
registered ones, so a new domain needs no Python. Keys agree across domains
because every domain derives what it shares from the seed alone, never from another domain's
files: the item :func:`catalogue` (inventory, procurement, sales), hr's staff plan and
departments, procurement's purchasing plan and inventory's opening stock (finance). So one
domain generated alone gives the same files as generating all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mesh_orchestrator.core.spec import discover_domains, load_domain_spec
from mesh_orchestrator.devtools.generate.base import Context
from mesh_orchestrator.devtools.generate.catalogue import Catalogue, catalogue
from mesh_orchestrator.devtools.generate.declared import generate_declared
from mesh_orchestrator.devtools.generate.faults import KINDS as FAULT_KINDS
from mesh_orchestrator.devtools.generate.finance import generate_finance
from mesh_orchestrator.devtools.generate.hr import generate_hr
from mesh_orchestrator.devtools.generate.inventory import generate_inventory
from mesh_orchestrator.devtools.generate.procurement import generate_procurement
from mesh_orchestrator.devtools.generate.report import FeedReport, GenerationReport
from mesh_orchestrator.devtools.generate.sales import generate_sales

DomainGenerator = Callable[[Context], list[FeedReport]]

#: Domain name -> generator, in the order they run: providers before their consumers (finance,
#: which uses the others' plans, last).
GENERATORS: dict[str, DomainGenerator] = {
    "inventory": generate_inventory,
    "hr": generate_hr,
    "procurement": generate_procurement,
    "sales": generate_sales,
    "finance": generate_finance,
}

__all__ = [
    "FAULT_KINDS",
    "GENERATORS",
    "Catalogue",
    "Context",
    "FeedReport",
    "GenerationReport",
    "catalogue",
    "generate",
]


def generate(
    data_dir: Path,
    scale: int,
    seed: int,
    faults: float = 0.0,
    domains: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> GenerationReport:
    """Write the sample landing files of ``domains`` (default: all) and report what was written.

    ``scale`` 1 is about 200 items, 4,000 stock movements, 40 employees (with about 120
    payslips and 2,500 timecards), 300 purchase order lines and 5,000 sales lines with about
    2,100 customer payments (about one per order); volumes grow linearly (items are capped at
    20,000, employees at 20,000, purchase order lines at about 1,000,000). Scale 2000 is 10
    million sales lines.
    Finance's files are a few dozen rows at any scale; its amounts grow with the others.
    ``faults`` is the share of rows, from 0.0 up to 1.0 (excluded), that get a faulty line.
    Existing files with the same names are overwritten; nothing is deleted.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not 0.0 <= faults < 1.0:
        raise ValueError(f"faults must be a rate from 0.0 up to (not including) 1.0, got {faults!r}")
    known = [*GENERATORS, *(d for d in discover_domains() if d not in GENERATORS)]
    wanted = known if domains is None else list(dict.fromkeys(domains))
    unknown = [d for d in wanted if d not in known]
    if unknown:
        raise ValueError(f"unknown domain(s) {', '.join(unknown)}; the generator knows {', '.join(known)}")
    ctx = Context(Path(data_dir).resolve(), scale, seed, float(faults), progress)
    report = GenerationReport(ctx.data_dir, scale, seed, float(faults))
    started = time.perf_counter()
    for name in (d for d in known if d in wanted):
        generator = GENERATORS.get(name)
        feeds = generator(ctx) if generator else generate_declared(ctx, load_domain_spec(name))
        for feed in feeds:
            report.add(feed)
    report.seconds = time.perf_counter() - started
    return report
