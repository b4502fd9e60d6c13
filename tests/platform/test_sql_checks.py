"""Checks declared in SQL in a domain spec: breaches become sentences, none means passed."""

import re
from pathlib import Path

import duckdb
import pytest

from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.paths import warehouse_path
from mesh_orchestrator.core.spec import SqlCheckSpec, load_domain_spec, parse_domain_spec
from mesh_orchestrator.quality.sql_checks import format_breach, run_sql_check

CHECK = SqlCheckSpec(
    name="trial_balance_nets_to_zero",
    layer="gold",
    model="trial_balance",
    query="select period, sum(closing_balance) as difference from gold.trial_balance "
    "group by period having sum(closing_balance) != 0 order by period",
    message="trial balance of period {period} nets to {difference}, not 0.00",
)


def test_breaches_are_reported_per_row(data_dir: Path) -> None:
    path = warehouse_path("finance")
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE SCHEMA gold; CREATE TABLE gold.trial_balance AS SELECT * FROM (VALUES "
            "(DATE '2026-01-01', 100.00::DECIMAL(18,2)), (DATE '2026-01-01', -100.00::DECIMAL(18,2)), "
            "(DATE '2026-02-01', 100.00::DECIMAL(18,2)), (DATE '2026-02-01', -99.99::DECIMAL(18,2))"
            ") t(period, closing_balance)"
        )
    assert run_sql_check("finance", CHECK) == ["trial balance of period 2026-02-01 nets to 0.01, not 0.00"]


def test_a_template_that_does_not_fit_still_reports_the_row() -> None:
    text = format_breach(CHECK, {"period": "2026-01-01"})
    assert "2026-01-01" in text and "does not fit the row" in text


def test_finance_declares_its_balance_and_reconciliation_checks() -> None:
    names = {c.name for c in load_domain_spec("finance").checks}
    assert {"journal_entries_balanced", "trial_balance_nets_to_zero", "balance_sheet_balances"} <= names
    assert {f"reconciled_to_{d}" for d in ("sales", "procurement", "hr", "inventory")} <= names


def test_a_check_must_name_a_silver_or_gold_model() -> None:
    spec = {
        "name": "p",
        "owner": "team:p",
        "dbt_project": "dbt_projects/finance",
        "feeds": {},
        "checks": [{"name": "c", "asset": "landing/x", "query": "select 1", "message": "m"}],
    }
    with pytest.raises(SpecError, match=re.escape("must be '<silver|gold>/<dbt model>'")):
        parse_domain_spec(spec, Path("p.yaml"))


def test_a_journal_posted_from_the_wrong_domain_is_named(data_dir: Path) -> None:
    check = next(
        c for c in load_domain_spec("finance").checks if c.name == "journals_posted_from_their_source"
    )
    path = warehouse_path("finance")
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE SCHEMA gold; CREATE TABLE gold.general_ledger AS SELECT * FROM (VALUES "
            "('sales', 'sales'), ('payroll', 'hr'), ('payroll', 'sales'), ('payroll', 'sales')"
            ") t(journal, source_domain)"
        )
    assert run_sql_check("finance", check) == ["2 line(s) of journal payroll are posted from sales"]
