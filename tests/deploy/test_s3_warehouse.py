"""The production catalog: PostgreSQL for the catalog, S3-compatible object storage for the warehouse
(moto's server here, MinIO or S3 in production), chosen by pyiceberg configuration alone.

The provider stages into the bucket, the hand-off audits exactly those files and publishes, a consumer
reads the version pinned at its run's start, retention deletes expired files from the bucket, and
the files of a write killed before its commit are swept.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from mesh_orchestrator.core.contracts import parse_contract
from mesh_orchestrator.ports.catalog import public_properties
from mesh_orchestrator.ports.handoff import build_handoff_asset
from mesh_orchestrator.ports.pins import pin
from mesh_orchestrator.ports.tables import (
    expire,
    load_port,
    require_current,
    snapshot_files,
    stage,
    sweep_orphans,
)
from tests.deploy.conftest import ObjectStore, PostgresServer
from tests.shop import consumer, items_contract

CONTRACT = items_contract(
    [
        {"name": "sku", "type": "VARCHAR", "required": True, "unique": True},
        {"name": "price", "type": "DECIMAL(18,2)", "required": True, "minimum": 0},
    ],
    "sku",
)


@pytest.fixture
def warehouse(
    postgres_server: PostgresServer, object_store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh catalog database and bucket prefix, configured the way an operator would."""
    import psycopg2

    s = postgres_server
    database = f"catalog_{uuid.uuid4().hex[:8]}"
    server = psycopg2.connect(host=s.host, port=s.port, user=s.user, password=s.password, dbname=s.db_name)
    try:
        server.autocommit = True  # CREATE DATABASE runs outside a transaction
        server.cursor().execute(f"CREATE DATABASE {database}")
    finally:
        server.close()
    location = f"s3://{object_store.bucket}/{database}"
    settings = {
        "TYPE": "sql",
        "URI": f"postgresql+psycopg2://{s.user}:{s.password}@{s.host}:{s.port}/{database}",
        "WAREHOUSE": location,
        "S3__ENDPOINT": object_store.endpoint,
        "S3__ACCESS_KEY_ID": object_store.access_key,
        "S3__SECRET_ACCESS_KEY": object_store.secret_key,
        "S3__REGION": object_store.region,
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"PYICEBERG_CATALOG__MESH__{name}", value)
    return location


def test_ports_live_in_object_storage(warehouse: str, object_store: ObjectStore, data_dir: Path) -> None:
    contract = parse_contract(CONTRACT, data_dir / "items.yaml")
    prefix = warehouse.removeprefix(f"s3://{object_store.bucket}/")
    with duckdb.connect() as provider:
        provider.execute("CREATE TABLE gold_items AS SELECT 'A' AS sku, 1.50::DECIMAL(18,2) AS price")
        first = stage(contract, provider, "gold_items", "run-1")
        staged = snapshot_files(load_port("shop", "items"), first.snapshot_id)
        assert staged and all(f.startswith(f"{warehouse}/") for f in staged), staged
        keys = {f.removeprefix(f"s3://{object_store.bucket}/") for f in staged}
        assert keys <= set(object_store.keys(prefix)), "the staged files are objects in the bucket"

        handoff = build_handoff_asset(contract)
        assert dg.materialize([handoff], raise_on_error=False).success
        assert require_current("shop", "items").version == 1

        with duckdb.connect(str(data_dir / "till.duckdb")) as till:
            assert pin(till, consumer(), "till-run")["shop.items"]["version"] == 1
            provider.execute("INSERT INTO gold_items VALUES ('B', 2.00)")
            stage(contract, provider, "gold_items", "run-2")
            assert dg.materialize([handoff], raise_on_error=False).success
            assert till.execute("SELECT sku, price FROM ports.shop__items").fetchall() == [
                ("A", Decimal("1.50"))
            ], "the consumer's run reads the version pinned when it started"
    assert (require_current("shop", "items").version, require_current("shop", "items").rows) == (2, 2)
    assert not list(data_dir.glob("products/**/*.parquet")), "no data file on the local disk but the cache"
    assert list((data_dir / "port-cache").glob("*.parquet")), "readers copied the immutable files once"

    table = load_port("shop", "items")
    assert first.snapshot_id in expire(table, timedelta(0))
    left = set(object_store.keys(prefix))
    assert not keys & left, "retention deleted the expired version's files from the bucket"
    killed = f"{table.location()}/data/00000-0-killed.parquet".removeprefix(f"s3://{object_store.bucket}/")
    object_store.client().put_object(Bucket=object_store.bucket, Key=killed, Body=b"PAR1")
    assert sweep_orphans(table) == [], "young: it may be a write in progress"
    later = datetime.now(UTC) + timedelta(days=1)
    assert sweep_orphans(table, now=later) == [f"s3://{object_store.bucket}/{killed}"]
    assert killed not in object_store.keys(prefix)

    shown = str(public_properties())
    assert object_store.secret_key not in shown and object_store.access_key not in shown
    assert object_store.endpoint in shown
