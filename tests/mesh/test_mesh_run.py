"""``mesh run`` end to end on sample data: ports published, gates respected, nothing lost."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mesh_orchestrator.spec import load_all_specs
from tests.mesh.conftest import mesh

PRODUCTS = [
    ("inventory", "item_catalogue"),
    ("inventory", "stock_levels"),
    ("sales", "invoices"),
    ("sales", "revenue_by_day"),
]


@pytest.fixture(scope="module")
def clean_mesh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data = tmp_path_factory.mktemp("clean") / "data"
    mesh(data, "generate", "--scale", "1", "--seed", "7")
    run = mesh(data, "run")
    return data, run.stdout


def _port(data: Path, domain: str, product: str) -> Path:
    return Path(mesh(data, "port", domain, product).stdout.strip())


def test_every_product_is_published(clean_mesh: tuple[Path, str]) -> None:
    data, out = clean_mesh
    assert "RESULT: all gates passed" in out
    for domain, product in PRODUCTS:
        path = _port(data, domain, product)
        assert path.is_file() and path.is_relative_to(data / "products" / domain / product)
        (rows,) = duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchall()[0]
        assert rows > 0, f"{domain}.{product} is empty"
        assert f"{domain}.{product}" in out


def test_summary_reports_each_location(clean_mesh: tuple[Path, str]) -> None:
    _, out = clean_mesh
    for job in ("inventory__all_assets", "handoff__inventory", "sales__all_assets", "handoff__sales"):
        assert job in out
    assert out.index("inventory__all_assets") < out.index("sales__all_assets")


def test_invoices_are_priced_from_the_catalogue(clean_mesh: tuple[Path, str]) -> None:
    data, _ = clean_mesh
    invoices, catalogue = _port(data, "sales", "invoices"), _port(data, "inventory", "item_catalogue")
    mismatched = duckdb.sql(
        f"SELECT count(*) FROM '{invoices}' i JOIN '{catalogue}' c USING (sku) "
        "WHERE i.unit_price <> c.list_price OR i.item_name <> c.item_name"
    ).fetchall()
    assert mismatched == [(0,)]


def test_unknown_port_is_a_clear_error(clean_mesh: tuple[Path, str]) -> None:
    data, _ = clean_mesh
    result = mesh(data, "port", "sales", "nothing", check=False)
    assert result.returncode == 2
    assert "sales.nothing has no published version" in result.stderr


def test_rerun_ingests_nothing_new(clean_mesh: tuple[Path, str]) -> None:
    data, _ = clean_mesh
    with duckdb.connect(str(data / "warehouse" / "sales.duckdb"), read_only=True) as con:
        before = con.execute("SELECT count(*) FROM landing.web_order_events").fetchall()
    out = mesh(data, "run").stdout
    assert "RESULT: all gates passed" in out
    with duckdb.connect(str(data / "warehouse" / "sales.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM landing.web_order_events").fetchall() == before
    for domain, product in PRODUCTS:
        assert _port(data, domain, product).name == "000001.parquet", "unchanged data is not republished"


def test_broken_product_is_not_published_and_consumer_keeps_previous(clean_mesh: tuple[Path, str]) -> None:
    data, _ = clean_mesh
    catalogue_before = _port(data, "inventory", "item_catalogue")
    invoices_before = _port(data, "sales", "invoices")
    items = data / "landing" / "inventory" / "items"
    header = next(p for p in sorted(items.glob("*.csv"))).read_text().splitlines()[0]
    # A later export reprices SKU-00001 below zero: typed fine, but it breaks list_price >= 0.
    broken = {
        "sku": "SKU-00001",
        "item_name": "Broken Widget",
        "category": "Electronics",
        "unit_of_measure": "each",
        "unit_cost": "1.00",
        "list_price": "-9.99",
        "currency": "EUR",
        "updated_at": "2026-12-31 00:00:00",
    }
    row = ",".join(broken[column] for column in header.split(","))
    (items / "items_zz_late_correction.csv").write_text(f"{header}\n{row}\n")
    result = mesh(data, "run", check=False)
    assert result.returncode == 1
    out = result.stdout
    assert "inventory.item_catalogue" in out and "gate_failed" in out
    assert "expect_column_values_to_be_between(list_price)" in out
    assert "sales" in out and "skipped" in out
    assert "inventory.stock_levels        published" in out, "a passing product is still published"
    assert _port(data, "inventory", "item_catalogue") == catalogue_before
    assert _port(data, "sales", "invoices") == invoices_before
    prices = duckdb.sql(f"SELECT min(list_price) FROM '{catalogue_before}'").fetchall()
    assert prices[0][0] >= 0
    assert list((data / "staging" / "inventory" / "item_catalogue").glob("*.parquet")), "staged batch kept"


def test_faults_are_quarantined_and_reconciled(tmp_path: Path) -> None:
    data = tmp_path / "data"
    mesh(data, "generate", "--scale", "1", "--seed", "11", "--faults", "0.03")
    out = mesh(data, "run").stdout
    assert "RESULT: all gates passed" in out
    reasons: set[str] = set()
    for domain, spec in load_all_specs().items():
        with duckdb.connect(str(data / "warehouse" / f"{domain}.duckdb"), read_only=True) as con:
            for feed in spec.feeds:
                landed, bronze, quarantined = con.execute(
                    f"SELECT (SELECT count(*) FROM landing.{feed.name}), "
                    f"(SELECT count(*) FROM bronze.{feed.name}), "
                    f"(SELECT count(*) FROM quarantine.{feed.name})"
                ).fetchall()[0]
                assert landed == bronze + quarantined, f"{domain}.{feed.name} lost rows"
                reasons |= {
                    r
                    for (r,) in con.execute(
                        f"SELECT DISTINCT split_part(reason, ':', 1) FROM quarantine.{feed.name}"
                    ).fetchall()
                }
    assert {"duplicate_key", "unparseable", "bad_type", "missing_key"} <= reasons
    with duckdb.connect(str(data / "warehouse" / "sales.duckdb"), read_only=True) as con:
        unknown = con.execute("SELECT count(*) FROM silver.quarantine_unknown_skus").fetchall()[0][0]
    assert unknown > 0
