"""Identifiers and types from specs and contracts, validated before they reach SQL."""

from __future__ import annotations

import re

from mesh_orchestrator.core.errors import IdentifierError

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_TYPE = re.compile(
    r"^(VARCHAR|BOOLEAN|INTEGER|BIGINT|DOUBLE|DATE|TIMESTAMP|TIMESTAMPTZ"
    r"|DECIMAL\((?P<p>\d{1,2}),(?P<s>\d{1,2})\))$"
)


def identifier(name: str, where: str = "identifier") -> str:
    """Return ``name`` double-quoted for SQL after checking it is snake_case."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise IdentifierError(str(name), where)
    return f'"{name}"'


def is_identifier(name: object) -> bool:
    return isinstance(name, str) and bool(_IDENTIFIER.match(name))


def normalise_type(raw: str) -> str | None:
    """Canonical upper-case DuckDB type for ``raw`` or None when it is not a supported type."""
    text = re.sub(r"\s+", "", str(raw)).upper()
    match = _TYPE.match(text)
    if not match:
        return None
    if match.group("p") is not None and int(match.group("s")) > int(match.group("p")):
        return None
    return text


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"
