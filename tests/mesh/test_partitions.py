"""Partitions end to end (``mesh backfill``): a month backfilled into a mesh that lacks it gives the
rows the full run gave, and re-running partitions changes nothing, down to the published products."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.mesh.conftest import copy_data, mesh, port

#: (domain, table, partition column or SQL) of every partitioned table the tests compare.
TABLES = (
    ("sales", "landing.web_order_events", None),
    ("sales", "bronze.web_order_events", "_partition"),
    ("sales", "quarantine.web_order_events", "_partition"),
    ("hr", "bronze.timecards", "_partition"),
    ("finance", "gold.general_ledger", "period"),
    ("finance", "gold.trial_balance", "period"),
    ("finance", "gold.income_statement", "period"),
)
PRODUCTS = (("sales", "invoices"), ("finance", "general_ledger"), ("finance", "balance_sheet"))


def _rows(data: Path, domain: str, table: str) -> list[tuple]:
    """The table's rows in a stable order, without the arrival timestamps a re-ingestion renews."""
    with duckdb.connect(str(data / "warehouse" / f"{domain}.duckdb"), read_only=True) as con:
        columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] != "_ingested_at"]
        return con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()


def _state(data: Path) -> dict[str, list[tuple]]:
    return {f"{domain}.{table}": _rows(data, domain, table) for domain, table, _ in TABLES}


def _versions(data: Path) -> dict[str, int]:
    return {f"{d}.{p}": port(data, d, p)["snapshot_id"] for d, p in PRODUCTS}


@pytest.fixture
def copy(clean_mesh: tuple[Path, str], tmp_path: Path) -> Path:
    return copy_data(clean_mesh[0], tmp_path)


def test_the_full_run_covered_the_days_and_months_with_data(clean_mesh: tuple[Path, str]) -> None:
    _, out = clean_mesh
    assert "[sales] running sales__all_assets for partitions 2026-01-01..2026-03-31" in out
    assert "[hr] running hr__all_assets for partitions 2026-01-01..2026-03-31" in out
    assert "[finance] running finance__all_assets for partitions 2026-01-01..2026-03-01" in out


@pytest.mark.long  # two backfills, over two minutes: with the long tests
def test_rerunning_partitions_changes_nothing(copy: Path) -> None:
    before, versions = _state(copy), _versions(copy)
    out = mesh(copy, "backfill", "sales", "2026-01-01", "2026-01-31").stdout
    assert "for partitions 2026-01-01..2026-01-31" in out and "RESULT: all gates passed" in out
    mesh(copy, "backfill", "finance", "2026-02-01", "2026-03-01")
    assert _state(copy) == before  # no row duplicated, none lost
    assert _versions(copy) == versions  # the same data publishes no new version


def test_a_month_backfill_matches_the_full_run(copy: Path) -> None:
    full = _state(copy)
    january = "'2026-01-01' <= {col} AND {col} < '2026-02-01'"
    with duckdb.connect(str(copy / "warehouse" / "sales.duckdb")) as con:  # as if January never arrived
        con.execute(
            "DELETE FROM landing._files WHERE feed = 'web_order_events' AND source_file LIKE '%2026-01-%'"
        )
        con.execute("DELETE FROM landing.web_order_events WHERE _source_file LIKE '%2026-01-%'")
        for table in ("bronze", "quarantine"):
            con.execute(f"DELETE FROM {table}.web_order_events WHERE {january.format(col='_partition')}")
    with duckdb.connect(str(copy / "warehouse" / "finance.duckdb")) as con:  # nor its close
        for domain, table, column in TABLES:
            if domain == "finance":
                con.execute(f"DELETE FROM {table} WHERE {january.format(col=column)}")
    assert _state(copy) != full

    mesh(copy, "backfill", "sales", "2026-01-01", "2026-01-31")
    mesh(copy, "backfill", "finance", "2026-01-01")
    assert _state(copy) == full
