"""How a landed text value becomes a typed value: the parsing rule of each column type, as SQL.

Bronze reads every landed value as text (a CSV cell, or the text of a JSON value: a JSON number
``2.50`` reads as ``2.5``) and types it with :func:`parse`, which returns two SQL expressions over
that text: the typed ``value``, NULL exactly when the text is NULL or breaks its type's rule, and
the ``problem``, what is wrong and what the rule is (read it only where the value is NULL). Bronze
quarantines a row as ``bad_type`` where the text is present and the value is NULL, so the typed
column and the check can never disagree. Nothing is rounded, guessed or read in the session's
time zone:

- INTEGER, BIGINT: a whole number (optional sign, digits; a fractional part of only zeros is
  exact), within the type's range. ``2.7`` is rejected, never rounded.
- DECIMAL(p,s): a number written in the sender's convention, no exponent. Convention '.'
  (default): ``-1234.56``, no thousands separators (a ``,`` is ambiguous). Convention ',':
  ``-1234,56`` or grouped ``1.234,56`` (groups of exactly three digits). At most ``s`` decimal
  places, trailing zeros aside (``12.340000`` is exact for s = 2, ``1.239`` is rejected, never
  rounded), and at most ``p - s`` digits before the point.
- DOUBLE: as DECIMAL, an exponent allowed (``1.5e3``), finite.
- A source's ``scale`` factor (0.01 for cents) multiplies a number exactly, before the rules of
  its type apply to the product.
- BOOLEAN: true/false, t/f, yes/no, y/n, 1/0 (any case).
- DATE: ``YYYY-MM-DD`` (or the source's ``date_format``), a day of the calendar; a time of day
  is rejected, never dropped.
- TIMESTAMP (a wall-clock time, no zone): ``YYYY-MM-DD HH:MM[:SS[.ffffff]]`` (``T`` or a space
  between date and time); a value with an offset or zone is rejected: declare TIMESTAMPTZ.
- TIMESTAMPTZ (an instant): the same, followed by ``Z``, an offset (``+05:00``, ``+0500``,
  ``+05``, at most 14 hours) or an IANA zone name after a space (``America/New_York``); with
  none, the feed's (or source's) declared ``timezone``. A local time that does not exist in its
  zone (skipped by a daylight-saving change) or occurs twice (repeated by one), and an unknown
  zone name, are rejected.
- VARCHAR: any text.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mesh_orchestrator.core.spec import DEFAULT_TIMEZONE
from mesh_orchestrator.core.sql import literal

#: Zones without daylight-saving changes, whose local times map to instants directly.
_FIXED_ZONES = ("UTC", "Etc/UTC")
#: Fractional digits a scaled number may carry before the factor applies.
_SCALE_DIGITS = 9

_DOT = r"[+-]?[0-9]+(\.[0-9]+)?"
_COMMA = r"[+-]?([0-9]+|[0-9]{1,3}(\.[0-9]{3})+)(,[0-9]+)?"
_EXPONENT = r"([eE][+-]?[0-9]+)?"
_WRITTEN = {
    ".": "a number written like -1234.56 ('.' before the decimals, no thousands separators)",
    ",": "a number written like -1234,56 or 1.234,56 (',' before the decimals, '.' between thousands)",
}
_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
_OFFSET = r"Z|[+-](?:0[0-9]|1[0-4])(?::?[0-5][0-9])?"
_ZONE_NAME = r"UTC|[A-Za-z]+(?:/[A-Za-z0-9_+-]+)+"
_INSTANT = rf"{_DAY}[T ]{_CLOCK}(?:{_OFFSET}| (?:{_ZONE_NAME}))?"
_WALL_RULE = "YYYY-MM-DD HH:MM[:SS[.ffffff]]"
_BOOLEANS = ("true", "false", "t", "f", "yes", "no", "y", "n", "1", "0")
_INTEGER_RANGES = {
    "INTEGER": "-2147483648 to 2147483647",
    "BIGINT": "-9223372036854775808 to 9223372036854775807",
}
#: Zone names the database knows (ICU), read once per query.
_KNOWN_ZONES = "(SELECT list(name) FROM pg_timezone_names())"


@dataclass(frozen=True)
class Conventions:
    """How one sender writes values: its decimal separator, the zone of its local times and its
    date format (strptime, e.g. ``%d.%m.%Y``; None: ISO ``YYYY-MM-DD``)."""

    decimal_separator: str = "."
    timezone: str = DEFAULT_TIMEZONE
    date_format: str | None = None


@dataclass(frozen=True)
class Parsed:
    """SQL for one column: the typed ``value`` (NULL exactly when the text is NULL or breaks the
    rule) and the ``problem`` (VARCHAR: what is wrong and what the rule is, where the value is NULL)."""

    value: str
    problem: str
    #: Helper columns ``(name, SQL)`` that ``value`` and ``problem`` refer to, in stages: compute
    #: each stage in its own SELECT over the previous one (each is then computed once per row).
    stages: tuple[tuple[tuple[str, str], ...], ...] = ()

    def select(self, relation: str) -> str:
        """``relation`` (a table or a parenthesised query) with the helper columns added."""
        for stage in self.stages:
            columns = ", ".join(f"{sql} AS {name}" for name, sql in stage)
            relation = f"(SELECT *, {columns} FROM {relation})"
        return relation


def parse(
    text: str,
    column_type: str,
    conventions: Conventions = Conventions(),
    factor: float | None = None,
    name: str = "_parsed",
) -> Parsed:
    """The typed value of the SQL text expression ``text`` under ``column_type``'s rule (see the
    module docstring), written in ``conventions``, multiplied by ``factor`` if given. Helper
    columns (see ``Parsed.stages``) are named ``<name>_<part>``."""
    if column_type == "VARCHAR":
        return Parsed(text, literal("any text"))
    if column_type == "BOOLEAN":
        allowed = ", ".join(literal(v) for v in _BOOLEANS)
        return (
            _Rule(text)
            .reject(f"lower({text}) NOT IN ({allowed})", "true/false, t/f, yes/no, y/n or 1/0")
            .build(f"TRY_CAST({text} AS BOOLEAN)", "true/false, t/f, yes/no, y/n or 1/0")
        )
    if column_type in _INTEGER_RANGES or column_type == "DOUBLE" or column_type.startswith("DECIMAL"):
        return _number(text, column_type, conventions, factor)
    if column_type == "DATE":
        return _date(text, conventions)
    if column_type == "TIMESTAMP":
        return _timestamp(text, conventions)
    if column_type == "TIMESTAMPTZ":
        return _instant(text, conventions, name)
    raise ValueError(f"no parsing rule for type {column_type!r}")


def bad_type(column: str, column_type: str, text: str, value: str, problem: str) -> str:
    """SQL of the ``bad_type`` reason where the text is present and its typed ``value`` (the
    ``Parsed.value``, or a column that holds it) is NULL, saying the ``problem``; else NULL."""
    return (
        f"CASE WHEN {text} IS NOT NULL AND {value} IS NULL THEN 'bad_type: ' || "
        f"{literal(column)} || '=' || left({text}, 40) || {literal(f' is not {column_type} (')} || "
        f"{problem} || ')' END"
    )


class _Rule:
    """Checks in order, each a condition that rejects the text and why; then the typed value."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.checks: list[tuple[str, str]] = []

    def reject(self, condition: str, why: str, *, sql: bool = False) -> _Rule:
        self.checks.append((condition, why if sql else literal(why)))
        return self

    def build(
        self,
        value: str,
        why_null: str,
        *,
        sql: bool = False,
        stages: list[tuple[tuple[str, str], ...]] | None = None,
    ) -> Parsed:
        """``value`` is the typed value once every check passed; where it is still NULL (out of
        range, not a day of the calendar), ``why_null`` says why."""
        rejected = " ".join(f"WHEN {condition} THEN NULL" for condition, _ in self.checks)
        whys = " ".join(f"WHEN {condition} THEN {why}" for condition, why in self.checks)
        why_null = why_null if sql else literal(why_null)
        return Parsed(
            value=f"(CASE WHEN {self.text} IS NULL THEN NULL {rejected} ELSE {value} END)",
            problem=f"(CASE {whys} WHEN {value} IS NULL THEN {why_null} ELSE 'unreadable' END)",
            stages=tuple(stages or ()),
        )


