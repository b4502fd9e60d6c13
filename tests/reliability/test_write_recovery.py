"""A write of write-audit-publish cut short leaves ``main`` as it was, and the next write publishes once."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from mesh_orchestrator.core.contracts import parse_contract
from mesh_orchestrator.ports import tables as ports
from mesh_orchestrator.ports.tables import current_version, load_port, publish, published_versions, stage
from tests.shop import NUMBERED, items_contract

CONTRACT = items_contract(NUMBERED, "n")


def test_a_write_that_fails_midway_commits_nothing_and_the_rerun_publishes_once(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract = parse_contract(CONTRACT, data_dir / "items.yaml")
    monkeypatch.setattr(ports, "WRITE_BATCH_ROWS", 1000)  # several batches, so some are written first
    with duckdb.connect() as con:
        con.execute("CREATE TABLE good AS SELECT range AS n FROM range(5000)")
        first = stage(contract, con, "good", "first")
        publish(load_port("shop", "items"), first.snapshot_id)
        before = current_version("shop", "items")
        con.execute(
            "CREATE VIEW failing AS SELECT CASE WHEN n = 4500 THEN error('killed mid-write') "
            "ELSE n + 1 END AS n FROM good"
        )
        with pytest.raises(duckdb.Error, match="killed mid-write"):
            stage(contract, con, "failing", "killed-run")
        assert current_version("shop", "items") == before, "main did not move"
        con.execute("CREATE TABLE rerun AS SELECT n + 1 AS n FROM good")
        staged = stage(contract, con, "rerun", "rerun")
    published, moved = publish(load_port("shop", "items"), staged.snapshot_id)
    assert moved and (published.version, published.rows, published.run_id) == (2, 5000, "rerun")
    assert [v.version for v in published_versions(load_port("shop", "items"))] == [1, 2]
