"""The ``mesh`` Iceberg catalog on a real PostgreSQL, chosen by configuration alone (pyiceberg's
``PYICEBERG_CATALOG__MESH__*`` variables): write, audit-free publish, pinned reads, time travel."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mesh_orchestrator.core.contracts import parse_contract
from mesh_orchestrator.ports.catalog import catalog_properties, open_catalog, public_properties
from mesh_orchestrator.ports.pins import pin
from mesh_orchestrator.ports.tables import (
    load_port,
    publish,
    published_versions,
    require_current,
    select_version,
    stage,
)
from tests.deploy.conftest import PostgresServer
from tests.shop import consumer, items_contract

CONTRACT = items_contract(
    [
        {"name": "sku", "type": "VARCHAR", "required": True},
        {"name": "price", "type": "DECIMAL(18,2)", "required": True},
    ],
    "sku",
)
CONSUMER = consumer()


@pytest.fixture
def postgres_catalog(
    postgres_server: PostgresServer, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    s = postgres_server
    warehouse = tmp_path / "warehouse"
    monkeypatch.setenv("PYICEBERG_CATALOG__MESH__TYPE", "sql")
    monkeypatch.setenv(
        "PYICEBERG_CATALOG__MESH__URI",
        f"postgresql+psycopg2://{s.user}:{s.password}@{s.host}:{s.port}/{s.db_name}",
    )
    monkeypatch.setenv("PYICEBERG_CATALOG__MESH__WAREHOUSE", warehouse.as_uri())
    return warehouse


def test_ports_live_in_a_postgresql_catalog(postgres_catalog: Path, data_dir: Path) -> None:
    assert catalog_properties()["uri"].startswith("postgresql+psycopg2://")
    shown = public_properties()
    assert ":***@" in shown["uri"], "the password is never printed"
    contract = parse_contract(CONTRACT, data_dir / "items.yaml")
    with duckdb.connect() as provider:
        provider.execute("CREATE TABLE gold_items AS SELECT 'A' AS sku, 1.50::DECIMAL(18,2) AS price")
        first = stage(contract, provider, "gold_items", "run-1")
        publish(load_port("shop", "items"), first.snapshot_id)
        with duckdb.connect(str(data_dir / "till.duckdb")) as consumer:
            assert pin(consumer, CONSUMER, "consumer-run")["shop.items"]["version"] == 1
            provider.execute("INSERT INTO gold_items VALUES ('B', 2.00)")
            second = stage(contract, provider, "gold_items", "run-2")
            publish(load_port("shop", "items"), second.snapshot_id)
            assert consumer.execute("SELECT count(*) FROM ports.shop__items").fetchall() == [(1,)]
    assert (require_current("shop", "items").version, require_current("shop", "items").rows) == (2, 2)
    assert select_version("shop", "items", version=1).rows == 1
    assert [v.version for v in published_versions(load_port("shop", "items"))] == [1, 2]
    assert not (data_dir / "catalog.db").exists(), "nothing went to the embedded catalog"
    assert any(postgres_catalog.rglob("*.parquet")), "data files are in the configured warehouse"
    assert ("shop", "items") in open_catalog().list_tables("shop")