def _number(text: str, column_type: str, conventions: Conventions, factor: float | None) -> Parsed:
    separator = conventions.decimal_separator
    exponent = _EXPONENT if column_type == "DOUBLE" else ""
    form = (_COMMA if separator == "," else _DOT) + exponent
    written = _WRITTEN[separator] + (", an exponent allowed" if exponent else ", no exponent")
    rule = _Rule(text).reject(f"NOT regexp_full_match({text}, {literal(form)})", written)
    number = f"replace(replace({text}, '.', ''), ',', '.')" if separator == "," else text
    after = ""
    if factor is not None:
        number, after = _scaled(rule, number, column_type, factor)
    if column_type == "DOUBLE":
        double = f"TRY_CAST({number} AS DOUBLE)"
        return rule.build(f"CASE WHEN isfinite({double}) THEN {double} END", f"a finite number{after}")
    if column_type in _INTEGER_RANGES:
        rule.reject(f"NOT regexp_full_match({number}, '[+-]?[0-9]+(\\.0*)?')", f"a whole number{after}")
        return rule.build(
            f"TRY_CAST({number} AS {column_type})", f"out of range {_INTEGER_RANGES[column_type]}{after}"
        )
    precision, scale = (int(p) for p in column_type[len("DECIMAL(") : -1].split(","))
    rule.reject(
        f"NOT regexp_full_match({number}, {literal(_places(scale))})",
        f"at most {scale} decimal places{after}, it would be rounded",
    )
    return rule.build(
        f"TRY_CAST({number} AS {column_type})",
        f"at most {precision - scale} digits before the decimal point{after}",
    )


