"""The parsing rule of each column type: good values, and bad ones with the reason they break it."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import duckdb
import pytest

from mesh_orchestrator.ingestion.value_parsing import Conventions, parse

PLAIN = Conventions()
COMMA = Conventions(decimal_separator=",")
BERLIN = Conventions(timezone="Europe/Berlin")


def _parsed(
    text: str | None, column_type: str, conventions: Conventions = PLAIN, factor: float | None = None
) -> tuple[object, str | None]:
    """(typed value, problem where the value is NULL) of one text, under a session zone far from UTC."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Kolkata'")  # bronze must not depend on it
    p = parse("x", column_type, conventions, factor)
    row = con.execute(
        f"SELECT {p.value}, CASE WHEN {p.value} IS NULL THEN {p.problem} END "
        f"FROM {p.select('(SELECT CAST(? AS VARCHAR) AS x)')}",
        [text],
    ).fetchone()
    assert row is not None
    value, problem = row
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value, problem


def _utc(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "column_type", "expected"),
    [
        ("42", "INTEGER", 42),
        ("-7", "INTEGER", -7),
        ("+5", "INTEGER", 5),
        ("2.0", "INTEGER", 2),  # a fraction of only zeros is exact
        ("9223372036854775807", "BIGINT", 9223372036854775807),
        ("12.5", "DECIMAL(18,2)", Decimal("12.50")),
        ("12.340000", "DECIMAL(18,2)", Decimal("12.34")),  # trailing zeros are exact
        ("-0.01", "DECIMAL(18,2)", Decimal("-0.01")),
        ("1.5e3", "DOUBLE", 1500.0),
        ("True", "BOOLEAN", True),
        ("n", "BOOLEAN", False),
        ("  anything ", "VARCHAR", "  anything "),
        ("2026-03-05", "DATE", date(2026, 3, 5)),
        ("2026-03-05T10:00:00", "TIMESTAMP", datetime(2026, 3, 5, 10, 0)),
        ("2026-03-05 10:00", "TIMESTAMP", datetime(2026, 3, 5, 10, 0)),
    ],
)
def test_good_values(text: str, column_type: str, expected: object) -> None:
    assert _parsed(text, column_type) == (expected, None)


@pytest.mark.parametrize(
    ("text", "column_type", "problem"),
    [
        ("2.7", "INTEGER", "a whole number"),
        ("1e3", "INTEGER", "no exponent"),
        (" 5", "INTEGER", "a number written like -1234.56"),
        ("2147483648", "INTEGER", "out of range -2147483648 to 2147483647"),
        ("1.239", "DECIMAL(18,2)", "at most 2 decimal places, it would be rounded"),
        ("1,234.56", "DECIMAL(18,2)", "no thousands separators"),
        ("1e2", "DECIMAL(18,2)", "no exponent"),
        ("1.", "DECIMAL(18,2)", "a number written like"),
        ("12345678901234567", "DECIMAL(18,2)", "at most 16 digits before the decimal point"),
        ("inf", "DOUBLE", "a number written like"),
        ("1e999", "DOUBLE", "a finite number"),
        ("maybe", "BOOLEAN", "true/false"),
        ("2026-03-05 10:00", "DATE", "YYYY-MM-DD"),  # a time is never dropped
        ("05.03.2026", "DATE", "YYYY-MM-DD"),
        ("2026-02-30", "DATE", "a day of the calendar"),
        ("2026-03-05T10:00:00Z", "TIMESTAMP", "without offset or zone; declare TIMESTAMPTZ"),
        ("2026-03-05 24:00:00", "TIMESTAMP", "without offset or zone"),
        ("2026-02-30 10:00:00", "TIMESTAMP", "a day of the calendar"),
        ("2026-03-05", "TIMESTAMPTZ", "YYYY-MM-DD HH:MM"),
        ("2026-03-05 10:00:00+05:99", "TIMESTAMPTZ", "an offset (+05:00)"),
        ("2026-03-05 10:00:00 +05:00", "TIMESTAMPTZ", "an offset (+05:00)"),
        ("2026-03-05 10:00:00 Mars/Olympus", "TIMESTAMPTZ", "unknown time zone Mars/Olympus"),
        ("2026-03-05 10:00:00 EST", "TIMESTAMPTZ", "a zone name"),  # abbreviations are ambiguous
        ("2026-13-45T10:00:00Z", "TIMESTAMPTZ", "a day of the calendar"),
    ],
)
def test_bad_values_say_what_the_rule_is(text: str, column_type: str, problem: str) -> None:
    value, why = _parsed(text, column_type)
    assert value is None
    assert problem in why


def test_null_is_no_value_and_no_problem_of_the_type() -> None:
    assert _parsed(None, "INTEGER")[0] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234,56", Decimal("1234.56")),
        ("1.234,56", Decimal("1234.56")),
        ("-1.234.567,8", Decimal("-1234567.80")),
    ],
)
def test_decimal_comma_convention(text: str, expected: Decimal) -> None:
    assert _parsed(text, "DECIMAL(18,2)", COMMA) == (expected, None)


@pytest.mark.parametrize("text", ["1,234.56", "12.5", "1.23,4", "1.2345,6", "1,239"])
def test_decimal_comma_rejects_the_other_convention_and_bad_groups(text: str) -> None:
    value, why = _parsed(text, "DECIMAL(18,2)", COMMA)
    assert value is None and why


def test_a_scale_factor_multiplies_exactly_then_the_type_rule_applies() -> None:
    assert _parsed("1234", "DECIMAL(18,2)", factor=0.01) == (Decimal("12.34"), None)
    value, why = _parsed("1234.5", "DECIMAL(18,2)", factor=0.01)
    assert value is None and why == "at most 2 decimal places after scaling by 0.01, it would be rounded"
    assert _parsed("3", "INTEGER", factor=1000) == (3000, None)


def test_a_source_date_format() -> None:
    dotted = Conventions(date_format="%d.%m.%Y")
    assert _parsed("05.03.2026", "DATE", dotted) == (date(2026, 3, 5), None)
    assert _parsed("32.01.2026", "DATE", dotted)[1] == "a day of the calendar written as %d.%m.%Y"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-05T10:00:00+05:00", _utc(2026, 3, 5, 5, 0)),
        ("2026-03-05T10:00:00-0330", _utc(2026, 3, 5, 13, 30)),
        ("2026-03-05 10:00:00+05", _utc(2026, 3, 5, 5, 0)),
        ("2026-03-05T10:00:00.123Z", _utc(2026, 3, 5, 10, 0) + timedelta(milliseconds=123)),
        ("2026-03-05 10:00:00 America/New_York", _utc(2026, 3, 5, 15, 0)),
        ("2026-07-05 10:00 Europe/Berlin", _utc(2026, 7, 5, 8, 0)),
        ("2026-03-05 10:00:00", _utc(2026, 3, 5, 10, 0)),  # the declared zone, UTC by default
    ],
)
def test_timestamptz_is_the_instant_meant(text: str, expected: datetime) -> None:
    assert _parsed(text, "TIMESTAMPTZ") == (expected, None)


def test_a_time_without_offset_is_in_the_declared_zone() -> None:
    assert _parsed("2026-03-05 10:00:00", "TIMESTAMPTZ", BERLIN) == (_utc(2026, 3, 5, 9, 0), None)
    assert _parsed("2026-07-05 10:00:00", "TIMESTAMPTZ", BERLIN) == (_utc(2026, 7, 5, 8, 0), None)
    # an explicit offset wins over the declared zone
    assert _parsed("2026-03-05 10:00:00Z", "TIMESTAMPTZ", BERLIN) == (_utc(2026, 3, 5, 10, 0), None)
    formatted = Conventions(timezone="Europe/Berlin", date_format="%d.%m.%Y %H:%M")
    assert _parsed("05.03.2026 10:00", "TIMESTAMPTZ", formatted) == (_utc(2026, 3, 5, 9, 0), None)


@pytest.mark.parametrize(
    ("text", "conventions", "problem"),
    [
        (
            "2026-03-29 02:30:00",
            BERLIN,
            "does not exist in Europe/Berlin: skipped by a daylight-saving change",
        ),
        (
            "2026-10-25 02:30:00",
            BERLIN,
            "occurs twice in Europe/Berlin: repeated by a daylight-saving change",
        ),
        (
            "2026-03-08 02:30:00 America/New_York",
            Conventions(),
            "does not exist in America/New_York: skipped by a daylight-saving change",
        ),
        (
            "2026-11-01 01:30:00 America/New_York",
            Conventions(),
            "occurs twice in America/New_York: repeated by a daylight-saving change",
        ),
        (
            "29.03.2026 02:30",
            Conventions(timezone="Europe/Berlin", date_format="%d.%m.%Y %H:%M"),
            "does not exist in Europe/Berlin",
        ),
    ],
)
def test_a_local_time_that_is_not_one_instant_is_rejected(
    text: str, conventions: Conventions, problem: str
) -> None:
    value, why = _parsed(text, "TIMESTAMPTZ", conventions)
    assert value is None and problem in why


def test_times_next_to_a_daylight_saving_change_are_exact() -> None:
    assert _parsed("2026-03-29 01:59:59", "TIMESTAMPTZ", BERLIN)[0] == _utc(2026, 3, 29, 0, 59, 59)
    assert _parsed("2026-03-29 03:00:00", "TIMESTAMPTZ", BERLIN)[0] == _utc(2026, 3, 29, 1, 0)
    assert _parsed("2026-10-25 03:00:00", "TIMESTAMPTZ", BERLIN)[0] == _utc(2026, 10, 25, 2, 0)
    assert _parsed("2026-10-25 01:59:00", "TIMESTAMPTZ", BERLIN)[0] == datetime(
        2026, 10, 25, 1, 59, tzinfo=timezone(timedelta(hours=2))
    )


def test_the_session_time_zone_changes_nothing() -> None:
    p = parse("x", "TIMESTAMPTZ", BERLIN)
    query = f"SELECT epoch({p.value}) FROM {p.select('(SELECT unnest(?) AS x)')}"
    texts = ["2026-03-05 10:00:00", "2026-03-05T10:00:00+05:00", "2026-03-05 10:00 America/New_York"]
    results = set()
    for zone in ("UTC", "America/Los_Angeles", "Asia/Kolkata"):
        con = duckdb.connect()
        con.execute(f"SET TimeZone = '{zone}'")
        results.add(tuple(r[0] for r in con.execute(query, [texts]).fetchall()))
    assert len(results) == 1
