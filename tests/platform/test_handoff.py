"""Write-audit-publish: a good batch is published, a bad one is not and the previous version stays."""

from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from mesh_orchestrator.contracts import parse_contract
from mesh_orchestrator.handoff import CONTRACT_SATISFIED, build_handoff_asset
from mesh_orchestrator.paths import staging_dir, warehouse_path
from mesh_orchestrator.ports import current_path, current_version

CONTRACT = {
    "id": "shop.items",
    "version": "2.0.0",
    "domain": "shop",
    "product": "items",
    "owner": "team:shop",
    "primary_key": ["sku"],
    "schema": [
        {"name": "sku", "type": "VARCHAR", "required": True, "unique": True},
        {"name": "price", "type": "DECIMAL(18,2)", "required": True, "minimum": 0},
    ],
}


def _gold(rows: list[tuple[str, str]]) -> None:
    path = warehouse_path("shop")
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS gold")
        con.execute("CREATE OR REPLACE TABLE gold.items (sku VARCHAR, price DECIMAL(18,2))")
        con.executemany("INSERT INTO gold.items VALUES (?, ?)", rows)


@pytest.fixture
def handoff(data_dir: Path) -> dg.AssetsDefinition:
    return build_handoff_asset(parse_contract(CONTRACT, data_dir / "items.yaml"))


def _materialize(asset: dg.AssetsDefinition, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize([asset], instance=instance, raise_on_error=False)


def test_good_batch_is_published_and_bad_batch_is_not(handoff: dg.AssetsDefinition) -> None:
    instance = dg.DagsterInstance.ephemeral()
    _gold([("A", "1.00"), ("B", "2.00")])
    ok = _materialize(handoff, instance)
    assert ok.success
    [evaluation] = ok.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.check_name == CONTRACT_SATISFIED
    first = current_version("shop", "items")
    assert first is not None and (first.version, first.rows, first.contract_version) == (1, 2, "2.0.0")
    assert not list(staging_dir("shop", "items").glob("*.parquet")), "passed batches are not kept"

    _gold([("A", "1.00"), ("A", "-5.00"), ("C", None)])  # duplicate key, negative price, missing price
    bad = _materialize(handoff, instance)
    assert not bad.success
    [evaluation] = bad.get_asset_check_evaluations()
    assert not evaluation.passed
    failed = evaluation.metadata["expectations"].value
    assert failed["expect_column_values_to_be_unique(sku)"].endswith("2 unexpected")
    assert "unexpected" in failed["expect_column_values_to_be_between(price)"]
    assert "unexpected" in failed["expect_column_values_to_not_be_null(price)"]
    assert evaluation.metadata["failing_rows_sample"].value

    failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.user_failure_data.description  # type: ignore[union-attr]
    assert "audit of shop.items failed, nothing published" in message
    assert "expect_column_values_to_be_between(price)" in message

    now = current_version("shop", "items")
    assert now is not None and now.version == 1, "consumers keep the last good version"
    assert pq.read_table(current_path("shop", "items")).num_rows == 2
    kept = list(staging_dir("shop", "items").glob("*.parquet"))
    assert len(kept) == 1 and pq.read_table(kept[0]).num_rows == 3, "failed batch kept for inspection"
    assert bad.run_id in kept[0].name
