"""Write-audit-publish: a good batch is published, a bad one (failed audit or personal data found) is
not: ``main`` stays where it was and the batch stays on the staging branch."""

import hashlib
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from mesh_orchestrator.core.contracts import Contract, parse_contract
from mesh_orchestrator.core.paths import warehouse_path
from mesh_orchestrator.ports.handoff import (
    CONTRACT_SATISFIED,
    NO_PERSONAL_DATA,
    SCAN_SECONDS,
    build_handoff_asset,
)
from mesh_orchestrator.ports.tables import (
    STAGING,
    current_version,
    load_port,
    snapshot_files,
    stage,
    staged_snapshot,
    version_paths,
)

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


def _write(contract: Contract, columns: str, rows: list[tuple[str | None, ...]]) -> int:
    """The provider's run: its gold table, staged on the product's branch. Returns the snapshot id."""
    path = warehouse_path("shop")
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS gold")
        con.execute(f"CREATE OR REPLACE TABLE gold.items ({columns})")
        con.executemany(f"INSERT INTO gold.items VALUES ({', '.join('?' * len(rows[0]))})", rows)
        return stage(contract, con, "gold.items", f"provider-run-{len(rows)}").snapshot_id


def _gold(rows: list[tuple[str, str | None]]) -> int:
    return _write(parse_contract(CONTRACT, Path("items.yaml")), "sku VARCHAR, price DECIMAL(18,2)", rows)


def _staged_rows(snapshot_id: int) -> int:
    table = load_port("shop", "items")
    return sum(
        pq.ParquetFile(f.removeprefix("file://")).metadata.num_rows
        for f in snapshot_files(table, snapshot_id)
    )


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
    assert ok.asset_materializations_for_node(handoff.op.name)[0].metadata["published"].value is True

    bad_batch = _gold(
        [("A", "1.00"), ("A", "-5.00"), ("C", None)]
    )  # duplicate key, negative price, missing price
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

    assert f"branch 'staging' of Iceberg table shop.items, snapshot {bad_batch}" in message
    assert evaluation.metadata["branch"].value == STAGING
    assert evaluation.metadata["snapshot_id"].value == str(bad_batch)

    now = current_version("shop", "items")
    assert now is not None and now.version == 1, "main did not move: consumers keep the last good version"
    assert now.snapshot_id == first.snapshot_id
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet({version_paths(now)})").fetchall() == [(2,)]
    kept = staged_snapshot(load_port("shop", "items"))
    assert kept is not None and kept.snapshot_id == bad_batch, (
        "failed batch kept on the branch for inspection"
    )
    assert _staged_rows(bad_batch) == 3


def test_an_unchanged_batch_publishes_nothing(handoff: dg.AssetsDefinition) -> None:
    instance = dg.DagsterInstance.ephemeral()
    _gold([("A", "1.00"), ("B", "2.00")])
    assert _materialize(handoff, instance).success
    snapshots = len(load_port("shop", "items").snapshots())
    _gold([("B", "2.00"), ("A", "1.00")])  # the same rows, in another order
    again = _materialize(handoff, instance)
    assert again.success
    assert again.asset_materializations_for_node(handoff.op.name)[0].metadata["published"].value is False
    assert len(load_port("shop", "items").snapshots()) == snapshots
    assert current_version("shop", "items").version == 1  # type: ignore[union-attr]


def test_a_handoff_before_anything_was_staged_says_what_to_run(handoff: dg.AssetsDefinition) -> None:
    from mesh_orchestrator.ports.catalog import open_catalog, product_table

    product_table(open_catalog(), parse_contract(CONTRACT, Path("items.yaml")))
    failed = _materialize(handoff, dg.DagsterInstance.ephemeral())
    assert not failed.success
    failure = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no staged batch" in str(failure.step_failure_data.error)
    assert "materialise shop/gold/items first" in str(failure.step_failure_data.error)


HOLD_LOCK = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE IF NOT EXISTS held (x INTEGER)")
print("locked", flush=True)
sys.stdin.read()
"""


def test_the_handoff_never_opens_the_providers_database(handoff: dg.AssetsDefinition) -> None:
    """The provider's DuckDB file locked by another process (a long dbt run, say) does not stop it."""
    _gold([("A", "1.00"), ("B", "2.00")])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(warehouse_path("shop"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(warehouse_path("shop")), read_only=True)
        assert _materialize(handoff, dg.DagsterInstance.ephemeral()).success
    finally:
        holder.communicate("")
    assert current_version("shop", "items").rows == 2  # type: ignore[union-attr]


NOTES = {
    **CONTRACT,
    "schema": [*CONTRACT["schema"], {"name": "note", "type": "VARCHAR", "classification": "internal"}],
}


def _gold_notes(rows: list[tuple[str, str, str | None]], contract: dict = NOTES) -> int:
    columns = "sku VARCHAR, price DECIMAL(18,2), note VARCHAR"
    return _write(parse_contract(contract, Path("items.yaml")), columns, rows)  # type: ignore[arg-type]


def test_personal_data_in_a_column_not_classified_pii_is_not_published(data_dir: Path) -> None:
    handoff = build_handoff_asset(parse_contract(NOTES, data_dir / "items.yaml"))
    instance = dg.DagsterInstance.ephemeral()
    _gold_notes([("A", "1.00", "gift wrap"), ("B", "2.00", None)])
    ok = _materialize(handoff, instance)
    assert ok.success
    scanned = _checks(ok)[NO_PERSONAL_DATA]
    assert scanned.passed and scanned.metadata["columns_scanned"].value == ["sku", "note"]
    assert isinstance(scanned.metadata[SCAN_SECONDS].value, float)

    bad_batch = _gold_notes(
        [("A", "1.00", "gift wrap"), ("B", "2.00", "ship to jane.doe@example.com, back door")]
    )
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
    notes = duckdb.sql(f"SELECT note FROM read_parquet({version_paths(now)}) ORDER BY sku").fetchall()
    assert notes == [("gift wrap",), (None,)]
    kept = staged_snapshot(load_port("shop", "items"))
    assert kept is not None and kept.snapshot_id == bad_batch and f"snapshot {bad_batch}" in message


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
    _gold_notes([("A", "1.00", masked), ("B", "2.00", None)], {**NOTES, "schema": [*CONTRACT["schema"], pii]})
    fixed = _materialize(build_handoff_asset(classified), instance)
    assert fixed.success
    scanned = _checks(fixed)[NO_PERSONAL_DATA]
    assert scanned.passed and scanned.metadata["columns_skipped_pii"].value == ["note"]
    now = current_version("shop", "items")
    assert now is not None and now.version == 1
