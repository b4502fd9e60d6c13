"""HR: departments, employees (personal data), monthly payroll runs, daily timecards and rewards.

About 40 employees per unit of scale (at most 20,000). Seven fixed departments, which finance
posts to. The staff plan (:func:`staff`) depends on the seed and scale alone, so finance can size
its opening cash and allocate rent by headcount without reading hr's files.

A payslip is written for every employee employed on any day of the month: gross pay is a twelfth
of the annual salary, tax a rate by salary band, and net pay is gross pay less tax, to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mesh_orchestrator.devtools.generate import formats as fmt
from mesh_orchestrator.devtools.generate.base import Context, rng_for
from mesh_orchestrator.devtools.generate.faults import FaultPlan
from mesh_orchestrator.devtools.generate.report import FeedReport
from mesh_orchestrator.devtools.generate.writers import FeedWriter, write_reference_table

DOMAIN = "hr"
EMPLOYEES_PER_SCALE = 40
MAX_EMPLOYEES = 20_000
FIRST_DAY = fmt.START // fmt.DAY  # 2026-01-01 as days since 1970
#: First day of January, February, March and April 2026, as days since 1970.
MONTH_DAYS = (FIRST_DAY, FIRST_DAY + 31, FIRST_DAY + 59, FIRST_DAY + 90)
MONTHS = ("2026-01", "2026-02", "2026-03")

#: (id, name, cost centre, share of the staff, job titles as (title, typical salary, share)).
DEPARTMENTS: tuple[tuple[str, str, str, float, tuple[tuple[str, int, float], ...]], ...] = (
    (
        "DEP-SAL",
        "Sales",
        "CC-100",
        0.30,
        (
            ("Sales Representative", 42_000, 0.6),
            ("Key Account Manager", 62_000, 0.32),
            ("Head of Sales", 98_000, 0.08),
        ),
    ),
    (
        "DEP-OPS",
        "Operations",
        "CC-200",
        0.30,
        (
            ("Warehouse Operative", 32_000, 0.62),
            ("Logistics Coordinator", 44_000, 0.3),
            ("Operations Manager", 72_000, 0.08),
        ),
    ),
    (
        "DEP-PRC",
        "Procurement",
        "CC-300",
        0.08,
        (("Buyer", 48_000, 0.6), ("Senior Buyer", 60_000, 0.3), ("Procurement Manager", 78_000, 0.1)),
    ),
    (
        "DEP-FIN",
        "Finance",
        "CC-400",
        0.08,
        (
            ("Accountant", 50_000, 0.6),
            ("Financial Controller", 68_000, 0.3),
            ("Finance Director", 110_000, 0.1),
        ),
    ),
    (
        "DEP-HR",
        "People",
        "CC-500",
        0.06,
        (
            ("HR Generalist", 46_000, 0.55),
            ("Payroll Specialist", 50_000, 0.35),
            ("People Director", 95_000, 0.1),
        ),
    ),
    (
        "DEP-IT",
        "Technology",
        "CC-600",
        0.10,
        (
            ("Software Engineer", 66_000, 0.45),
            ("Data Engineer", 70_000, 0.3),
            ("IT Support Specialist", 45_000, 0.25),
        ),
    ),
    (
        "DEP-MKT",
        "Marketing",
        "CC-700",
        0.08,
        (
            ("Marketing Specialist", 47_000, 0.6),
            ("Content Manager", 52_000, 0.3),
            ("Head of Marketing", 90_000, 0.1),
        ),
    ),
)
DEPARTMENT_IDS = tuple(d[0] for d in DEPARTMENTS)
FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Katja", "Lars",
    "Maria", "Niko", "Olga", "Paul", "Rosa", "Sven", "Tanja", "Umut", "Vera", "Wim", "Yara", "Zoran",
    "Amelie", "Bruno", "Chloe", "Daan", "Emma", "Finn", "Hanna", "Ivan", "Julia", "Karim", "Lea", "Marco",
    "Nora", "Oscar", "Pia", "Rafael", "Sofia", "Tom", "Lucia", "Mateo", "Eva", "Noah", "Ida", "Emil",
)  # fmt: skip
LAST_NAMES = (
    "Schmidt", "Jansen", "Rossi", "Dubois", "Novak", "Berg", "Keller", "Martin", "Fischer", "Visser",
    "Bianchi", "Moreau", "Kowalski", "Lindqvist", "Weber", "de Vries", "Romano", "Laurent", "Horvat",
    "Nilsen", "Wagner", "Bakker", "Greco", "Girard", "Petrov", "Hansen", "Becker", "Smit", "Conti",
    "Fontaine", "Wojcik", "Larsen", "Hoffmann", "Meijer", "Ricci", "Lambert", "Dvorak", "Olsen",
    "Schulz", "Mulder", "Marino", "Bernard", "Nowak", "Eriksson", "Koch", "Bos", "Gallo", "Roux",
)  # fmt: skip
#: Employee tax by annual salary band: (salary from, in EUR, rate in percent).
TAX_BANDS = ((0, 18), (35_000, 22), (50_000, 26), (65_000, 29), (85_000, 32))
EMPLOYER_RATE = 21  # percent of gross pay
ABSENCES = ("none", "sick", "vacation", "unpaid")
ABSENCE_WEIGHTS = (0.905, 0.03, 0.06, 0.005)
AWARD_TYPES = ("spot_award", "long_service", "sales_bonus", "innovation")
#: Award amounts in EUR per type: (lowest, highest, step).
AWARD_AMOUNTS = ((50, 500, 25), (250, 1_000, 250), (500, 2_000, 50), (200, 1_500, 50))
UNKNOWN_EMPLOYEE = "E-9"  # employee numbers 9,000,001 and up are never issued

MIN_DEPARTMENT_SIZE = 3
DEPARTMENT_COLUMNS = ("department_id", "department_name", "cost_centre")
EMPLOYEE_COLUMNS = (
    "employee_id",
    "first_name",
    "last_name",
    "email",
    "national_id",
    "bank_account",
    "birth_date",
    "department_id",
    "job_title",
    "hire_date",
    "termination_date",
    "annual_salary",
    "currency",
)
PAYROLL_COLUMNS = (
    "payslip_id",
    "employee_id",
    "pay_period",
    "pay_date",
    "department_id",
    "gross_pay",
    "employee_tax",
    "employer_contributions",
    "net_pay",
    "currency",
)
TIMECARD_COLUMNS = ("employee_id", "work_date", "hours_worked", "absence_type")
REWARD_COLUMNS = ("award_id", "employee_id", "award_date", "award_type", "amount", "currency")


@dataclass(frozen=True)
class Staff:
    """Employees as parallel arrays; employee ``i`` has id ``E-{i+1:06d}``; days since 1970."""

    numbers: np.ndarray
    department: np.ndarray  # index into DEPARTMENTS
    title: np.ndarray  # index into the department's job titles
    salary_cents: np.ndarray  # annual
    hire_day: np.ndarray
    termination_day: np.ndarray  # -1: still employed
    birth_day: np.ndarray

    def __len__(self) -> int:
        return len(self.numbers)

    def employed(self, first_day: int, last_day: int) -> np.ndarray:
        """Mask of the employees employed on at least one day of ``[first_day, last_day]``."""
        return (self.hire_day <= last_day) & (
            (self.termination_day < 0) | (self.termination_day >= first_day)
        )


def employee_count(scale: int) -> int:
    return min(EMPLOYEES_PER_SCALE * scale, MAX_EMPLOYEES)


@lru_cache(maxsize=8)
def staff(seed: int, scale: int) -> Staff:
    """The employees for a seed and scale (cached: hr writes them, finance sizes with them)."""
    rng = rng_for(seed, DOMAIN, "staff")
    n = employee_count(scale)
    # Hired over the last 18 years, more of them recently; about 7% in January-March 2026.
    new = rng.random(n) < 0.07
    before = np.minimum(rng.exponential(4 * 365, n).astype(np.int64) + 1, 18 * 365)
    hire = np.where(new, FIRST_DAY + rng.integers(1, 80, n), FIRST_DAY - before)
    hire = hire + _to_weekday(hire)
    hire.sort()  # employee numbers follow the hiring date
    department = rng.choice(len(DEPARTMENTS), size=n, p=[d[3] for d in DEPARTMENTS])
    # Every department has at least MIN_DEPARTMENT_SIZE long-serving people (moved from the
    # largest department), so hr's department-level products never describe one person.
    anchors: list[int] = []
    for d in range(len(DEPARTMENTS)):
        staff = [int(i) for i in np.flatnonzero((department == d) & (hire < FIRST_DAY))]
        while len(staff) < MIN_DEPARTMENT_SIZE:
            largest = int(np.bincount(department, minlength=len(DEPARTMENTS)).argmax())
            movable = np.flatnonzero((department == largest) & (hire < FIRST_DAY))
            movable = movable[~np.isin(movable, anchors)]
            if largest == d or not len(movable):
                break
            department[movable[0]] = d
            staff.append(int(movable[0]))
        anchors += staff[:MIN_DEPARTMENT_SIZE]
    title = np.zeros(n, dtype=np.int64)
    base = np.zeros(n)
    for d, (*_, titles) in enumerate(DEPARTMENTS):
        mask = department == d
        title[mask] = rng.choice(len(titles), size=int(mask.sum()), p=[t[2] for t in titles])
        base[mask] = np.array([t[1] for t in titles])[title[mask]]
    salary = np.round(base * rng.lognormal(0.0, 0.12, n) / 100).astype(np.int64) * 100 * 100
    age_at_hire = rng.integers(19, 46, n)
    birth = hire - (age_at_hire * 36_525) // 100 - rng.integers(0, 365, n)
    leaving = (rng.random(n) < 0.04) & (hire < MONTH_DAYS[1])
    termination = np.where(leaving, rng.integers(MONTH_DAYS[1], MONTH_DAYS[3], n), -1)
    termination[anchors] = -1
    return Staff(np.arange(1, n + 1), department, title, salary, hire, termination, birth)


def _to_weekday(days: np.ndarray) -> np.ndarray:
    """Days to add to move a Saturday or Sunday to the next Monday (1970-01-01 was a Thursday)."""
    weekday = (days + 3) % 7  # 0 = Monday
    return np.where(weekday >= 5, 7 - weekday, 0)


def weekdays(first_day: int, stop_day: int) -> np.ndarray:
    days = np.arange(first_day, stop_day)
    return days[(days + 3) % 7 < 5]


def payslip_cents(salary_cents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gross pay, employee tax and employer contributions per month, rounded half up to the cent."""
    gross = (salary_cents + 6) // 12
    edges = np.array([b[0] * 100 for b in TAX_BANDS[1:]])
    rate = np.array([b[1] for b in TAX_BANDS])[np.searchsorted(edges, salary_cents, side="right")]
    tax = (gross * rate + 50) // 100
    employer = (gross * EMPLOYER_RATE + 50) // 100
    return gross, tax, employer


