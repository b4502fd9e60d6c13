"""Publishing is versioned and atomic; readers of ``current`` see whole versions only."""

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mesh_orchestrator.errors import PortNotPublishedError
from mesh_orchestrator.ports import (
    current_path,
    current_version,
    publish,
    require_current,
    same_data,
    stage_path,
)


def _stage(rows: int, run_id: str) -> Path:
    path = stage_path("shop", "items", run_id)
    pq.write_table(pa.table({"n": list(range(rows))}), path)
    return path


def test_versions_increase_and_current_moves(data_dir: Path) -> None:
    assert current_version("shop", "items") is None
    with pytest.raises(PortNotPublishedError, match="mesh run"):
        require_current("shop", "items")
    first = publish("shop", "items", _stage(3, "r1"), "1.0.0")
    second = publish("shop", "items", _stage(5, "r2"), "1.1.0")
    assert (first.version, second.version) == (1, 2)
    now = require_current("shop", "items")
    assert (now.version, now.rows, now.contract_version) == (2, 5, "1.1.0")
    assert first.path.exists() and pq.read_table(first.path).num_rows == 3
    count = duckdb.sql(f"SELECT count(*) FROM '{current_path('shop', 'items')}'").fetchall()
    assert count == [(5,)]
    assert str(now.path).startswith(str(data_dir))


def test_identical_batch_publishes_no_new_version(data_dir: Path) -> None:
    first = publish("shop", "items", _stage(3, "r1"), "1.0.0")
    again = publish("shop", "items", _stage(3, "r2"), "1.0.0")
    assert again == first
    assert len(list((data_dir / "products" / "shop" / "items" / "versions").glob("*.parquet"))) == 1
    assert publish("shop", "items", _stage(3, "r3"), "1.1.0").version == 2, "a new contract version publishes"


def test_same_data_ignores_layout_and_metadata_but_not_values(tmp_path: Path) -> None:
    table = pa.table({"sku": [f"SKU-{i:03d}" for i in range(100)], "qty": list(range(100))})
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=7)
    pq.write_table(table.replace_schema_metadata({"x": "y"}), tmp_path / "b.parquet", row_group_size=50)
    assert same_data(tmp_path / "a.parquet", tmp_path / "b.parquet")
    changed = table.set_column(1, "qty", pa.array([*range(99), 1000]))
    pq.write_table(changed, tmp_path / "c.parquet")
    assert not same_data(tmp_path / "a.parquet", tmp_path / "c.parquet")
    pq.write_table(table.slice(0, 99), tmp_path / "d.parquet")
    assert not same_data(tmp_path / "a.parquet", tmp_path / "d.parquet")
