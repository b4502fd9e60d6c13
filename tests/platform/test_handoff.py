"""Write-audit-publish: a good batch is published, a bad one (failed audit or personal data found) is
not and the previous version stays."""

import hashlib
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from mesh_orchestrator.contracts import parse_contract
from mesh_orchestrator.handoff import CONTRACT_SATISFIED, NO_PERSONAL_DATA, SCAN_SECONDS, build_handoff_asset
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


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """Both checks of the hand-off, by name: both always run."""
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {CONTRACT_SATISFIED, NO_PERSONAL_DATA}
    return evaluations


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    data = failure.step_failure_data.user_failure_data
    assert data is not None and data.description is not None
    return data.description


def test_good_batch_is_published_and_bad_batch_is_not(handoff: dg.AssetsDefinition) -> None:
    instance = dg.DagsterInstance.ephemeral()
    _gold([("A", "1.00"), ("B", "2.00")])
    ok = _materialize(handoff, instance)
    assert ok.success
    assert all(e.passed for e in _checks(ok).values())
    first = current_version("shop", "items")
    assert first is not None and (first.version, first.rows, first.contract_version) == (1, 2, "2.0.0")
    assert not list(staging_dir("shop", "items").glob("*.parquet")), "passed batches are not kept"

    _gold([("A", "1.00"), ("A", "-5.00"), ("C", None)])  # duplicate key, negative price, missing price
    bad = _materialize(handoff, instance)
    assert not bad.success
    evaluation = _checks(bad)[CONTRACT_SATISFIED]
    assert not evaluation.passed and _checks(bad)[NO_PERSONAL_DATA].passed
    failed = evaluation.metadata["expectations"].value
    assert failed["expect_column_values_to_be_unique(sku)"].endswith("2 unexpected")
    assert "unexpected" in failed["expect_column_values_to_be_between(price)"]
    assert "unexpected" in failed["expect_column_values_to_not_be_null(price)"]
    assert evaluation.metadata["failing_rows_sample"].value

    message = _failure_message(bad)
    assert "audit of shop.items failed, nothing published" in message
    assert "expect_column_values_to_be_between(price)" in message

    now = current_version("shop", "items")
    assert now is not None and now.version == 1, "consumers keep the last good version"
    assert pq.read_table(current_path("shop", "items")).num_rows == 2
    kept = list(staging_dir("shop", "items").glob("*.parquet"))
    assert len(kept) == 1 and pq.read_table(kept[0]).num_rows == 3, "failed batch kept for inspection"
    assert bad.run_id in kept[0].name


NOTES = {
    **CONTRACT,
    "schema": [*CONTRACT["schema"], {"name": "note", "type": "VARCHAR", "classification": "internal"}],
}


def _gold_notes(rows: list[tuple[str, str, str | None]]) -> None:
    path = warehouse_path("shop")
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS gold")
        con.execute("CREATE OR REPLACE TABLE gold.items (sku VARCHAR, price DECIMAL(18,2), note VARCHAR)")
        con.executemany("INSERT INTO gold.items VALUES (?, ?, ?)", rows)


def test_personal_data_in_a_column_not_classified_pii_is_not_published(data_dir: Path) -> None:
    handoff = build_handoff_asset(parse_contract(NOTES, data_dir / "items.yaml"))
    instance = dg.DagsterInstance.ephemeral()
    _gold_notes([("A", "1.00", "gift wrap"), ("B", "2.00", None)])
    ok = _materialize(handoff, instance)
    assert ok.success
    scanned = _checks(ok)[NO_PERSONAL_DATA]
    assert scanned.passed and scanned.metadata["columns_scanned"].value == ["sku", "note"]
    assert isinstance(scanned.metadata[SCAN_SECONDS].value, float)

    _gold_notes([("A", "1.00", "gift wrap"), ("B", "2.00", "ship to jane.doe@example.com, back door")])
    bad = _materialize(handoff, instance)
    assert not bad.success
    checks = _checks(bad)
    assert checks[CONTRACT_SATISFIED].passed, "the audit ran too, and passed"
    scanned = checks[NO_PERSONAL_DATA]
    assert not scanned.passed
    assert scanned.metadata["findings"].value == {"note: email": {"rows": 1, "samples": ["ja***"]}}
    assert scanned.description == "note: email in 1 row (e.g. ja***)"

    message = _failure_message(bad)
    assert "personal-data scan of shop.items failed, nothing published" in message
    assert "note: email in 1 row" in message
    assert (
        f"classify the column as pii in {data_dir / 'items.yaml'} and mask it with the mask_pii macro"
        in message
    )
    assert "or drop it from the product" in message
    assert "audit of" not in message, "the audit passed"
    assert "jane.doe" not in message and "jane.doe" not in str(scanned.metadata)

    now = current_version("shop", "items")
    assert now is not None and now.version == 1, "consumers keep the last good version"
    assert pq.read_table(current_path("shop", "items")).column("note").to_pylist() == ["gift wrap", None]
    [kept] = staging_dir("shop", "items").glob("*.parquet")
    assert bad.run_id in kept.name and str(kept) in message, "failed batch kept for inspection"


def test_both_gates_are_reported_and_a_classified_masked_column_is_published(data_dir: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    _gold_notes([("A", "1.00", "NI-387420489"), ("A", "-1.00", None)])
    both = _materialize(build_handoff_asset(parse_contract(NOTES, data_dir / "items.yaml")), instance)
    assert not both.success and not any(e.passed for e in _checks(both).values())
    lines = _failure_message(both).splitlines()
    assert len(lines) == 2
    assert "personal-data scan of shop.items" in lines[0] and "note: national_id in 1 row" in lines[0]
    assert "audit of shop.items" in lines[1]
    assert current_version("shop", "items") is None

    # The fix: the column classified pii (and masked, as the mask_pii macro does) is not scanned.
    pii = {"name": "note", "type": "VARCHAR", "classification": "pii"}
    classified = parse_contract({**NOTES, "schema": [*CONTRACT["schema"], pii]}, data_dir / "items.yaml")
    masked = hashlib.sha256(b"NI-387420489").hexdigest()
    _gold_notes([("A", "1.00", masked), ("B", "2.00", None)])
    fixed = _materialize(build_handoff_asset(classified), instance)
    assert fixed.success
    scanned = _checks(fixed)[NO_PERSONAL_DATA]
    assert scanned.passed and scanned.metadata["columns_skipped_pii"].value == ["note"]
    now = current_version("shop", "items")
    assert now is not None and now.version == 1
