"""Vectorised text formatting: numbers, ids and timestamps as Arrow string arrays.

Millions of rows per second rule out per-row f-strings. Fixed-width fields (ids, SKUs,
timestamps, UUIDs) are built as byte matrices with numpy and handed to Arrow without copying;
variable-width fields are cast or looked up by Arrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DAY = 86_400
#: Epoch seconds of 2026-01-01 00:00:00, the start of the generated period.
START = int(np.datetime64("2026-01-01T00:00:00", "s").astype(np.int64))

#: A piece of a fixed-width field: literal bytes, or integers and the number of digits to print.
Part = bytes | tuple[np.ndarray, int]

#: "00".."99" as little-endian uint16 values, so two digits are written with one gather.
_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint16)
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def _put_digits(buf: np.ndarray, col: int, values: np.ndarray, width: int) -> None:
    """Write zero-padded non-negative ``values`` into ``buf[:, col:col+width]``."""
    values = np.asarray(values)
    small = len(values) == 0 or int(values.max()) < 2**32
    rest: np.ndarray[Any, Any] = values.astype(np.uint32 if small else np.uint64)  # fast division
    end = col + width
    while end - col >= 2:
        quotient = rest // 100
        buf[:, end - 2 : end] = _PAIRS[rest - quotient * 100].view(np.uint8).reshape(-1, 2)
        rest = quotient
        end -= 2
    if end > col:
        buf[:, col] = rest % 10 + 48


def from_matrix(buf: np.ndarray) -> pa.Array:
    """A string array whose i-th value is row i of a uint8 byte matrix (zero-copy)."""
    n, width = buf.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(buf)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _matrix(n: int, parts: Sequence[Part]) -> np.ndarray:
    """Byte matrix of ``n`` rows made of literal and zero-padded numeric parts."""
    parts = [p for p in parts if not isinstance(p, bytes) or p]
    widths = [len(p) if isinstance(p, bytes) else p[1] for p in parts]
    buf = np.empty((n, sum(widths)), dtype=np.uint8)
    col = 0
    for part, width in zip(parts, widths, strict=True):
        if isinstance(part, bytes):
            buf[:, col : col + width] = np.frombuffer(part, np.uint8)
        else:
            _put_digits(buf, col, part[0], width)
        col += width
    return buf


def fixed_width(n: int, parts: Sequence[Part]) -> pa.Array:
    """Concatenate literal and zero-padded numeric parts into ``n`` equal-width strings."""
    return from_matrix(_matrix(n, parts))


def ids(prefix: str, numbers: np.ndarray, width: int, quote: bool = False) -> pa.Array:
    """Zero-padded identifiers like ``DO-0000001``; widens instead of truncating big numbers."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers):
        width = max(width, len(str(int(numbers.max()))))
    q = b'"' if quote else b""
    return fixed_width(len(numbers), [q + prefix.encode(), (numbers, width), q])