def generate_hr(ctx: Context) -> list[FeedReport]:
    people = staff(ctx.seed, ctx.scale)
    return [
        _departments(ctx),
        _employees(ctx, people),
        _payroll_runs(ctx, people),
        _timecards(ctx, people),
        _rewards(ctx, people),
    ]


def _departments(ctx: Context) -> FeedReport:
    rows = [d[:3] for d in DEPARTMENTS]
    return write_reference_table(ctx, DOMAIN, "departments", DEPARTMENT_COLUMNS, ("department_id",), rows)


def _employee_ids(numbers: np.ndarray, quote: bool = False) -> pa.Array:
    return fmt.ids("E-", numbers, 6, quote=quote)


def _employees(ctx: Context, people: Staff) -> FeedReport:
    rng = rng_for(ctx.seed, DOMAIN, "employees")
    n = len(people)
    plan = FaultPlan(
        "csv",
        ("employee_id",),
        {
            "birth_date": ("1985-02-30", "12/03/1985"),
            "hire_date": ("yesterday",),
            "annual_salary": ("55k", "fifty thousand"),
            "currency": ("USD",),
        },
    )
    writer = FeedWriter(ctx, DOMAIN, "employees", EMPLOYEE_COLUMNS, plan)
    first = fmt.pick(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n))
    last = fmt.pick(LAST_NAMES, rng.integers(0, len(LAST_NAMES), n))
    email = pc.utf8_lower(
        pc.binary_join_element_wise(
            first,
            ".",
            pc.replace_substring(last, " ", ""),
            ".",
            fmt.integers(people.numbers),
            "@example.com",
            "",
        )
    )
    # Multiplying by a number coprime to 10**9 keeps national ids unique.
    national = (people.numbers * 387_420_489 + int(rng.integers(0, 10**9))) % 10**9
    titles = [t[0] for d in DEPARTMENTS for t in d[4]]
    offsets = np.cumsum([0] + [len(d[4]) for d in DEPARTMENTS])[:-1]
    termination = fmt.dates_as(np.maximum(people.termination_day, 0), "%Y-%m-%d")
    columns = [
        _employee_ids(people.numbers),
        first,
        last,
        email,
        fmt.fixed_width(n, [b"NI-", (national, 9)]),
        fmt.fixed_width(n, [b"DE", (rng.integers(0, 10**10, n), 10), (rng.integers(0, 10**10, n), 10)]),
        fmt.dates_as(people.birth_day, "%Y-%m-%d"),
        fmt.pick(DEPARTMENT_IDS, people.department),
        fmt.pick(titles, offsets[people.department] + people.title),
        fmt.dates_as(people.hire_day, "%Y-%m-%d"),
        pc.if_else(pa.array(people.termination_day >= 0), termination, ""),
        fmt.decimals(people.salary_cents),
        fmt.pick(["EUR"], np.zeros(n, dtype=np.int64)),
    ]
    writer.write(columns, np.zeros(n, dtype=np.int64), ["employees.csv"])
    return writer.finish()


def _payroll_runs(ctx: Context, people: Staff) -> FeedReport:
    plan = FaultPlan(
        "jsonl",
        ("employee_id", "pay_period"),
        {
            "gross_pay": ("4.525,00", "n/a"),
            "pay_period": ("2026-13-01", "January"),
            "net_pay": ("lots",),
            "currency": ("€",),
        },
        unknown_refs={"employee_id": UNKNOWN_EMPLOYEE, "payslip_id": "PS-9"},
    )
    writer = FeedWriter(ctx, DOMAIN, "payroll_runs", PAYROLL_COLUMNS, plan)
    for month, name in enumerate(MONTHS):
        paid = np.flatnonzero(people.employed(MONTH_DAYS[month], MONTH_DAYS[month + 1] - 1))
        n = len(paid)
        gross, tax, employer = payslip_cents(people.salary_cents[paid])
        pay_date = fmt.dates_as(np.array([MONTH_DAYS[month + 1] + 4]), "%Y-%m-%d", quote=True)[0].as_py()
        columns = [
            fmt.fixed_width(n, [f'"PS-2026{month + 1:02d}-'.encode(), (people.numbers[paid], 6), b'"']),
            _employee_ids(people.numbers[paid], quote=True),
            fmt.pick([f'"{name}-01"'], np.zeros(n, dtype=np.int64)),
            fmt.pick([pay_date], np.zeros(n, dtype=np.int64)),
            fmt.pick([f'"{d}"' for d in DEPARTMENT_IDS], people.department[paid]),
            *(fmt.quoted(fmt.decimals(cents)) for cents in (gross, tax, employer, gross - tax)),
            fmt.pick(['"EUR"'], np.zeros(n, dtype=np.int64)),
        ]
        writer.write(columns, np.zeros(n, dtype=np.int64), [f"payroll_{name}.jsonl"])
    return writer.finish()


def _timecards(ctx: Context, people: Staff) -> FeedReport:
    plan = FaultPlan(
        "csv",
        ("employee_id", "work_date"),
        {
            "hours_worked": ("eight", "8h30"),
            "work_date": ("2026-02-30", "30/01/2026"),
            "absence_type": ("holiday", "remote"),
        },
        unknown_refs={"employee_id": UNKNOWN_EMPLOYEE},
    )
    writer = FeedWriter(ctx, DOMAIN, "timecards", TIMECARD_COLUMNS, plan)
    for month in range(len(MONTHS)):
        rng = rng_for(ctx.seed, DOMAIN, "timecards", month)
        days = weekdays(MONTH_DAYS[month], MONTH_DAYS[month + 1])
        at_work = (people.hire_day[None, :] <= days[:, None]) & (
            (people.termination_day[None, :] < 0) | (people.termination_day[None, :] >= days[:, None])
        )
        day_idx, emp = np.nonzero(at_work)  # by day, then employee
        n = len(emp)
        absence = rng.choice(len(ABSENCES), size=n, p=ABSENCE_WEIGHTS)
        quarters = np.clip(np.round(rng.normal(32, 2.8, n)), 16, 40).astype(np.int64)  # 4-10 hours
        hundredths = np.where(absence == 0, quarters * 25, 0)
        columns = [
            _employee_ids(people.numbers[emp]),
            fmt.dates_as(days[day_idx], "%Y-%m-%d"),
            fmt.decimals(hundredths),
            fmt.pick(ABSENCES, absence),
        ]
        # The time-tracking system exports each working day as its own file (partitioned by day).
        names = [f"timecards_{np.datetime64(int(d), 'D')}.csv" for d in days]  # days since 1970
        writer.write(columns, day_idx, names)
    return writer.finish()


