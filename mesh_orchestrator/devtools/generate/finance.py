"""Finance: the chart of accounts, fiscal periods, exchange rates, opening balances and manual
journals that finance keeps itself (the ledger postings come from the other domains' products).

Figures that depend on the other domains come from their deterministic plans, never from their
files, so finance can be generated alone: the opening inventory is the cost value of inventory's
opening stock, the opening cash covers the quarter's payroll, rewards, supplier payments and rent
with room to spare, and office rent is allocated to the departments by hr's headcount.

Opening balances and manual journals are double entry within every department: each
department's lines net to 0.00, and amounts that cross departments go through account 1900
(inter-department clearing), which nets to 0.00 for the company.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from mesh_orchestrator.devtools.generate import formats as fmt
from mesh_orchestrator.devtools.generate import hr, procurement
from mesh_orchestrator.devtools.generate.base import Context, rng_for
from mesh_orchestrator.devtools.generate.faults import FaultPlan
from mesh_orchestrator.devtools.generate.inventory import WAREHOUSES, opening_stock_cents
from mesh_orchestrator.devtools.generate.report import FeedReport
from mesh_orchestrator.devtools.generate.writers import FeedWriter, csv_text, write_reference_table

DOMAIN = "finance"
FIRST_DAY = fmt.START // fmt.DAY  # 2026-01-01
MONTH_DAYS = (FIRST_DAY, FIRST_DAY + 31, FIRST_DAY + 59, FIRST_DAY + 90)
MONTH_NAMES = ("January", "February", "March")

#: (account_id, account_name, account_type, statement_line)
ACCOUNTS = (
    ("1000", "Cash at bank", "asset", "Cash and cash equivalents"),
    ("1100", "Trade receivables", "asset", "Trade receivables"),
    ("1200", "Inventory", "asset", "Inventories"),
    ("1900", "Inter-department clearing", "asset", "Inter-department clearing"),
    ("2000", "Trade payables", "liability", "Trade payables"),
    ("2300", "Accrued payroll", "liability", "Employee liabilities"),
    ("2310", "Payroll taxes payable", "liability", "Employee liabilities"),
    ("2400", "Other accrued liabilities", "liability", "Other liabilities"),
    ("3000", "Share capital", "equity", "Share capital"),
    ("3100", "Retained earnings", "equity", "Retained earnings"),
    ("3900", "Profit for the period", "equity", "Profit for the period"),
    ("4000", "Revenue", "revenue", "Revenue"),
    ("5000", "Cost of goods sold", "expense", "Cost of sales"),
    ("5100", "Inventory adjustments", "expense", "Cost of sales"),
    ("6000", "Salaries and wages", "expense", "Personnel expenses"),
    ("6010", "Employer social contributions", "expense", "Personnel expenses"),
    ("6100", "Rewards and recognition", "expense", "Personnel expenses"),
    ("6200", "Rent and facilities", "expense", "Other operating expenses"),
    ("7100", "Foreign exchange result", "expense", "Financial result"),
)
#: Units of EUR per unit of currency, around which the monthly averages move.
RATES = (("EUR", 1.0), ("USD", 1 / 1.08), ("GBP", 1 / 0.85), ("SEK", 1 / 11.5))
CASH, INVENTORY, CLEARING, ACCRUED, CAPITAL, RETAINED, RENT = (
    "1000",
    "1200",
    "1900",
    "2400",
    "3000",
    "3100",
    "6200",
)
FINANCE, OPERATIONS, SALES, TECHNOLOGY = "DEP-FIN", "DEP-OPS", "DEP-SAL", "DEP-IT"
#: Monthly rent of each warehouse in EUR at scale 1 (grows with the square root of the scale).
WAREHOUSE_RENT = (6_500, 4_800, 4_200, 5_400)
OFFICE_COST_PER_HEAD = 520  # EUR per employee and month: office rent, service charges, cleaning
CRM_HOSTING = 4_800  # EUR, recharged by Technology to Sales in March

ACCOUNT_COLUMNS = ("account_id", "account_name", "account_type", "statement_line")
PERIOD_COLUMNS = ("period", "period_end", "status")
RATE_COLUMNS = ("currency", "rate_month", "eur_per_unit")
BALANCE_COLUMNS = ("account_id", "department_id", "balance_date", "balance")
JOURNAL_COLUMNS = (
    "journal_id",
    "line_number",
    "entry_date",
    "account_id",
    "department_id",
    "debit",
    "credit",
    "description",
)


@dataclass(frozen=True)
class JournalLine:
    journal: int  # 1-based journal number
    day: int  # days since 1970
    account: str
    department: str
    cents: int  # debit positive, credit negative
    description: str


def generate_finance(ctx: Context) -> list[FeedReport]:
    journals = manual_journals(ctx.seed, ctx.scale)
    return [
        _chart_of_accounts(ctx),
        _fiscal_periods(ctx),
        _exchange_rates(ctx),
        _opening_balances(ctx, journals),
        _manual_journals(ctx, journals),
    ]


def _only_duplicates(key: tuple[str, ...]) -> FaultPlan:
    """Finance's own reference files are clean, but may be sent twice."""
    return FaultPlan("csv", key, only_duplicates=True, max_faults=1)


