"""Typed YAML: pydantic models whose errors read as the mesh's, naming the file and the field.

The YAML files teams write (a domain's spec and schedules, the policies, extra expectations) are
read into :class:`SpecModel` subclasses: pydantic checks types and shapes, the models' validators
check meaning. Either way the first problem becomes one :class:`SpecError` with the file, the field
as a dotted path (``feeds.orders.columns[0].type``) and what to fix, as hand-written readers said it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from mesh_orchestrator.core.errors import SpecError

#: The error type of a problem a model's validator states in its own words.
PROBLEM = "mesh_problem"

M = TypeVar("M", bound="SpecModel")


def problem(text: str, *field: str | int) -> PydanticCustomError:
    """A validator's error in its own words; ``field`` names a member of the value being validated
    (keys or indexes, outermost first), so that the error points at it rather than at the value."""
    return PydanticCustomError(PROBLEM, "{text}", {"text": text, "field": list(field)})


class SpecModel(BaseModel):
    """A mapping of a team's YAML file: unknown fields are refused by name, values are immutable.

    A field's ``description`` is what an error says when the field is missing.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _mapping_of_known_fields(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise problem(f"expected a mapping, got {type(data).__name__}")
        allowed = sorted(field.alias or name for name, field in cls.model_fields.items())
        unknown = sorted(str(key) for key in data if key not in allowed)
        if unknown:
            raise problem(f"unknown field; allowed: {', '.join(allowed)}", unknown[0])
        return data


def validate(
    model: type[M],
    data: Any,
    path: Path,
    context: Mapping[str, Any] | None = None,
    at: Sequence[str | int] = (),
) -> M:
    """``data`` (parsed YAML of ``path``, found there at ``at``) as a ``model``; the first problem as
    a :class:`SpecError`."""
    try:
        return model.model_validate(data, context=dict(context or {}))
    except ValidationError as exc:
        raise spec_error(exc, path, model, at) from None


def spec_error(
    exc: ValidationError, path: Path, model: type[BaseModel], at: Sequence[str | int] = ()
) -> SpecError:
    """pydantic's first error, in the mesh's words: where (dotted) and what to fix."""
    error = exc.errors()[0]
    loc: list[str | int] = [*at, *error["loc"]]
    context = error.get("ctx") or {}
    if error["type"] == PROBLEM:
        loc += context.get("field") or []
        message = str(context["text"])
    elif error["type"] == "missing":
        description = _description(model, loc[len(at) :])
        message = f"is required: {description}" if description else "is required"
    elif error["type"] == "value_error":
        message = str(context.get("error") or error["msg"])
    else:
        message = f"{error['input']!r}: {error['msg'][0].lower()}{error['msg'][1:]}"
    return SpecError(path, dotted(loc) or "<root>", message)


def non_empty_list(value: Any, text: str) -> list[Any]:
    """``value`` if it is a list with something in it; the validator's problem ``text`` otherwise."""
    if not isinstance(value, list) or not value:
        raise problem(text)
    return value


def iana_zone(value: Any) -> str:
    """``value`` if it names an IANA time zone; a validator's problem otherwise."""
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise problem(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return str(value)


def dotted(loc: Sequence[str | int]) -> str:
    """``('feeds', 'orders', 'columns', 0, 'type')`` -> ``feeds.orders.columns[0].type``."""
    where = ""
    for part in loc:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where


def _description(model: type[BaseModel], loc: Sequence[str | int]) -> str:
    """The description of the field at ``loc``, following nested models through lists and dicts."""
    current: Any = model
    description = ""
    for part in loc:
        current = _without_none(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            field = current.model_fields[str(part)]
            description, current = field.description or "", field.annotation
        else:  # a list index or a dict key: into the container's values
            args = [a for a in getattr(current, "__args__", ()) if a is not Ellipsis]
            current, description = (args[-1] if args else None), ""
    return description


def _without_none(annotation: Any) -> Any:
    """``X`` of ``X | None``; any other annotation as it is."""
    if isinstance(annotation, UnionType) or get_origin(annotation) is Union:
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation
