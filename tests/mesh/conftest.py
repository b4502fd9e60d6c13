"""End-to-end helpers: the ``mesh`` CLI run as a real subprocess against a temporary data folder."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from mesh_orchestrator.core.paths import REPO_ROOT


def mesh(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``mesh <args>`` with ``MESH_DATA_DIR=data_dir``; output captured as text."""
    env = {**os.environ, "MESH_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(data_dir / "dagster_home")}
    result = subprocess.run(
        [sys.executable, "-m", "mesh_orchestrator.cli.main", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"mesh {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def port(data_dir: Path, domain: str, product: str, *flags: str) -> dict[str, Any]:
    """``mesh port <domain> <product> --json``: table, snapshot, version, rows, files."""
    return dict(json.loads(mesh(data_dir, "port", domain, product, "--json", *flags).stdout))


def published_version(data_dir: Path, domain: str, product: str) -> int:
    """The version on ``main`` of a product in ``data_dir``'s embedded catalog, read in this process.

    For polling: ``port`` starts a Python process (about a second of CPU), taken from the runs
    under test.
    """
    from pyiceberg.catalog.sql import SqlCatalog

    from mesh_orchestrator.ports.tables import require_current

    catalog = SqlCatalog(
        "mesh", uri=f"sqlite:///{data_dir / 'catalog.db'}", warehouse=(data_dir / "products").as_uri()
    )
    try:
        return require_current(domain, product, catalog).version
    finally:
        catalog.engine.dispose()


def port_sql(data_dir: Path, domain: str, product: str, *flags: str) -> str:
    """``mesh port <domain> <product> --sql``: a DuckDB table expression over the version's files."""
    return mesh(data_dir, "port", domain, product, "--sql", *flags).stdout.strip()


@pytest.fixture(scope="session")
def clean_mesh(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> tuple[Path, str]:
    """Sample data (seed 7) after one whole ``mesh run``: the folder and the run's output.

    Built once per test session and shared by the pytest-xdist workers: the first to need it builds
    it under a lock, the others wait for it (each used to build its own, ~100 s of CPU apiece). It
    is read-only: a test that changes data, or runs anything, works on ``copy_data`` of it.
    """
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        root = root.parent  # the folder all workers' temporary folders share
    folder = root / "clean-mesh"
    folder.mkdir(exist_ok=True)
    data, output = folder / "data", folder / "run-output.txt"
    with (folder / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not output.exists():
            shutil.rmtree(data, ignore_errors=True)
            mesh(data, "generate", "--scale", "1", "--seed", "7")
            output.write_text(mesh(data, "run").stdout, encoding="utf-8")
    return data, output.read_text(encoding="utf-8")


def copy_data(data: Path, tmp_path: Path) -> Path:
    """A copy of a data folder whose Iceberg tables write into the copy.

    Iceberg records absolute locations, so the copied catalog is re-pointed: each table gets a new
    metadata file whose ``location`` is in the copy. Its existing snapshots still name the original's
    data files, which are immutable and only read.
    """
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    _repoint_catalog(data, copy)
    return copy


def _repoint_catalog(original: Path, copy: Path) -> None:
    catalog = copy / "catalog.db"
    if not catalog.exists():
        return
    with sqlite3.connect(catalog) as db:
        tables = db.execute(
            "SELECT table_namespace, table_name, metadata_location FROM iceberg_tables"
        ).fetchall()
        for namespace, name, location in tables:
            source = copy / Path(unquote(urlsplit(location).path)).relative_to(original)
            metadata = json.loads(source.read_text(encoding="utf-8"))
            metadata["location"] = metadata["location"].replace(original.as_uri(), copy.as_uri(), 1)
            version = int(source.name.split("-", 1)[0]) + 1
            target = source.with_name(f"{version:05d}-{uuid.uuid4()}.metadata.json")
            target.write_text(json.dumps(metadata), encoding="utf-8")
            db.execute(
                "UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ? "
                "WHERE table_namespace = ? AND table_name = ?",
                [target.as_uri(), location, namespace, name],
            )
