"""``mesh run`` on sample data with injected faults: every bad record quarantined with a reason,
every feed reconciled, every gate passed (its own file, so the test workers share the load)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from mesh_orchestrator.core.spec import load_all_specs
from tests.mesh.conftest import mesh


def test_faults_are_quarantined_and_reconciled(tmp_path: Path) -> None:
    data = tmp_path / "data"
    mesh(data, "generate", "--scale", "1", "--seed", "11", "--faults", "0.03")
    out = mesh(data, "run").stdout
    assert "RESULT: all gates passed" in out
    reasons: set[str] = set()
    for domain, spec in load_all_specs().items():
        with duckdb.connect(str(data / "warehouse" / f"{domain}.duckdb"), read_only=True) as con:
            for feed in spec.feeds:
                landed, bronze, quarantined = con.execute(
                    f"SELECT (SELECT count(*) FROM landing.{feed.name}), "
                    f"(SELECT count(*) FROM bronze.{feed.name}), "
                    f"(SELECT count(*) FROM quarantine.{feed.name})"
                ).fetchall()[0]
                assert landed == bronze + quarantined, f"{domain}.{feed.name} lost rows"
                reasons |= {
                    r
                    for (r,) in con.execute(
                        f"SELECT DISTINCT split_part(reason, ':', 1) FROM quarantine.{feed.name}"
                    ).fetchall()
                }
    assert {"duplicate_key", "unparseable", "bad_type", "missing_key"} <= reasons
    with duckdb.connect(str(data / "warehouse" / "sales.duckdb"), read_only=True) as con:
        unknown = con.execute("SELECT count(*) FROM silver.quarantine_unknown_skus").fetchall()[0][0]
    assert unknown > 0
