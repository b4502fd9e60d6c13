"""Issue 11, item 7: a publish killed before its commit is undone by the next publish of the product."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mesh_orchestrator.ports import current_path, current_version, publish, stage_path


def _stage(values: list[int], run_id: str) -> Path:
    path = stage_path("shop", "items", run_id)
    pq.write_table(pa.table({"n": values}), path)
    return path


def _port(data_dir: Path) -> Path:
    return data_dir / "products" / "shop" / "items"


def _assert_consistent(data_dir: Path, version: int, values: list[int]) -> None:
    port = _port(data_dir)
    names = sorted(p.name for p in (port / "versions").iterdir())
    assert names == [f"{v:06d}.parquet" for v in range(1, version + 1)]
    assert sorted(p.name for p in port.iterdir()) == ["current.parquet", "versions"]
    current = current_version("shop", "items")
    assert current is not None and current.version == version
    assert current_path("shop", "items").samefile(current.path)
    assert pq.read_table(current.path).column("n").to_pylist() == values


def test_version_written_but_never_current_is_published_once(data_dir: Path) -> None:
    """Killed after ``versions/000001`` was renamed, before ``current`` existed: the rerun's
    publish is version 1 again, not version 2 beside an orphan."""
    versions = _port(data_dir) / "versions"
    versions.mkdir(parents=True)
    pq.write_table(pa.table({"n": [1, 2]}), versions / "000001.parquet")
    published = publish("shop", "items", _stage([1, 2], "rerun"), "1.0.0")
    assert published.version == 1
    _assert_consistent(data_dir, 1, [1, 2])


def test_leftovers_of_a_killed_publish_are_removed(data_dir: Path) -> None:
    """Killed while writing, between the rename and the swap, between the link and the swap:
    the next publish numbers its version after ``current`` and leaves nothing else."""
    publish("shop", "items", _stage([1], "first"), "1.0.0")
    port = _port(data_dir)
    pq.write_table(pa.table({"n": [9]}), port / "versions" / "000002.parquet")  # never current
    (port / "versions" / ".000003.parquet.tmp").write_bytes(b"PAR1 half")
    shutil.copyfile(port / "versions" / "000002.parquet", port / ".current.parquet.2.tmp")
    assert current_version("shop", "items").version == 1  # type: ignore[union-attr]
    published = publish("shop", "items", _stage([1, 2, 3], "rerun"), "1.0.0")
    assert published.version == 2
    _assert_consistent(data_dir, 2, [1, 2, 3])


def test_unchanged_batch_after_a_kill_past_the_commit_publishes_nothing(data_dir: Path) -> None:
    """Killed after ``current`` was swapped (before Dagster recorded it): the rerun's identical
    batch is the current version, not a second copy of it."""
    publish("shop", "items", _stage([1, 2], "killed"), "1.0.0")
    again = publish("shop", "items", _stage([1, 2], "rerun"), "1.0.0")
    assert again.version == 1
    _assert_consistent(data_dir, 1, [1, 2])
