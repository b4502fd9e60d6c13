"""Sample data from a domain's declared feeds: every clean row lands in bronze, faults are
quarantined with reasons, and what cannot be generated from a declaration says so."""

from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

from mesh_orchestrator.core.partitions import PartitionSpec
from mesh_orchestrator.core.spec import ColumnSpec, DomainSpec, FeedSpec
from mesh_orchestrator.devtools.generate.base import Context
from mesh_orchestrator.devtools.generate.declared import ROWS_PER_SCALE, generate_declared
from mesh_orchestrator.ingestion.bronze import build_bronze, quarantine_reasons
from mesh_orchestrator.ingestion.landing import ingest_feed

COLUMNS = (
    ColumnSpec("visit_id", "VARCHAR", required=True),
    ColumnSpec("kind", "VARCHAR", required=True, allowed=("walk_in", "online")),
    ColumnSpec("visited_on", "DATE", required=True),
    ColumnSpec("visited_at", "TIMESTAMPTZ"),
    ColumnSpec("amount", "DECIMAL(12,2)", required=True),
    ColumnSpec("guests", "INTEGER"),
    ColumnSpec("score", "DOUBLE"),
    ColumnSpec("member", "BOOLEAN"),
    ColumnSpec("email", "VARCHAR", pii=True),
    ColumnSpec("note", "VARCHAR"),
)


def _spec(fmt: str) -> DomainSpec:
    feed = FeedSpec(name="visits", format=fmt, key=("visit_id",), columns=COLUMNS)
    return DomainSpec("clinic", "team:clinic", "", Path("."), (feed,), ())


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_generated_row_reaches_bronze(fmt: str, tmp_path: Path) -> None:
    spec = _spec(fmt)
    (report,) = generate_declared(Context(tmp_path, scale=2, seed=7), spec)
    assert (report.files, report.rows) == (1, 2 * ROWS_PER_SCALE)
    con = duckdb.connect()
    ingest_feed(con, spec.feeds[0], tmp_path / "landing" / "clinic" / "visits")
    rec = build_bronze(con, spec.feeds[0])
    assert (rec.landed, rec.bronze, rec.quarantined, rec.duplicates) == (100, 100, 0, 0)
    kinds = {k for (k,) in con.execute("SELECT DISTINCT kind FROM bronze.visits").fetchall()}
    assert kinds <= {"walk_in", "online"}


def test_faults_are_quarantined_and_the_same_seed_writes_the_same_file(tmp_path: Path) -> None:
    spec = _spec("csv")
    first, again = tmp_path / "a", tmp_path / "b"
    (report,) = generate_declared(Context(first, scale=4, seed=1, faults=0.1), spec)
    generate_declared(Context(again, scale=4, seed=1, faults=0.1), spec)
    name = "landing/clinic/visits/visits-0001.csv"
    assert (first / name).read_bytes() == (again / name).read_bytes()
    assert sum(report.faults.values()) > 0
    con = duckdb.connect()
    ingest_feed(con, spec.feeds[0], first / "landing" / "clinic" / "visits")
    rec = build_bronze(con, spec.feeds[0])
    assert rec.holds and rec.quarantined + rec.duplicates > 0
    assert set(quarantine_reasons(con, spec.feeds[0])) <= {
        "unparseable",
        "missing_key",
        "not_allowed",
        "bad_type",
        "duplicate_key",
        "missing_required",
    }


def test_a_feed_it_cannot_generate_is_named_with_what_to_do(tmp_path: Path) -> None:
    spec = _spec("csv")
    daily = replace(spec.feeds[0], partitioned_by=PartitionSpec("day", date(2026, 1, 1)))
    with pytest.raises(
        ValueError, match=r"clinic/visits: .* because it is partitioned by day; add a generator"
    ):
        generate_declared(Context(tmp_path, scale=1, seed=1), replace(spec, feeds=(daily,)))


def test_generate_writes_a_domain_without_a_module_from_its_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mesh_orchestrator.devtools.generate as generator

    monkeypatch.setattr(generator, "discover_domains", lambda: [*generator.GENERATORS, "clinic"])
    monkeypatch.setattr(generator, "load_domain_spec", lambda name: _spec("jsonl"))
    report = generator.generate(tmp_path, scale=1, seed=3, domains=["clinic"])
    assert set(report.feeds) == {("clinic", "visits")}
    assert (tmp_path / "landing" / "clinic" / "visits" / "visits-0001.jsonl").is_file()
    with pytest.raises(
        ValueError, match="the generator knows inventory, hr, procurement, sales, finance, clinic"
    ):
        generator.generate(tmp_path, scale=1, seed=3, domains=["marketing"])
