"""Hand-written expectations beside a generated suite: ``quality/expectations/<domain>/<product>.yaml``.

The contract states one column at a time; a relation between columns (unit price above unit cost,
net pay at most gross pay) needs a Great Expectations expectation of its own. The optional file
holds such expectations, each with the reason it holds, and the audit appends them to the suite
generated from the contract.

Only row-wise expectations are allowed (column map, column pair map and multicolumn map ones that
judge each row alone). The audit validates a big product in parts of ``audit.CHUNK_ROWS`` rows and
merges the parts' verdicts by summing their unexpected counts, which is exact only when every row
is judged on its own. An aggregate (a mean, sum, maximum, distinct values or row count) or a
comparison between rows (uniqueness, increasing values) computed per part says nothing about the
whole product: every part's mean can be in range while the product's is not, and a duplicate can
straddle two parts. ``mostly`` is refused for the same reason: a fraction met by each part is not
the fraction of the whole, and a gate is all or nothing anyway.

Loading and validating does not import ``great_expectations`` (seconds to import), so it is cheap
enough to run when the Dagster definitions load; :func:`gx_expectations` imports it when an audit
builds its suite.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import Field, ValidationInfo, field_validator

from mesh_orchestrator.core.contracts import Contract
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.models import SpecModel, non_empty_list, problem, validate
from mesh_orchestrator.core.paths import REPO_ROOT

EXPECTATIONS_DIR = REPO_ROOT / "quality" / "expectations"
#: ``meta`` key of a GX expectation built from this file: where it is in the file, e.g. ``expectations[0]``.
META_KEY = "extra_expectation"

#: The row-wise expectations of GX Core 1.24 that work on the audit's pandas batches. Not listed:
#: uniqueness and increasing/decreasing (rows compared with other rows), z-scores and outliers (judged
#: against the column's statistics), types (checked on the Arrow schema against the contract; the
#: batch holds decimals as floats), LIKE patterns (SQL only). As the batch holds DECIMAL columns as
#: doubles, comparisons are exact but ``expect_multicolumn_sum_to_equal`` of money is not.
#: ``expect_column_pair_values_to_be_in_set`` runs row by row in Python (about 40 µs a row: 28 s on
#: the general ledger's 726k rows at scale 2000); on a big product, write a SQL check instead.
ALLOWED = frozenset(
    {
        # column map
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_null",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_values_to_not_match_regex_list",
        "expect_column_values_to_match_strftime_format",
        "expect_column_values_to_be_dateutil_parseable",
        "expect_column_values_to_be_json_parseable",
        "expect_column_values_to_match_json_schema",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
        # column pair map
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_to_be_in_set",
        # multicolumn map
        "expect_multicolumn_sum_to_equal",
        "expect_multicolumn_values_to_be_equal",
        "expect_select_column_values_to_be_unique_within_record",
    }
)
#: kwargs naming one column, and naming a list of columns.
COLUMN_KWARGS = ("column", "column_A", "column_B")
COLUMN_LIST_KWARGS = ("column_list",)
#: kwargs the audit sets itself or that would make a verdict depend on how the product is split.
REFUSED_KWARGS = {
    "mostly": "is not allowed: the audit is all or nothing, and a fraction met by each part of a big "
    "product is not the fraction of the whole",
    **{
        name: "is set by the audit, not here"
        for name in (
            "result_format",
            "catch_exceptions",
            "meta",
            "id",
            "notes",
            "description",
            "severity",
            "rendered_content",
            "windows",
            "batch_id",
        )
    },
}
_NAME = re.compile(r"^expect_[a-z0-9]+(_[a-z0-9]+)*$")
_STRING = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""")
_WORD = re.compile(r"\b[A-Za-z_]\w*")
_QUERY_WORDS = frozenset({"and", "or", "not", "in", "is", "True", "False", "None"})


@dataclass(frozen=True)
class ExtraExpectation:
    """One validated entry: a GX expectation's snake_case name, its kwargs and why it must hold."""

    expectation: str
    kwargs: Mapping[str, Any]
    why: str
    where: str  # e.g. "expectations[0]", as error messages and audit labels name it
    path: Path

    @property
    def class_name(self) -> str:
        """The class in ``great_expectations.expectations``: the CamelCase of the name."""
        return "".join(part.capitalize() for part in self.expectation.split("_"))


def expectations_path(domain: str, product: str) -> Path:
    return EXPECTATIONS_DIR / domain / f"{product}.yaml"


def _condition_columns(condition: Any, columns: set[str]) -> None:
    """A pandas ``row_condition`` may only compare the contract's columns with literals."""
    if not isinstance(condition, str) or not condition.strip():
        raise problem("must be a pandas query string, e.g. \"status == 'paid'\"", "row_condition")
    if "@" in condition or "`" in condition:
        raise problem("may not use @variables or `quoted names`", "row_condition")
    for word in _WORD.findall(_STRING.sub("''", condition)):
        if word not in columns and word not in _QUERY_WORDS:
            what = "a keyword" if keyword.iskeyword(word) else "not a column of the contract"
            raise problem(f"{word!r} is {what}; compare columns with literals only", "row_condition")