def _places(scale: int) -> str:
    """A plain number with at most ``scale`` decimal places, trailing zeros aside."""
    return r"[+-]?[0-9]+(\.[0-9]{0," + str(scale) + "}0*)?"


def _scaled(rule: _Rule, number: str, column_type: str, factor: float) -> tuple[str, str]:
    """``number`` times ``factor``, exactly, as text; and the words that say so in a reason."""
    after = f" after scaling by {factor!r}"
    if column_type == "DOUBLE":
        return f"CAST(TRY_CAST({number} AS DOUBLE) * {factor!r} AS VARCHAR)", after
    exact = format(Decimal(repr(factor)), "f")
    whole, _, fraction = exact.partition(".")
    factor_type = f"DECIMAL({len(whole) + len(fraction)},{len(fraction)})"
    width = 38 - len(whole) - len(fraction)  # the product's precision stays within 38 digits
    if width <= _SCALE_DIGITS:
        raise ValueError(f"scale factor {factor!r} has too many digits to apply exactly")
    wide = f"TRY_CAST({number} AS DECIMAL({width},{_SCALE_DIGITS}))"
    rule.reject(
        f"NOT regexp_full_match({number}, {literal(_places(_SCALE_DIGITS))})",
        f"at most {_SCALE_DIGITS} decimal places before scaling by {factor!r}",
    )
    rule.reject(f"{wide} IS NULL", f"at most {width - _SCALE_DIGITS} digits before scaling by {factor!r}")
    return f"CAST({wide} * CAST({literal(exact)} AS {factor_type}) AS VARCHAR)", after


def _date(text: str, conventions: Conventions) -> Parsed:
    fmt = conventions.date_format
    if fmt is None:
        rule = _Rule(text).reject(f"NOT regexp_full_match({text}, {literal(_DAY)})", "YYYY-MM-DD")
        return rule.build(f"TRY_CAST({text} AS DATE)", "YYYY-MM-DD, a day of the calendar")
    return _Rule(text).build(
        f"CAST({_strptime(text, conventions)} AS DATE)", f"a day of the calendar written as {fmt}"
    )


def _timestamp(text: str, conventions: Conventions) -> Parsed:
    fmt = conventions.date_format
    if fmt is not None:
        return _Rule(text).build(
            f"CAST({_strptime(text, conventions)} AS TIMESTAMP)", f"a date and time written as {fmt}"
        )
    rule = _Rule(text).reject(
        f"NOT regexp_full_match({text}, {literal(f'{_DAY}[T ]{_CLOCK}')})",
        f"{_WALL_RULE} without offset or zone; declare TIMESTAMPTZ for instants",
    )
    return rule.build(f"TRY_CAST({text} AS TIMESTAMP)", f"{_WALL_RULE}, a day of the calendar")


def _strptime(text: str, conventions: Conventions) -> str:
    """The sender's formatted date or time as a wall-clock TIMESTAMP (a value with an offset
    (%z) is read as the wall-clock time in the declared zone, whatever the session's zone)."""
    fmt = conventions.date_format or ""
    parsed = f"try_strptime({text}, {literal(fmt)})"
    if "%z" in fmt or "%Z" in fmt:
        return f"timezone({literal(conventions.timezone)}, {parsed})"
    return parsed


