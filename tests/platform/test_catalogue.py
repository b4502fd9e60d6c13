"""The catalogue's facts and pages, from a real hand-off's Iceberg table and Dagster instance.

The whole mesh's catalogue, in a real browser, is tested in tests/mesh/test_catalog_browser.py.
"""

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from mesh_orchestrator.core.contract_model import Sla
from mesh_orchestrator.core.contracts import Contract, parse_contract
from mesh_orchestrator.core.errors import UsageError
from mesh_orchestrator.core.spec import DomainSpec
from mesh_orchestrator.governance.catalogue import (
    FRESH,
    GATE_FAILED,
    NOT_PUBLISHED,
    STALE,
    Catalogue,
    ProductFacts,
    age_text,
    product_facts,
)
from mesh_orchestrator.governance.catalogue_site import reading, render_pages, write_site
from mesh_orchestrator.ports.handoff import build_handoff_asset
from mesh_orchestrator.ports.tables import catalog
from tests.platform.test_handoff import CONTRACT, _gold

SPEC = DomainSpec(
    name="shop",
    owner="team:shop",
    description="A shop",
    dbt_project=Path("/nonexistent/dbt_projects/shop"),
    feeds=(),
    products=("items",),
)


@pytest.fixture
def contract(data_dir: Path) -> Contract:
    parsed = parse_contract(CONTRACT, data_dir / "items.yaml")
    return dataclasses.replace(parsed, sla=Sla(freshness=timedelta(hours=1)))


def _facts(instance: dg.DagsterInstance, contract: Contract, now: datetime | None = None) -> ProductFacts:
    return product_facts(instance, SPEC, contract, catalog(), now or datetime.now(UTC))


def _catalogue(*products: ProductFacts) -> Catalogue:
    return Catalogue(
        products=products,
        built_at=datetime(2026, 12, 7, 12, tzinfo=UTC),
        catalog={"type": "sql", "uri": "sqlite:////data/catalog.db", "warehouse": "file:///data/products"},
        toolchain={"dagster": "1.13.27"},
        ui_url="http://dagster.example:3000",
    )


def test_a_product_moves_from_not_published_to_fresh_to_gate_failed_to_stale(contract: Contract) -> None:
    instance = dg.DagsterInstance.ephemeral()
    handoff = build_handoff_asset(contract)
    assert _facts(instance, contract).status == NOT_PUBLISHED

    good = _gold([("A", "1.00"), ("B", "2.00")])
    published = dg.materialize([handoff], instance=instance)
    facts = _facts(instance, contract)
    assert facts.status == FRESH, facts.status_reason
    (version,) = facts.versions
    assert (version.port.version, version.port.snapshot_id, version.current) == (1, good, True)
    assert version.port.run_id == "provider-run-2"  # the provider's run that wrote the snapshot
    assert version.handoff_run_id == published.run_id
    assert {g.check: g.passed for g in version.gates} == {
        "contract_satisfied": True,
        "no_personal_data": True,
    }

    bad = _gold([("A", "1.00"), ("A", "-5.00"), ("C", None)])
    failed = dg.materialize([handoff], instance=instance, raise_on_error=False)
    assert not failed.success
    facts = _facts(instance, contract)
    assert facts.status == GATE_FAILED
    assert (
        f"failed on snapshot {bad}" in facts.status_reason
        and "version 1 stays current" in facts.status_reason
    )
    (rejected,) = facts.rejected
    assert rejected.snapshot_id == str(bad)
    audit = next(g for g in rejected.gates if g.check == "contract_satisfied")
    assert not audit.passed and audit.run_id == failed.run_id
    assert any(f.startswith("expect_column_values_to_be_unique(sku)") for f in audit.failures)
    assert facts.current is not None and facts.current.port.snapshot_id == good, "main did not move"

    _gold([("A", "1.00"), ("B", "2.00")])  # the good batch again: the gate passes, main confirmed
    dg.materialize([handoff], instance=instance)
    assert _facts(instance, contract).status == FRESH
    later = datetime.now(UTC) + timedelta(hours=2)
    stale = _facts(instance, contract, now=later)
    assert stale.status == STALE and "the SLA's latency is 1h" in stale.status_reason


def test_pages_show_the_facts_escaped(contract: Contract, tmp_path: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    hostile = dataclasses.replace(contract, description="<script>alert(1)</script> items")
    _gold([("A", "1.00")])
    dg.materialize([build_handoff_asset(hostile)], instance=instance)
    facts = _facts(instance, hostile)
    pages = render_pages(_catalogue(facts))
    assert set(pages) == {"index.html", "shop/items.html"}
    page = pages["shop/items.html"]
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    run_id = facts.versions[0].handoff_run_id
    assert f'href="http://dagster.example:3000/runs/{run_id}"' in page
    assert "the dbt manifest of shop could not be read" in page  # How says why it has no models
    assert "the hand-off <code>mesh/handoff/shop__items</code> in <code>mesh_orchestrator</code>" in page
    assert 'data-product="shop.items"' in pages["index.html"]


def test_the_site_is_replaced_whole_and_never_over_another_folder(contract: Contract, tmp_path: Path) -> None:
    facts = _facts(dg.DagsterInstance.ephemeral(), contract)
    site = tmp_path / "site"
    index = write_site(_catalogue(facts), site)
    assert index == site / "index.html" and (site / "shop" / "items.html").is_file()
    (site / "left-over.html").write_text("old", encoding="utf-8")
    write_site(_catalogue(facts), site)
    assert not (site / "left-over.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "site"], "no staging folder left behind"

    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(UsageError, match="holds files but no catalogue"):
        write_site(_catalogue(facts), other)
    assert (other / "mine.txt").read_text(encoding="utf-8") == "keep me"


def test_reading_a_port_from_engines_uses_the_catalogs_properties() -> None:
    postgres = {
        "type": "sql",
        "uri": "postgresql+psycopg2://mesh:***@postgres:5432/mesh",
        "warehouse": "s3://p/",
    }
    engines = {engine: code for engine, _note, code in reading(postgres, "sales.invoices", 42)}
    assert set(engines) == {"DuckDB", "pandas / polars", "Spark", "Trino"}
    assert "spark.sql.catalog.mesh.uri=jdbc:postgresql://postgres:5432/mesh" in engines["Spark"]
    assert "VERSION AS OF 42" in engines["Spark"]
    assert "iceberg.jdbc-catalog.connection-url=jdbc:postgresql://postgres:5432/mesh" in engines["Trino"]
    assert "***" not in engines["Spark"] + engines["Trino"]
    assert ".scan(snapshot_id=42).to_pandas()" in engines["pandas / polars"]

    rest = {
        engine: code
        for engine, _note, code in reading({"type": "rest", "uri": "https://ice.example"}, "hr.rewards", None)
    }
    assert "iceberg.rest-catalog.uri=https://ice.example" in rest["Trino"]
    assert "spark.sql.catalog.mesh.type=rest" in rest["Spark"]


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(hours=26), "1d 2h"),
        (timedelta(seconds=90), "1m 30s"),
        (timedelta(0), "0s"),
        (timedelta(days=7), "7d"),
    ],
)
def test_spans_read_in_two_units(span: timedelta, text: str) -> None:
    assert age_text(span) == text