def _zeros(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.int64)


def _chart_of_accounts(ctx: Context) -> FeedReport:
    return write_reference_table(ctx, DOMAIN, "chart_of_accounts", ACCOUNT_COLUMNS, ("account_id",), ACCOUNTS)


def _fiscal_periods(ctx: Context) -> FeedReport:
    writer = FeedWriter(ctx, DOMAIN, "fiscal_periods", PERIOD_COLUMNS, _only_duplicates(("period",)))
    columns = [
        fmt.dates_as(np.array(MONTH_DAYS[:3]), "%Y-%m-%d"),
        fmt.dates_as(np.array(MONTH_DAYS[1:]) - 1, "%Y-%m-%d"),
        pa.array(["closed", "closed", "open"]),
    ]
    writer.write(columns, _zeros(3), ["fiscal_periods.csv"])
    return writer.finish()


def exchange_rates(seed: int) -> np.ndarray:
    """Monthly average rates in millionths of a EUR per unit: one row per currency of RATES."""
    rng = rng_for(seed, DOMAIN, "exchange_rates")
    drift = np.cumprod(1 + rng.normal(0, 0.008, size=(len(RATES), 3)), axis=1)
    micro = np.round(np.array([r[1] for r in RATES])[:, None] * drift * 1_000_000).astype(np.int64)
    micro[0] = 1_000_000  # EUR
    return micro


def _exchange_rates(ctx: Context) -> FeedReport:
    writer = FeedWriter(
        ctx, DOMAIN, "exchange_rates", RATE_COLUMNS, _only_duplicates(("currency", "rate_month"))
    )
    micro = exchange_rates(ctx.seed)
    n = micro.size
    currency, month = np.divmod(np.arange(n), 3)
    columns = [
        fmt.pick([r[0] for r in RATES], currency),
        fmt.dates_as(np.array(MONTH_DAYS[:3])[month], "%Y-%m-%d"),
        fmt.fixed_decimals(micro.ravel(), 6),
    ]
    writer.write(columns, _zeros(n), ["exchange_rates.csv"])
    return writer.finish()


def _scale_factor(scale: int) -> float:
    return float(max(1.0, scale**0.5))