def _instant(text: str, conventions: Conventions, name: str) -> Parsed:
    zone, fmt = conventions.timezone, conventions.date_format
    if fmt is not None and ("%z" in fmt or "%Z" in fmt):
        return _Rule(text).build(f"try_strptime({text}, {literal(fmt)})", f"a time written as {fmt}")
    wall, tail = f"{name}_wall", f"{name}_tail"  # tail: 'Z', '+05:00', ' America/New_York' or ''
    if fmt is not None:
        stages: list[tuple[tuple[str, str], ...]] = [((wall, f"try_strptime({text}, {literal(fmt)})"),)]
        rule = _Rule(text).reject(f"{wall} IS NULL", f"a date and time written as {fmt}")
        naive = "true"
    else:
        # once the text has the form, string functions split it (cheaper than a regex per part)
        stages = [
            ((tail, f"ltrim(substr({text}, 12), '0123456789:.')"),),
            ((wall, f"TRY_CAST(left({text}, length({text}) - length({tail})) AS TIMESTAMP)"),),
        ]
        rule = _Rule(text).reject(
            f"NOT regexp_full_match({text}, {literal(_INSTANT)})",
            f"{_WALL_RULE}, then Z, an offset (+05:00) or a space and a zone name (America/New_York); "
            f"without them a time in {zone}",
        )
        rule.reject(f"{wall} IS NULL", f"{_WALL_RULE}, a day of the calendar")
        naive = f"{tail} = ''"
    declared = _Local(wall, literal(zone), fixed=zone in _FIXED_ZONES, shifts=(name, naive))
    if declared.shifts:
        stages.append(declared.shifts)
    rule.reject(
        f"CASE WHEN {naive} THEN {declared.gap} ELSE false END",
        f"does not exist in {zone}: skipped by a daylight-saving change",
    )
    rule.reject(
        f"CASE WHEN {naive} THEN {declared.overlap} ELSE false END",
        f"occurs twice in {zone}: repeated by a daylight-saving change",
    )
    if fmt is not None:
        return rule.build(declared.value, "unreadable", stages=stages)
    zone_name = f"ltrim({tail}, ' ')"
    is_named = f"starts_with({tail}, ' ')"
    # an unknown name never reaches timezone(), which would fail the whole query
    named = _Local(
        wall, f"CASE WHEN list_contains({_KNOWN_ZONES}, {zone_name}) THEN {zone_name} ELSE 'UTC' END"
    )
    rule.reject(
        f"CASE WHEN {is_named} THEN NOT list_contains({_KNOWN_ZONES}, {zone_name}) ELSE false END",
        f"'unknown time zone ' || {zone_name}",
        sql=True,
    )
    rule.reject(
        f"CASE WHEN {is_named} THEN {named.gap} ELSE false END",
        f"'does not exist in ' || {zone_name} || ': skipped by a daylight-saving change'",
        sql=True,
    )
    rule.reject(
        f"CASE WHEN {is_named} THEN {named.overlap} ELSE false END",
        f"'occurs twice in ' || {zone_name} || ': repeated by a daylight-saving change'",
        sql=True,
    )
    value = (
        f"CASE WHEN {naive} THEN {declared.value} WHEN {is_named} THEN {named.value} "
        f"ELSE TRY_CAST(left({text}, length({text}) - length({tail})) || {tail} AS TIMESTAMPTZ) END"
    )
    return rule.build(value, "unreadable", stages=stages)


class _Local:
    """A wall-clock TIMESTAMP ``wall`` in the zone ``zone`` (SQL) as an instant, independent of
    the session's TimeZone.

    The zone's offsets a day before and a day after give the candidate instants; where they
    differ (a daylight-saving change), the wall time may match both (it occurs twice) or neither
    (it does not exist). With ``shifts=(name, where)``, the two offsets are helper columns
    (``self.shifts``), computed once per row where ``where`` holds.
    """

    def __init__(
        self, wall: str, zone: str, *, fixed: bool = False, shifts: tuple[str, str] | None = None
    ) -> None:
        self.shifts: tuple[tuple[str, str], ...] = ()
        if fixed:
            self.value, self.gap, self.overlap = f"timezone({zone}, {wall})", "false", "false"
            return
        utc = f"timezone('UTC', {wall})"
        before = f"(timezone({zone}, {utc} - INTERVAL 1 DAY) - ({wall} - INTERVAL 1 DAY))"
        after = f"(timezone({zone}, {utc} + INTERVAL 1 DAY) - ({wall} + INTERVAL 1 DAY))"
        if shifts is not None:
            name, where = shifts
            self.shifts = (
                (f"{name}_before", f"CASE WHEN {where} THEN {before} END"),
                (f"{name}_after", f"CASE WHEN {where} THEN {after} END"),
            )
            before, after = f"{name}_before", f"{name}_after"
        first, second = f"({utc} - {before})", f"({utc} - {after})"
        first_ok = f"(timezone({zone}, {first}) = {wall})"
        second_ok = f"(timezone({zone}, {second}) = {wall})"
        changes = f"{before} <> {after}"
        self.value = (
            f"CASE WHEN {before} = {after} THEN {first} WHEN {first_ok} AND {second_ok} THEN NULL "
            f"WHEN {first_ok} THEN {first} WHEN {second_ok} THEN {second} END"
        )
        self.gap = f"({changes} AND NOT {first_ok} AND NOT {second_ok})"
        self.overlap = f"({changes} AND {first_ok} AND {second_ok})"
