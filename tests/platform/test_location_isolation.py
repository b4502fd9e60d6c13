"""Every code location loads on its own: a domain location needs only its own spec, dbt project and
contracts and the contracts of what it consumes; a broken domain stops its own location and its
hand-offs, never the other locations."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import dagster as dg
import pytest
import yaml

from mesh_orchestrator.components.domain import check_consumed_contracts

# Built here, at collection, from the real specs: tests below patch where specs are read from.
from mesh_orchestrator.components.handoffs import UNAVAILABLE, build_mesh_definitions
from mesh_orchestrator.core import spec
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.spec import ProductRef, domain_order, load_domain_spec, load_valid_specs
from mesh_orchestrator.governance.policies import Landscape
from mesh_orchestrator.orchestration import automation

COPIED = ("mesh_orchestrator", "domains", "dbt_projects", "quality", "workspace.yaml", "pyproject.toml")
BROKEN_SPEC = ("domains/inventory/defs.yaml", "owner: team:inventory\n", "owner: inventory\n")
BROKEN_CONTRACT = ("quality/contracts/inventory/item_catalogue.yaml", "team:\n  name: inventory\n", "")


def _break(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def broken_domains_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The repository's domains copied, inventory's spec broken, and the specs read from there."""
    automation.partitioned_keys()  # computed from the real specs before any test patches them
    copy = tmp_path / "domains"
    shutil.copytree(REPO_ROOT / "domains", copy, ignore=shutil.ignore_patterns("__pycache__"))
    _break(tmp_path, *BROKEN_SPEC)
    monkeypatch.setattr(spec, "DOMAINS_DIR", copy)
    yield copy


def test_valid_specs_load_beside_a_broken_one(broken_domains_dir: Path) -> None:
    specs, errors = load_valid_specs()
    assert sorted(specs) == ["finance", "hr", "procurement", "sales"]
    (error,) = errors.values()
    assert error.path == str(broken_domains_dir / "inventory" / "defs.yaml") and error.field == "owner"


def test_the_order_skips_products_of_an_unavailable_domain(broken_domains_dir: Path) -> None:
    specs, errors = load_valid_specs()
    with pytest.raises(SpecError, match="no domain 'inventory'"):
        domain_order(specs)
    order = domain_order(specs, unavailable=errors.keys())
    assert sorted(order) == sorted(specs) and order.index("sales") < order.index("finance")


def test_a_domain_landscape_reads_only_its_own_and_consumed_contracts() -> None:
    landscape = Landscape.for_domain(load_domain_spec("sales"))
    assert list(landscape.specs) == ["sales"]
    assert set(landscape.contracts) == {
        ProductRef("sales", "invoices"),
        ProductRef("sales", "receivables"),
        ProductRef("sales", "revenue_by_day"),
        ProductRef("inventory", "item_catalogue"),
    }
    assert {p.parent.name for p in landscape.contract_files} == {"sales"}


def test_an_invalid_consumed_contract_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    sales = load_domain_spec("sales")
    landscape = Landscape.for_domain(sales)
    ref = ProductRef("inventory", "item_catalogue")
    del landscape.contracts[ref]
    landscape.contract_errors[ref] = SpecError("item_catalogue.yaml", "owner", "is required")
    with caplog.at_level(logging.WARNING):
        check_consumed_contracts(sales, landscape)
    assert "consumed product inventory.item_catalogue is invalid" in caplog.text


def test_consuming_a_product_without_contract_is_the_consumers_error() -> None:
    sales = load_domain_spec("sales")
    sales = replace(sales, consumes=(*sales.consumes, ProductRef("inventory", "spare_parts")))
    with pytest.raises(SpecError, match=r"field 'consumes\[1\]': inventory.spare_parts is not published"):
        check_consumed_contracts(sales, Landscape.for_domain(sales))


def test_the_mesh_location_leaves_out_a_broken_domain(broken_domains_dir: Path) -> None:
    defs = build_mesh_definitions()
    graph = defs.resolve_asset_graph()
    handoffs = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert "mesh/handoff/sales__invoices" in handoffs and "mesh/handoff/finance__balance_sheet" in handoffs
    assert not any(key.startswith("mesh/handoff/inventory__") for key in handoffs)
    placeholder = graph.get(dg.AssetKey(["mesh", "handoff", "inventory__item_catalogue"]))
    assert not placeholder.is_materializable
    assert "inventory/defs.yaml: field 'owner'" in (placeholder.description or "")
    unavailable = cast(dict[str, list[str]], defs.metadata[UNAVAILABLE].value)
    (problem,) = unavailable["inventory"]
    assert "field 'owner'" in problem


# --- each location loaded as Dagster loads it, from a copy of the repository with one break ------

PROBE = """
import importlib, json, sys
found = {}
for location, module in json.loads(sys.argv[1]).items():
    try:
        defs = importlib.import_module(module).defs
        graph = defs.resolve_asset_graph()
    except Exception as exc:
        found[location] = {"error": f"{type(exc).__name__}: {exc}"}
        continue
    nodes = [graph.get(key) for key in graph.get_all_asset_keys()]
    found[location] = {
        "assets": sorted(n.key.to_user_string() for n in nodes if n.is_materializable),
        "placeholders": {
            n.key.to_user_string(): n.description for n in nodes if not n.is_materializable and n.description
        },
    }
print("PROBE " + json.dumps(found))
"""