def _round_up(cents: int, step_eur: int) -> int:
    step = step_eur * 100
    return -(-cents // step) * step


def opening_balances(seed: int, scale: int, journals: list[JournalLine]) -> list[tuple[str, str, int]]:
    """(account, department, cents) on 2026-01-01: cash and equity in Finance, the stock in
    Operations, with Finance's claim on Operations' stock in inter-department clearing."""
    stock = opening_stock_cents(seed, scale)
    people = hr.staff(seed, scale)
    payroll = 0
    for month in range(3):
        employed = people.employed(hr.MONTH_DAYS[month], hr.MONTH_DAYS[month + 1] - 1)
        gross, _tax, employer = hr.payslip_cents(people.salary_cents[employed])
        payroll += int(gross.sum() + employer.sum())
    rewards = int(hr.awards(seed, people)["cents"].sum())
    buying = procurement.purchasing(seed, scale)
    supplier = buying.invoice_supplier()[buying.payment_invoice]
    num, den = (np.array(r)[supplier] for r in zip(*procurement.PRICE_RATES, strict=True))
    suppliers = int((buying.payment_amount * den // num).sum())
    rent = sum(line.cents for line in journals if line.account == CASH)  # negative: paid out
    outflows = payroll + rewards + suppliers - rent
    cash = _round_up(max(outflows * 5 // 4, 2_500_000 * 100), 100_000)
    capital = _round_up((cash + stock) * 2 // 5, 100_000)
    retained = cash + stock - capital
    return [
        (CASH, FINANCE, cash),
        (CLEARING, FINANCE, stock),
        (CAPITAL, FINANCE, -capital),
        (RETAINED, FINANCE, -retained),
        (INVENTORY, OPERATIONS, stock),
        (CLEARING, OPERATIONS, -stock),
    ]


def _opening_balances(ctx: Context, journals: list[JournalLine]) -> FeedReport:
    key = ("account_id", "department_id")
    writer = FeedWriter(ctx, DOMAIN, "opening_balances", BALANCE_COLUMNS, _only_duplicates(key))
    rows = opening_balances(ctx.seed, ctx.scale, journals)
    n = len(rows)
    columns = [
        pa.array([r[0] for r in rows]),
        pa.array([r[1] for r in rows]),
        fmt.dates_as(np.full(n, FIRST_DAY), "%Y-%m-%d"),
        fmt.signed_decimals(np.array([r[2] for r in rows])),
    ]
    writer.write(columns, _zeros(n), ["opening_balances.csv"])
    return writer.finish()


def manual_journals(seed: int, scale: int) -> list[JournalLine]:
    """Monthly rent accruals (warehouses in Operations, offices by headcount in every department),
    their payment from Finance's bank account the month after, and a March recharge of CRM
    hosting from Technology to Sales. Balanced within each department."""
    rng = rng_for(seed, DOMAIN, "manual_journals")
    factor = _scale_factor(scale)
    people = hr.staff(seed, scale)
    departments = hr.DEPARTMENT_IDS
    lines: list[JournalLine] = []
    accrued: list[dict[str, int]] = []

    def journal(day: int, entries: list[tuple[str, str, int]], text: str) -> None:
        number = lines[-1].journal + 1 if lines else 1
        lines.extend(JournalLine(number, day, a, d, c, text) for a, d, c in entries)

    for month, name in enumerate(MONTH_NAMES):
        month_end = MONTH_DAYS[month + 1] - 1
        if month:  # pay last month's accrued rent on the 10th; Finance's bank pays for everyone
            owed = accrued[month - 1]
            others = sum(c for d, c in owed.items() if d != FINANCE)
            entries = [(ACCRUED, d, c) for d, c in owed.items() if d != FINANCE]
            entries += [(CLEARING, d, -c) for d, c in owed.items() if d != FINANCE]
            entries += [(ACCRUED, FINANCE, owed.get(FINANCE, 0)), (CLEARING, FINANCE, others)]
            entries.append((CASH, FINANCE, -(others + owed.get(FINANCE, 0))))
            journal(
                MONTH_DAYS[month] + 9, entries, f"Rent and facilities for {MONTH_NAMES[month - 1]} 2026 paid"
            )
        service = rng.uniform(0.97, 1.06, len(WAREHOUSES))
        warehouses = int(
            sum(round(r * factor * s * 100) for r, s in zip(WAREHOUSE_RENT, service, strict=True))
        )
        journal(
            month_end,
            [(RENT, OPERATIONS, warehouses), (ACCRUED, OPERATIONS, -warehouses)],
            f"Warehouse rent accrual {name} 2026 ({len(WAREHOUSES)} warehouses)",
        )
        employed = people.employed(MONTH_DAYS[month], month_end)
        heads = np.bincount(people.department[employed], minlength=len(departments))
        charge = rng.uniform(0.98, 1.04)
        offices = {
            d: round(float(h * OFFICE_COST_PER_HEAD * charge * 100))
            for d, h in zip(departments, heads, strict=True)
            if h
        }
        entries = [e for d, c in offices.items() for e in ((RENT, d, c), (ACCRUED, d, -c))]
        journal(month_end, entries, f"Office rent and facilities accrual {name} 2026 by headcount")
        owed = dict(offices)
        owed[OPERATIONS] = owed.get(OPERATIONS, 0) + warehouses
        accrued.append(owed)
        if month == 2:
            crm = round(CRM_HOSTING * factor * 100)
            journal(
                month_end,
                [
                    (RENT, SALES, crm),
                    (CLEARING, SALES, -crm),
                    (CLEARING, TECHNOLOGY, crm),
                    (RENT, TECHNOLOGY, -crm),
                ],
                "Recharge of CRM hosting Q1 2026 from Technology to Sales",
            )
    return lines


def _manual_journals(ctx: Context, lines: list[JournalLine]) -> FeedReport:
    plan = FaultPlan(
        "csv",
        ("journal_id", "line_number"),
        {
            "debit": ("n/a", "12.5.0"),
            "credit": ("abc",),
            "entry_date": ("2026-02-30", "31/01/2026"),
            "line_number": ("first",),
        },
    )
    writer = FeedWriter(ctx, DOMAIN, "manual_journals", JOURNAL_COLUMNS, plan)
    n = len(lines)
    journal = np.array([line.journal for line in lines])
    starts = np.searchsorted(journal, journal)
    cents = np.array([line.cents for line in lines], dtype=np.int64)
    columns = [
        fmt.ids("MJ-", journal, 6),
        fmt.integers(np.arange(n) - starts + 1),
        fmt.dates_as(np.array([line.day for line in lines]), "%Y-%m-%d"),
        pa.array([line.account for line in lines]),
        pa.array([line.department for line in lines]),
        fmt.decimals(np.maximum(cents, 0)),
        fmt.decimals(np.maximum(-cents, 0)),
        pa.array(csv_text([line.description for line in lines])),
    ]
    writer.write(columns, _zeros(n), ["manual_journals.csv"])
    return writer.finish()
