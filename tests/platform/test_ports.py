"""Output ports are Iceberg tables: staged on a branch, published by fast-forwarding ``main``, versioned
by snapshot, read at a snapshot by DuckDB and by pyiceberg alike."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from pyiceberg.catalog import load_catalog

from mesh_orchestrator.core.contracts import Contract, parse_contract
from mesh_orchestrator.core.errors import (
    CatalogError,
    LegacyPortsError,
    PortNotPublishedError,
    ProductSchemaError,
    PublishConflictError,
    VersionNotFoundError,
)
from mesh_orchestrator.ports.catalog import catalog_properties, public_properties
from mesh_orchestrator.ports.tables import (
    STAGING,
    current_version,
    expire,
    load_port,
    parquet_relation,
    publish,
    published_versions,
    require_current,
    select_version,
    snapshot_files,
    stage,
    staged_snapshot,
    sweep_orphans,
    version_paths,
)
from tests.shop import items_contract

CONTRACT = items_contract(
    [
        {"name": "sku", "type": "VARCHAR", "required": True},
        {"name": "price", "type": "DECIMAL(18,2)", "required": True},
        {"name": "listed_on", "type": "DATE"},
        {"name": "changed_at", "type": "TIMESTAMPTZ"},
    ],
    "sku",
)


def _contract(data_dir: Path, **changes: object) -> Contract:
    return parse_contract({**CONTRACT, **changes}, data_dir / "items.yaml")


def _gold(con: duckdb.DuckDBPyConnection, rows: int, price: str = "1.50") -> str:
    con.execute(
        "CREATE OR REPLACE TABLE gold_items AS SELECT 'SKU-' || lpad(i::VARCHAR, 6, '0') AS sku, "
        f"{price}::DECIMAL(18,2) AS price, DATE '2026-01-01' + i::INTEGER AS listed_on, "
        "TIMESTAMPTZ '2026-01-01 12:00:00+01' + to_seconds(i) AS changed_at FROM range(?) t(i)",
        [rows],
    )
    return "gold_items"


def _stage_and_publish(contract: Contract, con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    staged = stage(contract, con, "gold_items", run_id)
    version, _moved = publish(load_port("shop", "items"), staged.snapshot_id)
    return version.version


def test_embedded_catalog_is_sqlite_in_the_data_folder(data_dir: Path) -> None:
    properties = catalog_properties()
    assert properties == {
        "type": "sql",
        "uri": f"sqlite:///{data_dir / 'catalog.db'}",
        "warehouse": (data_dir / "products").as_uri(),
    }


def test_catalog_is_configured_the_pyiceberg_way(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYICEBERG_CATALOG__MESH__TYPE", "sql")
    monkeypatch.setenv("PYICEBERG_CATALOG__MESH__URI", "postgresql+psycopg2://mesh:hunter2@db:5432/mesh")
    monkeypatch.setenv("PYICEBERG_CATALOG__MESH__WAREHOUSE", "s3://products/")
    monkeypatch.setenv("PYICEBERG_CATALOG__MESH__S3__SECRET_ACCESS_KEY", "very-secret")
    properties = catalog_properties()
    assert properties["warehouse"] == "s3://products/" and properties["s3.secret-access-key"] == "very-secret"
    shown = public_properties(properties)
    assert shown["uri"] == "postgresql+psycopg2://mesh:***@db:5432/mesh"
    assert "s3.secret-access-key" not in shown and "hunter2" not in str(shown)


def test_versions_are_snapshots_published_by_fast_forward(data_dir: Path) -> None:
    contract = _contract(data_dir)
    assert current_version("shop", "items") is None
    with pytest.raises(PortNotPublishedError, match="mesh run"):
        require_current("shop", "items")
    with duckdb.connect() as con:
        _gold(con, 3)
        staged = stage(contract, con, "gold_items", "run-1", {"shop.other": {"version": 4, "snapshot_id": 9}})
        assert current_version("shop", "items") is None, "staging never touches main"
        table = load_port("shop", "items")
        assert staged_snapshot(table).snapshot_id == staged.snapshot_id  # type: ignore[union-attr]
        first, moved = publish(table, staged.snapshot_id)
        assert moved and (first.version, first.rows, first.contract_version, first.run_id) == (
            1,
            3,
            "1.0.0",
            "run-1",
        )
        assert first.inputs == {"shop.other": {"version": 4, "snapshot_id": 9}}
        _gold(con, 5)
        assert _stage_and_publish(contract, con, "run-2") == 2
    now = require_current("shop", "items")
    assert (now.version, now.rows, now.snapshot_id) == (
        2,
        5,
        load_port("shop", "items").current_snapshot().snapshot_id,
    )  # type: ignore[union-attr]
    assert [v.version for v in published_versions(load_port("shop", "items"))] == [1, 2]


def test_iceberg_types_follow_the_contract(data_dir: Path) -> None:
    with duckdb.connect() as con:
        _gold(con, 2)
        _stage_and_publish(_contract(data_dir), con, "run-1")
    types = {f.name: str(f.field_type) for f in load_port("shop", "items").schema().fields}
    assert types == {
        "sku": "string",
        "price": "decimal(18, 2)",
        "listed_on": "date",
        "changed_at": "timestamptz",
    }


def test_an_unchanged_batch_adds_no_snapshot(data_dir: Path) -> None:
    contract = _contract(data_dir)
    with duckdb.connect() as con:
        _gold(con, 3)
        _stage_and_publish(contract, con, "run-1")
        before = len(load_port("shop", "items").snapshots())
        again = stage(contract, con, "gold_items", "run-2")
        assert again.unchanged and again.version == 1
        version, moved = publish(load_port("shop", "items"), again.snapshot_id)
        assert not moved and version.version == 1
        assert len(load_port("shop", "items").snapshots()) == before
        newer = _contract(data_dir, version="1.1.0")
        assert _stage_and_publish(newer, con, "run-3") == 2, "a new contract version publishes"


def test_a_batch_staged_twice_is_one_snapshot(data_dir: Path) -> None:
    """A write killed before its hand-off, then re-run, stages the same snapshot: published once."""
    contract = _contract(data_dir)
    with duckdb.connect() as con:
        _gold(con, 3)
        first = stage(contract, con, "gold_items", "run-1")
        second = stage(contract, con, "gold_items", "run-2")
    assert second.snapshot_id == first.snapshot_id
    publish(load_port("shop", "items"), second.snapshot_id)
    assert [v.version for v in published_versions(load_port("shop", "items"))] == [1]


def test_main_that_moved_is_not_overwritten(data_dir: Path) -> None:
    contract = _contract(data_dir)
    with duckdb.connect() as con:
        _gold(con, 3)
        old = stage(contract, con, "gold_items", "run-1")
        table = load_port("shop", "items")
        table.manage_snapshots().create_branch(old.snapshot_id, "keep").commit()
        _gold(con, 4)
        _stage_and_publish(contract, con, "run-2")
    with pytest.raises(PublishConflictError, match="main moved"):
        publish(load_port("shop", "items"), old.snapshot_id)
    assert require_current("shop", "items").rows == 4


def test_time_travel_by_version_and_time(data_dir: Path) -> None:
    contract = _contract(data_dir)
    with duckdb.connect() as con:
        _gold(con, 3)
        _stage_and_publish(contract, con, "run-1")
        between = datetime.now(UTC)
        _gold(con, 7)
        _stage_and_publish(contract, con, "run-2")
    assert select_version("shop", "items", version=1).rows == 3
    assert select_version("shop", "items").rows == 7
    first = published_versions(load_port("shop", "items"))[0]
    assert select_version("shop", "items", as_of=datetime.fromisoformat(first.published_at)).version == 1
    assert select_version("shop", "items", as_of=between + timedelta(days=1)).version == 2
    with pytest.raises(VersionNotFoundError, match="no version 9"):
        select_version("shop", "items", version=9)
    with pytest.raises(VersionNotFoundError, match="no published version at"):
        select_version("shop", "items", as_of=datetime(2020, 1, 1, tzinfo=UTC))


def test_duckdb_and_pyiceberg_read_the_same_rows(data_dir: Path) -> None:
    with duckdb.connect() as con:
        _gold(con, 1000)
        _stage_and_publish(_contract(data_dir), con, "run-1")
    version = require_current("shop", "items")
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        by_duckdb = con.sql(
            f"SELECT * FROM {parquet_relation(version_paths(version))} ORDER BY sku"
        ).fetchall()
    table = load_catalog("mesh", **catalog_properties()).load_table("shop.items")
    frame = table.scan(snapshot_id=version.snapshot_id).to_pandas().sort_values("sku")
    by_pyiceberg = [tuple(row) for row in frame.itertuples(index=False)]
    assert len(by_duckdb) == len(by_pyiceberg) == 1000
    assert [r[:3] for r in by_duckdb] == [(s, p, d) for s, p, d, _ in by_pyiceberg]
    assert [r[3] for r in by_duckdb] == [t.to_pydatetime() for *_, t in by_pyiceberg]


def test_compatible_change_evolves_the_schema_and_breaking_needs_a_major(data_dir: Path) -> None:
    contract = _contract(data_dir)
    with duckdb.connect() as con:
        _gold(con, 2)
        _stage_and_publish(contract, con, "run-1")
        wider = [*CONTRACT["schema"], {"name": "note", "type": "VARCHAR"}]  # type: ignore[list-item]
        con.execute("CREATE OR REPLACE TABLE gold_items AS SELECT *, 'n' AS note FROM gold_items")
        _stage_and_publish(_contract(data_dir, version="1.1.0", schema=wider), con, "run-2")
        assert [f.name for f in load_port("shop", "items").schema().fields][-1] == "note"
        narrower = [c for c in wider if c["name"] != "listed_on"]  # type: ignore[index]
        con.execute("CREATE OR REPLACE TABLE gold_items AS SELECT * EXCLUDE (listed_on) FROM gold_items")
        with pytest.raises(CatalogError, match="without a new major version"):
            stage(_contract(data_dir, version="1.2.0", schema=narrower), con, "gold_items", "run-3")
        assert _stage_and_publish(_contract(data_dir, version="2.0.0", schema=narrower), con, "run-4") == 3
    assert [f.name for f in load_port("shop", "items").schema().fields] == [
        "sku",
        "price",
        "changed_at",
        "note",
    ]
    assert select_version("shop", "items", version=1).rows == 2, "old versions keep their schema"


def test_a_gold_table_unlike_its_contract_is_not_staged(data_dir: Path) -> None:
    with duckdb.connect() as con:
        con.execute("CREATE TABLE gold_items AS SELECT 'A' AS sku, 1.5::DOUBLE AS price, 1 AS extra")
        with pytest.raises(ProductSchemaError) as error:
            stage(_contract(data_dir), con, "gold_items", "run-1")
    message = str(error.value)
    assert "missing column listed_on DATE" in message and "column extra is not in the contract" in message
    assert "column price is DOUBLE, the contract says DECIMAL(18,2)" in message


def test_retention_expires_superseded_versions_with_their_files(data_dir: Path) -> None:
    contract = _contract(data_dir)
    with duckdb.connect() as con:
        for run, rows in enumerate((3, 4, 5)):
            _gold(con, rows)
            _stage_and_publish(contract, con, f"run-{run}")
    table = load_port("shop", "items")
    old_files = [p for v in published_versions(table)[:2] for p in version_paths(v)]
    assert expire(table, timedelta(days=400)) == [], "nothing is that old"
    expired = expire(table, timedelta(days=1), now=datetime.now(UTC) + timedelta(days=2))
    assert expired
    table = load_port("shop", "items")
    assert [v.version for v in published_versions(table)] == [3]
    assert not any(Path(p).exists() for p in old_files), "expired versions' data files are deleted"
    assert all(Path(p).exists() for p in version_paths(require_current("shop", "items")))
    assert STAGING in table.refs()
    assert len(snapshot_files(table, table.current_snapshot().snapshot_id)) == 1  # type: ignore[union-attr]


def test_files_of_a_write_killed_before_its_commit_are_swept(data_dir: Path) -> None:
    import os
    import shutil

    contract = _contract(data_dir)
    with duckdb.connect() as con:
        _gold(con, 3)
        _stage_and_publish(contract, con, "run-1")
    table = load_port("shop", "items")
    live = version_paths(require_current("shop", "items"))
    folder = Path(live[0]).parent
    killed, writing = folder / "00000-0-killed.parquet", folder / "00000-0-writing.parquet"
    for orphan in (killed, writing):  # what a provider killed mid-write leaves: no commit names them
        shutil.copyfile(live[0], orphan)
    day_ago = (datetime.now(UTC) - timedelta(days=1)).timestamp()
    os.utime(killed, (day_ago, day_ago))
    assert sweep_orphans(table) == [f"file://{killed}"]
    assert not killed.exists() and writing.exists(), (
        "a file younger than the grace may be a write in progress"
    )
    assert all(Path(p).exists() for p in live), "referenced files stay"
    assert sweep_orphans(table, now=datetime.now(UTC) + timedelta(days=1)) == [f"file://{writing}"]


def test_ports_of_the_old_layout_get_a_clear_message(data_dir: Path) -> None:
    old = data_dir / "products" / "sales" / "invoices"
    (old / "versions").mkdir(parents=True)
    (old / "current.parquet").write_bytes(b"PAR1")
    with pytest.raises(LegacyPortsError, match="layout before Iceberg") as error:
        current_version("sales", "invoices")
    assert "mesh run" in str(error.value) and str(old) in str(error.value)


def test_mesh_run_stops_on_a_data_folder_of_the_old_layout(data_dir: Path) -> None:
    import os
    import subprocess
    import sys

    (data_dir / "products" / "hr" / "rewards").mkdir(parents=True)
    (data_dir / "products" / "hr" / "rewards" / "current.parquet").write_bytes(b"PAR1")
    env = {**os.environ, "MESH_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(data_dir / "home")}
    done = subprocess.run(
        [sys.executable, "-m", "mesh_orchestrator.cli.main", "run"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and "layout before Iceberg" in done.stderr, done.stderr
    assert "then run `mesh run`" in done.stderr
    assert not (data_dir / "catalog.db").exists(), "nothing was written beside the old ports"


def test_mesh_port_travels_in_time(data_dir: Path) -> None:
    """``mesh port hr rewards`` with ``--version`` and ``--as-of``, on two published versions."""
    import json
    import os
    import subprocess
    import sys

    from mesh_orchestrator.core.contracts import load_contract

    contract = load_contract("hr", "rewards")
    values = {"VARCHAR": "'x' || i", "DATE": "DATE '2026-01-01' + i::INTEGER", "INTEGER": "i::INTEGER"}
    columns = ", ".join(f"{values.get(c.type, f'i::{c.type}')} AS {c.name}" for c in contract.columns)
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE gold_rewards AS SELECT {columns} FROM range(3) t(i)")
        staged = stage(contract, con, "gold_rewards", "run-1")
        publish(load_port("hr", "rewards"), staged.snapshot_id)
        between = datetime.now(UTC)
        con.execute(f"INSERT INTO gold_rewards SELECT {columns} FROM range(3, 5) t(i)")
        staged = stage(contract, con, "gold_rewards", "run-2")
        publish(load_port("hr", "rewards"), staged.snapshot_id)
    env = {**os.environ, "MESH_DATA_DIR": str(data_dir)}

    def port(*flags: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mesh_orchestrator.cli.main", "port", "hr", "rewards", *flags]
        return subprocess.run(command, env=env, capture_output=True, text=True)

    first = json.loads(port("--version", "1", "--json").stdout)
    assert (first["version"], first["rows"], first["run_id"]) == (1, 3, "run-1")
    assert json.loads(port("--as-of", between.isoformat(), "--json").stdout)["version"] == 1
    current = port()
    assert "version    2 = snapshot" in current.stdout and "5 rows" in current.stdout
    missing = port("--version", "3")
    assert missing.returncode == 2 and "hr.rewards has no version 3 (versions kept: 1, 2" in missing.stderr