def _broken_copy(tmp_path: Path, broken: tuple[str, str, str]) -> Path:
    """The repository's code, specs, projects and contracts copied, with one file ``broken``."""
    repo = tmp_path / "repo"
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("logs", "target", "__pycache__", "mesh_run*")
            shutil.copytree(source, repo / name, ignore=ignore)
        else:
            shutil.copy2(source, repo / name)
    _break(repo, *broken)
    return repo


def _load_locations(repo: Path, data: Path) -> dict[str, Any]:
    """Import every location of the copy's workspace.yaml in a subprocess rooted in the copy."""
    entries = yaml.safe_load((repo / "workspace.yaml").read_text())["load_from"]
    modules = {e["python_module"]["location_name"]: e["python_module"]["module_name"] for e in entries}
    env = {**os.environ, "PYTHONPATH": str(repo), "MESH_DATA_DIR": str(data), "DAGSTER_HOME": str(data)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(modules)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("PROBE "))
    return dict(json.loads(line.removeprefix("PROBE ")))


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (BROKEN_SPEC, "domains/inventory/defs.yaml: field 'owner': 'inventory' must be 'team:<name>'"),
        (BROKEN_CONTRACT, "inventory.item_catalogue: fix field 'team': name the owning team"),
    ],
    ids=["spec", "contract"],
)
def test_every_other_location_loads_beside_a_broken_domain(
    broken: tuple[str, str, str], message: str, tmp_path: Path
) -> None:
    repo = _broken_copy(tmp_path, broken)
    (tmp_path / "data").mkdir()
    locations = _load_locations(repo, tmp_path / "data")

    assert message in locations["inventory"]["error"]
    assert broken[0] in locations["inventory"]["error"]  # the file, in the copy
    for domain in ("hr", "procurement", "sales", "finance"):
        assert "error" not in locations[domain], locations[domain]
        assert f"{domain}/gold" in " ".join(locations[domain]["assets"])
    mesh = locations["mesh_orchestrator"]
    assert "error" not in mesh, mesh
    handoffs = {key for key in mesh["assets"] if key.startswith("mesh/handoff/")}
    assert {
        "mesh/handoff/sales__invoices",
        "mesh/handoff/hr__rewards",
        "mesh/handoff/finance__balance_sheet",
    } <= (handoffs)
    assert not {key for key in handoffs if key.startswith("mesh/handoff/inventory__")}
    placeholders = mesh["placeholders"]
    assert set(placeholders) == {
        "mesh/handoff/inventory__item_catalogue",
        "mesh/handoff/inventory__stock_levels",
    }
    assert all(message in text for text in placeholders.values())


RUN_HR = """
from mesh_orchestrator.orchestration.instance import ensure_dagster_home

ensure_dagster_home()
import dagster as dg

from mesh_orchestrator.devtools.generate import generate
from mesh_orchestrator.core.paths import data_dir
from mesh_orchestrator.ports.tables import require_current
from mesh_orchestrator.cli.run import _execute

generate(data_dir(), scale=1, seed=7, domains=["hr"])
with dg.DagsterInstance.get() as instance:
    for location, job in (("hr", "hr__all_assets"), ("mesh", "handoff__hr")):
        outcome = _execute(location, job, instance, print)
        assert outcome.success, (job, outcome.error)
print("PUBLISHED", require_current("hr", "payroll_costs").version, require_current("hr", "rewards").version)
"""


def test_a_location_runs_and_publishes_beside_a_broken_domain(tmp_path: Path) -> None:
    """hr's run and hr's hand-offs in the mesh location, while inventory's spec is broken."""
    repo = _broken_copy(tmp_path, BROKEN_SPEC)
    data = tmp_path / "data"
    env = {
        **os.environ,
        "PYTHONPATH": str(repo),
        "MESH_DATA_DIR": str(data),
        "DAGSTER_HOME": str(data / "home"),
    }
    result = subprocess.run(
        [sys.executable, "-c", RUN_HR], cwd=repo, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PUBLISHED 1 1" in result.stdout


def test_mesh_check_still_reports_a_consumed_product_nobody_publishes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The meta-orchestrator only leaves such a consumer out now, so ``mesh check`` must say it."""
    from mesh_orchestrator.cli.check import check_policies

    landscape = Landscape.load()
    sales = landscape.specs["sales"]
    spare_parts = ProductRef("inventory", "spare_parts")
    landscape.specs["sales"] = replace(sales, consumes=(*sales.consumes, spare_parts))
    monkeypatch.setattr(Landscape, "load", classmethod(lambda cls, specs=None: landscape))
    report = check_policies()
    assert not report.ok and "1 error(s)" in report.summary
    assert (
        "field 'consumes': inventory.spare_parts: domain 'inventory' publishes no product"
        in report.details[0]
    )
