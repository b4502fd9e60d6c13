"""JSON Schema validation whose error reads as the mesh's: the file, the dotted field, what to fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.models import dotted


def plain(value: Any) -> Any:
    """YAML dates as ISO strings, so JSON Schema sees what the author wrote."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _describe(error: Any) -> tuple[str, str]:
    """(field, problem) of one JSON Schema error, in the words of the file's author."""
    parts = list(error.absolute_path)
    kind = error.validator
    if kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return dotted([*parts, missing[0]]) or "<root>", "is required"
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return dotted([*parts, extra[0]]), f"unknown field; allowed: {', '.join(allowed)}"
    if kind == "unevaluatedProperties":  # the fields a schema composed of several parts did not take
        return dotted(parts) or "<root>", error.message
    if kind in ("pattern", "enum", "const", "format", "minLength", "type", "minItems", "uniqueItems"):
        hint = error.schema.get("description")
        problem = f"{error.instance!r}: {error.message}" if kind != "type" else error.message
        if kind == "pattern" and hint:
            problem = f"{error.instance!r} must be {hint}"
        elif kind == "enum":
            problem = f"{error.instance!r} must be one of {', '.join(map(str, error.validator_value))}"
        return dotted(parts) or "<root>", problem
    return dotted(parts) or "<root>", error.message


def check(validator: Any, data: Any, path: Path, standard: str = "") -> None:
    """Raise a :class:`SpecError` naming the first problems of ``data`` against ``validator``'s
    schema (``standard`` names it in the message, e.g. ``ODCS v3.1.0``)."""
    # unevaluatedProperties errors follow from the others (a part that failed took no fields): last
    errors = sorted(
        validator.iter_errors(plain(data)),
        key=lambda e: (e.validator == "unevaluatedProperties", [str(p) for p in e.absolute_path]),
    )
    if not errors:
        return
    problems = list(dict.fromkeys(_describe(e) for e in errors))
    where, problem = problems[0]
    if len(problems) > 1:
        problem += "; also " + "; ".join(f"'{w}': {p}" for w, p in problems[1:6])
    if standard:
        problem += f" (against the {standard} JSON Schema)"
    raise SpecError(path, where, problem)
