"""A consumer's run reads each consumed product at the snapshot pinned when the run started."""

from pathlib import Path

import duckdb

from mesh_orchestrator.core.contracts import parse_contract
from mesh_orchestrator.core.spec import DomainSpec
from mesh_orchestrator.ports.pins import pin
from mesh_orchestrator.ports.tables import load_port, publish, stage
from tests.shop import NUMBERED, consumer, items_contract

CONTRACT = items_contract(NUMBERED, "n")
CONSUMER = consumer()


def _publish(data_dir: Path, rows: int) -> int:
    with duckdb.connect() as provider:
        provider.execute(f"CREATE TABLE gold_items AS SELECT range AS n FROM range({rows})")
        staged = stage(
            parse_contract(CONTRACT, data_dir / "items.yaml"), provider, "gold_items", f"write-{rows}"
        )
    version, moved = publish(load_port("shop", "items"), staged.snapshot_id)
    assert moved
    return version.snapshot_id


def _rows(consumer: duckdb.DuckDBPyConnection) -> int:
    return int(consumer.execute("SELECT count(*) FROM ports.shop__items").fetchall()[0][0])


def test_a_run_reads_one_snapshot_while_a_new_version_is_published(data_dir: Path) -> None:
    first = _publish(data_dir, 3)
    with duckdb.connect(str(data_dir / "till.duckdb")) as consumer:
        pins = pin(consumer, CONSUMER, "run-a")
        assert pins == {"shop.items": {"version": 1, "snapshot_id": first}}
        assert _rows(consumer) == 3

        second = _publish(data_dir, 5)  # published while run-a is under way

        assert _rows(consumer) == 3, "the run's models keep reading the pinned snapshot"
        assert pin(consumer, CONSUMER, "run-a") == pins, "a later step of the same run reuses the pins"
        assert _rows(consumer) == 3
        assert pin(consumer, CONSUMER, "run-b") == {"shop.items": {"version": 2, "snapshot_id": second}}
        assert _rows(consumer) == 5, "the next run reads the new version"
        recorded = consumer.execute("SELECT run_id, version FROM ports.mesh_pins ORDER BY run_id").fetchall()
        assert recorded == [("run-a", 1), ("run-b", 2)]


def test_a_domain_that_consumes_nothing_pins_nothing(data_dir: Path) -> None:
    alone = DomainSpec(
        name="hr", owner="team:hr", description="", dbt_project=Path("."), feeds=(), products=()
    )
    with duckdb.connect() as con:
        assert pin(con, alone, "run-a") == {}
        assert con.execute(
            "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'ports'"
        ).fetchall() == [(0,)]