class ExpectationEntry(SpecModel):
    """One entry of the file: a row-wise GX expectation, its arguments and why it must hold."""

    expectation: str = Field(description="the snake_case name of a row-wise GX expectation")
    kwargs: dict[str, Any] = Field(description="the expectation's arguments")
    why: str = Field(description="say why the expectation must hold")

    @field_validator("expectation", mode="before")
    @classmethod
    def _row_wise(cls, name: Any) -> str:
        if not isinstance(name, str) or not _NAME.match(name):
            raise problem(f"{name!r} must be a snake_case name starting with expect_")
        if name not in ALLOWED:
            raise problem(
                f"{name} is not a row-wise expectation the audit allows (big products are validated in "
                f"parts, so aggregates are not); allowed: {', '.join(sorted(ALLOWED))}"
            )
        return name

    @field_validator("kwargs", mode="before")
    @classmethod
    def _arguments(cls, raw: Any, info: ValidationInfo) -> dict[str, Any]:
        """Columns of the contract only, and nothing that makes a verdict depend on the split."""
        if not isinstance(raw, dict):
            raise problem("must be a mapping of the expectation's arguments")
        columns: set[str] = (info.context or {})["columns"]
        for name, value in raw.items():
            if name in REFUSED_KWARGS:
                raise problem(REFUSED_KWARGS[name], name)
            if name in COLUMN_KWARGS and (not isinstance(value, str) or value not in columns):
                raise problem(f"{value!r} is not a column of the contract", name)
            if name in COLUMN_LIST_KWARGS:
                if not isinstance(value, list) or len(value) < 2:
                    raise problem("must be a list of at least two columns", name)
                for i, column in enumerate(value):
                    if not isinstance(column, str) or column not in columns:
                        raise problem(f"{column!r} is not a column of the contract", name, i)
        if "row_condition" in raw:
            _condition_columns(raw["row_condition"], columns)
            if raw.get("condition_parser") != "pandas":
                raise problem(
                    "must be 'pandas' with a row_condition (batches are pandas)", "condition_parser"
                )
        return dict(raw)

    @field_validator("why", mode="before")
    @classmethod
    def _said(cls, why: Any) -> str:
        if not isinstance(why, str) or not why.strip():
            raise problem("is required: say why the expectation must hold")
        return why.strip()


class ExpectationsFile(SpecModel):
    """``quality/expectations/<domain>/<product>.yaml``, validated against the product's contract."""

    product: str = Field(description="the product's id, <domain>.<product>")
    expectations: list[ExpectationEntry] = Field(
        description="a non-empty list of expectations (delete the file to have none)"
    )

    @field_validator("product", mode="before")
    @classmethod
    def _this_product(cls, product: Any, info: ValidationInfo) -> str:
        expected = (info.context or {})["product"]
        if product != expected:
            raise problem(f"must be {expected!r}, the product whose contract and path this file has")
        return str(product)

    @field_validator("expectations", mode="before")
    @classmethod
    def _some(cls, entries: Any) -> list[Any]:
        return non_empty_list(entries, "must be a non-empty list (delete the file to have none)")


def parse_extra_expectations(data: Any, path: Path, contract: Contract) -> tuple[ExtraExpectation, ...]:
    """Validate a parsed file against the product's contract; every error names ``path`` and the entry."""
    context = {"product": contract.id, "columns": set(contract.column_names)}
    parsed = validate(ExpectationsFile, data, path, context)
    return tuple(
        ExtraExpectation(
            entry.expectation, MappingProxyType(entry.kwargs), entry.why, f"expectations[{i}]", path
        )
        for i, entry in enumerate(parsed.expectations)
    )


def load_extra_expectations(contract: Contract, path: Path | None = None) -> tuple[ExtraExpectation, ...]:
    """The product's extra expectations, validated; none when it has no file."""
    path = path or expectations_path(contract.domain, contract.product)
    if not path.is_file():
        return ()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(path, "<file>", f"not valid YAML: {exc}") from exc
    return parse_extra_expectations(data, path, contract)


def _kwargs_error(extra: ExtraExpectation, exc: Exception) -> SpecError:
    """GX's pydantic error as the first bad argument and what is wrong with it."""
    listed = getattr(exc, "errors", None)
    errors: list[dict[str, Any]] = listed() if callable(listed) else []
    if not errors:
        return SpecError(extra.path, f"{extra.where}.kwargs", str(exc))
    field = errors[0]["loc"][0] if errors[0].get("loc") else "__root__"
    messages = dict.fromkeys(e["msg"] for e in errors if (e.get("loc") or ("__root__",))[0] == field)
    where = f"{extra.where}.kwargs" + ("" if field == "__root__" else f".{field}")
    return SpecError(extra.path, where, f"invalid for {extra.expectation}: {' or '.join(messages)}")


def gx_expectations(extras: Iterable[ExtraExpectation]) -> list[Any]:
    """GX Core expectation objects, each marked in ``meta`` as coming from the file (imports GX)."""
    import great_expectations.expectations as gxe

    built = []
    for extra in extras:
        cls = getattr(gxe, extra.class_name, None)
        if cls is None:  # an allowed name the installed GX does not have
            raise SpecError(extra.path, f"{extra.where}.expectation", f"GX has no {extra.class_name}")
        try:
            built.append(cls(**extra.kwargs, meta={META_KEY: extra.where, "why": extra.why}))
        except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
            raise _kwargs_error(extra, exc) from None
    return built