def awards(seed: int, people: Staff) -> dict[str, np.ndarray]:
    """Rewards: each month about 10% of the employees get one, sorted by date then employee."""
    rng = rng_for(seed, DOMAIN, "rewards")
    parts: list[dict[str, np.ndarray]] = []
    for month in range(len(MONTHS)):
        first, last = MONTH_DAYS[month], MONTH_DAYS[month + 1] - 1
        eligible = np.flatnonzero(people.employed(first, last))
        chosen = np.sort(rng.choice(eligible, size=int(rng.binomial(len(eligible), 0.10)), replace=False))
        k = len(chosen)
        lo = np.maximum(first, people.hire_day[chosen])
        hi = np.where(
            people.termination_day[chosen] >= 0, np.minimum(last, people.termination_day[chosen]), last
        )
        day = lo + (rng.random(k) * (hi - lo + 1)).astype(np.int64)
        in_sales = people.department[chosen] == 0
        kind = np.where(
            in_sales,
            rng.choice(4, size=k, p=[0.35, 0.10, 0.45, 0.10]),
            rng.choice(4, size=k, p=[0.65, 0.15, 0.0, 0.20]),
        )
        kind[(kind == 1) & (day - people.hire_day[chosen] < 5 * 365)] = 0  # long service needs 5 years
        low, high, step = (np.array(v)[kind] for v in zip(*AWARD_AMOUNTS, strict=True))
        amount = low + (rng.random(k) * ((high - low) // step + 1)).astype(np.int64) * step
        parts.append({"employee": chosen, "day": day, "kind": kind, "cents": amount * 100})
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.lexsort((merged["employee"], merged["day"]))
    return {key: value[order] for key, value in merged.items()}


def _rewards(ctx: Context, people: Staff) -> FeedReport:
    plan = FaultPlan(
        "csv",
        ("award_id",),
        {
            "amount": ("1.000.00", "n/a"),
            "award_date": ("2026-02-30",),
            "award_type": ("gift_card",),
        },
        unknown_refs={"employee_id": UNKNOWN_EMPLOYEE, "award_id": "AW-9"},
    )
    writer = FeedWriter(ctx, DOMAIN, "rewards", REWARD_COLUMNS, plan)
    given = awards(ctx.seed, people)
    n = len(given["day"])
    columns = [
        fmt.ids("AW-", np.arange(1, n + 1), 6),
        _employee_ids(people.numbers[given["employee"]]),
        fmt.dates_as(given["day"], "%Y-%m-%d"),
        fmt.pick(AWARD_TYPES, given["kind"]),
        fmt.decimals(given["cents"]),
        fmt.pick(["EUR"], np.zeros(n, dtype=np.int64)),
    ]
    writer.write(columns, np.zeros(n, dtype=np.int64), ["rewards.csv"])
    return writer.finish()