def integers(values: np.ndarray) -> pa.Array:
    """Plain decimal integers (may be negative)."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def decimals(cents: np.ndarray) -> pa.Array:
    """Non-negative amounts in cents as text with exactly two decimals, e.g. ``12.50``."""
    cents = np.asarray(cents, dtype=np.int64)
    fraction = fixed_width(len(cents), [b".", (cents % 100, 2)])
    return pc.binary_join_element_wise(integers(cents // 100), fraction, "")


def signed_decimals(cents: np.ndarray) -> pa.Array:
    """Amounts in cents that may be negative, e.g. ``-1234.50``."""
    cents = np.asarray(cents, dtype=np.int64)
    text = decimals(np.abs(cents))
    return pc.if_else(pa.array(cents < 0), pc.binary_join_element_wise("-", text, ""), text)


def grouped_decimals(cents: np.ndarray, thousands: str = ".", point: str = ",") -> pa.Array:
    """Non-negative amounts the continental way, e.g. ``1.234.567,89`` (up to 10**15 units)."""
    cents = np.asarray(cents, dtype=np.int64)
    units = cents // 100
    tail = fixed_width(len(cents), [point.encode(), (cents % 100, 2)])
    text = pc.binary_join_element_wise(integers(units), tail, "")
    sep = thousands.encode()
    for groups in (1, 2, 3, 4):  # amounts with at least 3 * groups + 1 integer digits
        big = units >= 10 ** (3 * groups)
        if not big.any():
            break
        parts: list[Part] = []
        for g in range(groups, 0, -1):
            parts += [sep, (units // 10 ** (3 * (g - 1)) % 1000, 3)]
        grouped = pc.binary_join_element_wise(
            integers(units // 10 ** (3 * groups)), fixed_width(len(cents), parts), tail, ""
        )
        text = pc.if_else(pa.array(big), grouped, text)
    return text


def fixed_decimals(values: np.ndarray, places: int) -> pa.Array:
    """Non-negative integers in units of 10**-places, e.g. micro-units as ``0.923456``."""
    values = np.asarray(values, dtype=np.int64)
    fraction = fixed_width(len(values), [b".", (values % 10**places, places)])
    return pc.binary_join_element_wise(integers(values // 10**places), fraction, "")


def pick(options: Sequence[str], index: np.ndarray) -> pa.Array:
    """Values looked up by position in a small list of options (categories, channels...)."""
    return pa.array(list(options), pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def _date_table(first_day: int, last_day: int) -> np.ndarray:
    """``YYYY-MM-DD`` bytes for every day number (days since 1970) in the range."""
    origin = date(1970, 1, 1)
    text = "".join((origin + timedelta(days=d)).isoformat() for d in range(first_day, last_day + 1))
    return np.frombuffer(text.encode(), np.uint8).reshape(-1, 10)


def timestamps(
    seconds: np.ndarray,
    *,
    sep: bytes = b" ",
    millis: np.ndarray | None = None,
    suffix: bytes = b"",
    quote: bool = False,
) -> pa.Array:
    """Epoch seconds as ``2026-01-05 08:15:30`` (or ISO ``2026-01-05T08:15:30.123Z`` style)."""
    secs = np.asarray(seconds, dtype=np.int64)
    n = len(secs)
    days = secs // DAY
    tod = secs - days * DAY
    q = b'"' if quote else b""
    tail: list[Part] = [b".", (millis, 3)] if millis is not None else []
    buf = _matrix(
        n,
        [
            q + b"0000-00-00" + sep,
            (tod // 3600, 2),
            b":",
            (tod // 60 % 60, 2),
            b":",
            (tod % 60, 2),
            *tail,
            suffix + q,
        ],
    )
    if n:
        first = int(days.min())
        date_col = len(q)
        buf[:, date_col : date_col + 10] = _date_table(first, int(days.max()))[days - first]
    return from_matrix(buf)


def dates(seconds: np.ndarray, quote: bool = False) -> pa.Array:
    """Epoch seconds as ``YYYY-MM-DD``."""
    days = np.asarray(seconds, dtype=np.int64) // DAY
    q = b'"' if quote else b""
    buf = np.empty((len(days), 10 + 2 * len(q)), dtype=np.uint8)
    if q:
        buf[:, 0] = buf[:, -1] = ord('"')
    if len(days):
        first = int(days.min())
        buf[:, len(q) : len(q) + 10] = _date_table(first, int(days.max()))[days - first]
    return from_matrix(buf)


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of days since 1970-01-01."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def dates_as(days: np.ndarray, pattern: str, quote: bool = False) -> pa.Array:
    """Day numbers (days since 1970) in a strftime-like ``pattern`` of %Y, %m, %d and literals,
    such as ``%d.%m.%Y``."""
    year, month, day = ymd(days)
    fields = {"Y": (year, 4), "m": (month, 2), "d": (day, 2)}
    parts: list[Part] = [b'"'] if quote else []
    rest = pattern
    while rest:
        if rest.startswith("%"):
            parts.append(fields[rest[1]])
            rest = rest[2:]
        else:
            literal = rest.split("%", 1)[0]
            parts.append(literal.encode())
            rest = rest[len(literal) :]
    if quote:
        parts.append(b'"')
    return fixed_width(len(year), parts)


def uuids(rng: np.random.Generator, n: int, quote: bool = False) -> pa.Array:
    """Random version-4 style UUIDs, reproducible from ``rng``."""
    nibbles = rng.integers(0, 16, size=(n, 32), dtype=np.uint8)
    nibbles[:, 12] = 4
    nibbles[:, 16] = 8 + (nibbles[:, 16] & 3)
    chars = _HEX[nibbles]
    q = 1 if quote else 0
    buf = np.empty((n, 36 + 2 * q), dtype=np.uint8)
    if q:
        buf[:, 0] = buf[:, -1] = ord('"')
    dash = np.frombuffer(b"-", np.uint8)
    col = q
    for start, stop in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)):
        if start:
            buf[:, col] = dash
            col += 1
        buf[:, col : col + stop - start] = chars[:, start:stop]
        col += stop - start
    return from_matrix(buf)


def quoted(values: pa.Array) -> pa.Array:
    """JSON string tokens for generated text that needs no escaping (ids, codes)."""
    return pc.binary_join_element_wise('"', values, '"', "")
