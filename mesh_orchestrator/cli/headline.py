"""The mesh's headline: the company balance sheet as finance last published it.

Read from the ``finance.balance_sheet`` output port, like any consumer would, so the figures are the
published (audited) ones and no domain database is opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import duckdb

from mesh_orchestrator.ports.tables import current_version, parquet_relation, version_paths

PROVIDER = ("finance", "balance_sheet")


@dataclass(frozen=True)
class BalanceSheetHeadline:
    as_of_date: date
    assets: Decimal
    liabilities: Decimal
    equity: Decimal
    version: int

    @property
    def difference(self) -> Decimal:
        return self.assets - (self.liabilities + self.equity)

    @property
    def balances(self) -> bool:
        return self.difference == 0

    def __str__(self) -> str:
        verdict = "balances" if self.balances else f"DOES NOT BALANCE (difference {self.difference:,.2f})"
        return (
            f"Balance sheet at {self.as_of_date} (finance.balance_sheet v{self.version}): "
            f"total assets {self.assets:,.2f} EUR = liabilities {self.liabilities:,.2f} + "
            f"equity {self.equity:,.2f}: {verdict}"
        )


def balance_sheet_headline() -> BalanceSheetHeadline | None:
    """The company totals of the current published balance sheet, or None if none is published."""
    published = current_version(*PROVIDER)
    if published is None:
        return None
    paths = version_paths(published)
    if not paths:
        return None
    rows = (
        duckdb.connect()
        .execute(
            "SELECT max(as_of_date), "
            "coalesce(sum(balance) FILTER (WHERE section = 'assets'), 0), "
            "coalesce(sum(balance) FILTER (WHERE section = 'liabilities'), 0), "
            "coalesce(sum(balance) FILTER (WHERE section = 'equity'), 0) "
            f"FROM {parquet_relation(paths)} WHERE scope = 'company'"
        )
        .fetchall()
    )
    as_of, assets, liabilities, equity = rows[0]
    if as_of is None:
        return None
    return BalanceSheetHeadline(
        as_of, Decimal(assets), Decimal(liabilities), Decimal(equity), published.version
    )
