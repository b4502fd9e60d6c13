"""Hand-written extra expectations (``quality/expectations``): validation, loading and their audit."""

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from mesh_orchestrator.core.contracts import Contract, load_contract, parse_contract
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.spec import load_all_specs
from mesh_orchestrator.quality import audit, extra_expectations
from mesh_orchestrator.quality.extra_expectations import (
    ALLOWED,
    gx_expectations,
    load_extra_expectations,
    parse_extra_expectations,
)

CONTRACT = {
    "id": "shop.items",
    "version": "1.0.0",
    "domain": "shop",
    "product": "items",
    "owner": "team:shop",
    "primary_key": ["sku"],
    "schema": [
        {"name": "sku", "type": "VARCHAR", "required": True},
        {"name": "price", "type": "DECIMAL(18,2)", "required": True},
        {"name": "cost", "type": "DECIMAL(18,2)", "required": True},
        {"name": "status", "type": "VARCHAR", "required": True},
    ],
}
ABOVE_COST = {
    "expectation": "expect_column_pair_values_a_to_be_greater_than_b",
    "kwargs": {"column_A": "price", "column_B": "cost"},
    "why": "We never sell below cost.",
}
RETIRED_NUMBERS = {
    "expectation": "expect_column_values_to_match_regex",
    "kwargs": {
        "column": "sku",
        "regex": "^SKU-1[0-9]{2}$",
        "row_condition": "status == 'retired'",
        "condition_parser": "pandas",
    },
    "why": "Retired items are renumbered into the 100s.",
}
VALID = {"product": "shop.items", "expectations": [ABOVE_COST, RETIRED_NUMBERS]}
PAIR = "expect_column_pair_values_a_to_be_greater_than_b(price,cost) [extra expectations[0]]"
RETIRED = "expect_column_values_to_match_regex(sku) [extra expectations[1]]"
D = pa.decimal128(18, 2)


@pytest.fixture
def contract(tmp_path: Path) -> Contract:
    return parse_contract(CONTRACT, tmp_path / "contracts" / "shop" / "items.yaml")


@pytest.fixture
def extras_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``quality/expectations`` moved to a temporary folder, as the audit looks it up."""
    folder = tmp_path / "expectations"
    monkeypatch.setattr(extra_expectations, "EXPECTATIONS_DIR", folder)
    return folder


def _write(folder: Path, data: Any) -> Path:
    path = folder / "shop" / "items.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _entry(**changes: Any) -> dict[str, Any]:
    return {**ABOVE_COST, **changes}


def _table(rows: list[tuple[str, str, str, str]]) -> pa.Table:
    skus, prices, costs, statuses = zip(*rows, strict=True)
    return pa.table(
        {
            "sku": pa.array(skus, pa.string()),
            "price": pa.array([Decimal(p) for p in prices], D),
            "cost": pa.array([Decimal(c) for c in costs], D),
            "status": pa.array(statuses, pa.string()),
        }
    )


def _entries(*entries: dict[str, Any]) -> dict[str, Any]:
    return {**VALID, "expectations": list(entries)}


@pytest.mark.parametrize(
    ("data", "field", "problem"),
    [
        (["not", "a", "mapping"], "<root>", "expected a mapping"),
        ({**VALID, "owner": "team:shop"}, "owner", "unknown field"),
        ({**VALID, "product": "shop.other"}, "product", "must be 'shop.items'"),
        ({"product": "shop.items"}, "expectations", "non-empty list"),
        (_entries(), "expectations", "non-empty list"),
        (_entries(ABOVE_COST, "expect_x"), "expectations[1]", "expected a mapping"),
        (_entries(_entry(note="x")), "expectations[0].note", "unknown field"),
        (
            _entries(_entry(expectation="ExpectColumnValuesToBeNull")),
            "expectations[0].expectation",
            "snake_case",
        ),
        (_entries(_entry(expectation="column_values_to_be_null")), "expectations[0].expectation", "expect_"),
        (
            _entries(_entry(expectation="expect_column_mean_to_be_between")),
            "expectations[0].expectation",
            "not a row-wise expectation",
        ),
        (
            _entries(_entry(expectation="expect_column_values_to_be_unique")),
            "expectations[0].expectation",
            "not a row-wise expectation",
        ),
        (
            _entries({"expectation": "expect_column_values_to_be_null", "why": "x"}),
            "expectations[0].kwargs",
            "is required",
        ),
        (_entries(_entry(kwargs=["price"])), "expectations[0].kwargs", "must be a mapping"),
        (_entries(_entry(why=" ")), "expectations[0].why", "is required"),
        (_entries({k: v for k, v in ABOVE_COST.items() if k != "why"}), "expectations[0].why", "is required"),
    ],
)
def test_file_errors_name_the_file_and_the_entry(
    tmp_path: Path, contract: Contract, data: Any, field: str, problem: str
) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(SpecError) as error:
        load_extra_expectations(contract, path)
    assert error.value.field == field
    assert problem in error.value.problem
    assert str(error.value).startswith(f"{path}: field '{field}': ")


@pytest.mark.parametrize(
    ("kwargs", "field", "problem"),
    [
        ({"column": "colour"}, "kwargs.column", "'colour' is not a column of the contract"),
        ({"column_A": "price", "column_B": "margin"}, "kwargs.column_B", "not a column"),
        ({"column_A": ["price"], "column_B": "cost"}, "kwargs.column_A", "not a column"),
        ({"column_list": ["price", "tax"], "sum_total": 1}, "kwargs.column_list[1]", "not a column"),
        ({"column_list": "price", "sum_total": 1}, "kwargs.column_list", "at least two columns"),
        ({"column": "price", "mostly": 0.9}, "kwargs.mostly", "fraction"),
        ({"column": "price", "meta": {}}, "kwargs.meta", "set by the audit"),
        ({"column": "price", "result_format": "COMPLETE"}, "kwargs.result_format", "set by the audit"),
        (
            {"column": "price", "row_condition": "colour == 'red'", "condition_parser": "pandas"},
            "kwargs.row_condition",
            "'colour' is not a column",
        ),
        (
            {"column": "price", "row_condition": "status == @wanted", "condition_parser": "pandas"},
            "kwargs.row_condition",
            "@variables",
        ),
        (
            {"column": "price", "row_condition": "status.str.len() > 0", "condition_parser": "pandas"},
            "kwargs.row_condition",
            "'str' is not a column",
        ),
        ({"column": "price", "row_condition": "status == 'retired'"}, "kwargs.condition_parser", "'pandas'"),
    ],
)
def test_kwargs_errors_name_the_argument(
    tmp_path: Path, contract: Contract, kwargs: dict[str, Any], field: str, problem: str
) -> None:
    entries = [
        ABOVE_COST,
        RETIRED_NUMBERS,
        _entry(expectation="expect_column_values_to_not_be_null", kwargs=kwargs),
    ]
    path = _write(tmp_path, {**VALID, "expectations": entries})
    with pytest.raises(SpecError) as error:
        load_extra_expectations(contract, path)
    assert error.value.field == f"expectations[2].{field}"
    assert problem in error.value.problem
    assert f"{path}: field 'expectations[2].{field}'" in str(error.value)


def test_invalid_yaml_names_the_file(tmp_path: Path, contract: Contract) -> None:
    path = tmp_path / "items.yaml"
    path.write_text("product: [unclosed", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid YAML") as error:
        load_extra_expectations(contract, path)
    assert error.value.path == str(path)


def test_no_file_means_no_extra_expectations(extras_dir: Path, contract: Contract) -> None:
    assert load_extra_expectations(contract) == ()


def test_a_valid_file_loads_from_the_products_path(extras_dir: Path, contract: Contract) -> None:
    path = _write(extras_dir, VALID)
    extras = load_extra_expectations(contract)
    assert [(e.expectation, e.where, e.path) for e in extras] == [
        ("expect_column_pair_values_a_to_be_greater_than_b", "expectations[0]", path),
        ("expect_column_values_to_match_regex", "expectations[1]", path),
    ]
    assert extras[0].class_name == "ExpectColumnPairValuesAToBeGreaterThanB"
    assert extras[0].why == "We never sell below cost."
    assert extras[1].kwargs["row_condition"] == "status == 'retired'"


def test_loading_does_not_need_great_expectations(tmp_path: Path) -> None:
    """Definitions validate the files at load time, where importing GX would cost seconds."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mesh_orchestrator.core.contracts import load_contract\n"
        "from mesh_orchestrator.quality.extra_expectations import load_extra_expectations\n"
        "assert load_extra_expectations(load_contract('sales', 'invoices'))\n"
        "assert 'great_expectations' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_every_allowed_expectation_is_a_row_wise_gx_expectation() -> None:
    import great_expectations.expectations as gxe
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )

    row_wise = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
    for name in sorted(ALLOWED):
        cls = getattr(gxe, "".join(p.capitalize() for p in name.split("_")), None)
        assert cls is not None, f"{name} is not in great_expectations.expectations"
        assert issubclass(cls, row_wise), f"{name} is not a map expectation"
        assert cls.expectation_type == name
    for across_rows in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        assert across_rows not in ALLOWED


#: Arguments of each allowed expectation for the table of the test below.
ALLOWED_KWARGS: dict[str, dict[str, Any]] = {
    "expect_column_values_to_be_between": {"column": "price", "min_value": 0},
    "expect_column_values_to_be_in_set": {"column": "status", "value_set": ["active", "retired"]},
    "expect_column_values_to_not_be_in_set": {"column": "status", "value_set": ["deleted"]},
    "expect_column_values_to_be_null": {
        "column": "sku",
        "row_condition": "status == 'deleted'",
        "condition_parser": "pandas",
    },
    "expect_column_values_to_not_be_null": {"column": "sku"},
    "expect_column_values_to_match_regex": {"column": "sku", "regex": "^SKU-"},
    "expect_column_values_to_not_match_regex": {"column": "sku", "regex": "^OLD-"},
    "expect_column_values_to_match_regex_list": {"column": "sku", "regex_list": ["^SKU-", "[0-9]$"]},
    "expect_column_values_to_not_match_regex_list": {"column": "sku", "regex_list": ["^OLD-"]},
    "expect_column_values_to_match_strftime_format": {"column": "status", "strftime_format": "%Y"},
    "expect_column_values_to_be_dateutil_parseable": {"column": "status"},
    "expect_column_values_to_be_json_parseable": {"column": "status"},
    "expect_column_values_to_match_json_schema": {"column": "status", "json_schema": {"type": "object"}},
    "expect_column_value_lengths_to_be_between": {"column": "sku", "min_value": 7, "max_value": 7},
    "expect_column_value_lengths_to_equal": {"column": "sku", "value": 7},
    "expect_column_pair_values_a_to_be_greater_than_b": {"column_A": "price", "column_B": "cost"},
    "expect_column_pair_values_to_be_equal": {"column_A": "cost", "column_B": "cost"},
    "expect_column_pair_values_to_be_in_set": {
        "column_A": "sku",
        "column_B": "status",
        "value_pairs_set": [["SKU-001", "active"], ["SKU-101", "retired"]],
    },
    "expect_multicolumn_sum_to_equal": {"column_list": ["price", "cost"], "sum_total": 3},
    "expect_multicolumn_values_to_be_equal": {"column_list": ["price", "cost"]},
    "expect_select_column_values_to_be_unique_within_record": {"column_list": ["sku", "status"]},
}


def test_every_allowed_expectation_runs_on_the_audits_batches(extras_dir: Path, contract: Contract) -> None:
    """Each one is evaluated on a pandas batch (none needs SQL) and gives a verdict."""
    assert set(ALLOWED_KWARGS) == ALLOWED
    # A status is no date and no JSON; a price is not its cost. Those fail, the others pass.
    failing = ("strftime", "dateutil", "json", "multicolumn_values_to_be_equal")
    entries = []
    for name, kwargs in ALLOWED_KWARGS.items():
        entries.append({"expectation": name, "kwargs": kwargs, "why": "runs"})
    _write(extras_dir, {"product": "shop.items", "expectations": entries})
    table = _table([("SKU-001", "2.00", "1.00", "active"), ("SKU-101", "2.00", "1.00", "retired")])
    result = audit.audit_table(table, contract)
    outcomes = {o.label.split("(")[0]: o for o in result.outcomes if o.extra}
    assert set(outcomes) == ALLOWED
    for name, outcome in outcomes.items():
        expected = not any(word in name for word in failing)
        assert outcome.success == expected, outcome.describe()
        assert outcome.success or outcome.unexpected_count == 2 or outcome.observed, outcome.describe()
    raised = outcomes["expect_column_values_to_match_json_schema"].observed  # json.loads("active")
    assert raised == "Expecting value: line 1 column 1 (char 0)"


def test_gx_objects_carry_where_they_came_from(tmp_path: Path, contract: Contract) -> None:
    extras = load_extra_expectations(contract, _write(tmp_path, VALID))
    built = gx_expectations(extras)
    assert [type(e).__name__ for e in built] == [
        "ExpectColumnPairValuesAToBeGreaterThanB",
        "ExpectColumnValuesToMatchRegex",
    ]
    assert built[1].meta == {"extra_expectation": "expectations[1]", "why": RETIRED_NUMBERS["why"]}
    assert built[1].row_condition.pass_through_filter == "status == 'retired'"


@pytest.mark.parametrize(
    ("kwargs", "field", "problem"),
    [
        ({"column": "price", "min_value": "cheap"}, "expectations[0].kwargs.min_value", "not a valid float"),
        (
            {"column": "price", "min_value": 0, "colour": "red"},
            "expectations[0].kwargs.colour",
            "extra fields",
        ),
        ({"column": "price"}, "expectations[0].kwargs", "min_value and max_value cannot both be None"),
    ],
)
def test_kwargs_gx_rejects_name_the_entry_not_pydantic(
    tmp_path: Path, contract: Contract, kwargs: dict[str, Any], field: str, problem: str
) -> None:
    entry = _entry(expectation="expect_column_values_to_be_between", kwargs=kwargs)
    path = _write(tmp_path, {**VALID, "expectations": [entry]})
    extras = load_extra_expectations(contract, path)
    with pytest.raises(SpecError) as error:
        gx_expectations(extras)
    assert (error.value.path, error.value.field) == (str(path), field)
    assert problem in error.value.problem and "expect_column_values_to_be_between" in error.value.problem
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_clean_data_passes_with_the_extras_in_the_result(extras_dir: Path, contract: Contract) -> None:
    _write(extras_dir, VALID)
    table = _table([("SKU-001", "2.00", "1.00", "active"), ("SKU-101", "0.02", "0.01", "retired")])
    result = audit.audit_table(table, contract)
    assert result.success, result.failures()
    extras = [o.label for o in result.outcomes if o.extra]
    assert sorted(extras) == sorted([PAIR, RETIRED])


def test_a_failing_extra_expectation_fails_the_audit_with_its_label(
    extras_dir: Path, contract: Contract
) -> None:
    _write(extras_dir, VALID)
    table = _table(
        [
            ("SKU-001", "2.00", "1.00", "active"),
            ("SKU-002", "1.00", "1.00", "active"),  # at cost
            ("SKU-003", "0.50", "1.00", "active"),  # below cost
            ("SKU-004", "3.00", "1.00", "retired"),  # retired, not renumbered
            ("SKU-104", "3.00", "1.00", "retired"),
        ]
    )
    result = audit.audit_table(table, contract)
    assert not result.success
    assert result.failures() == [
        f"{PAIR}: 2 unexpected (why: We never sell below cost.)",
        f"{RETIRED}: 1 unexpected (why: Retired items are renumbered into the 100s.)",
    ]
    assert {row["sku"] for row in result.failing_rows(limit=10)} == {"SKU-002", "SKU-003", "SKU-004"}


def test_a_chunked_audit_gives_the_same_verdict_on_the_extras(
    tmp_path: Path, extras_dir: Path, contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(extras_dir, VALID)
    rows = [(f"SKU-{i:03d}", "2.00", "1.00", "retired" if i % 40 == 39 else "active") for i in range(160)]
    rows[10] = ("SKU-010", "1.00", "1.00", "active")
    rows[75] = ("SKU-075", "0.50", "1.00", "active")
    rows[150] = ("SKU-150", "0.50", "1.00", "active")
    table = _table(rows)  # retired: SKU-039 and SKU-079 fail, SKU-119 and SKU-159 pass
    staged = tmp_path / "staged.parquet"
    pq.write_table(table, staged, row_group_size=16)
    whole = audit.audit_table(table, contract)
    monkeypatch.setattr(audit, "CHUNK_ROWS", 32)
    assert len(list(audit._key_aligned_chunks([pq.ParquetFile(staged)], ["sku"]))) > 3
    parts = audit.audit_staged([staged], contract)

    def verdicts(result: audit.AuditResult) -> list[tuple[str, bool, int]]:
        return [(o.label, o.success, o.unexpected_count) for o in result.outcomes]

    assert verdicts(parts) == verdicts(whole)
    failed = {o.label: o for o in parts.outcomes if not o.success}
    assert list(failed) == [PAIR, RETIRED]
    assert failed[PAIR].unexpected_count == 3 and failed[PAIR].why == ABOVE_COST["why"]
    assert [row["sku"] for row in failed[RETIRED].failing_rows] == ["SKU-039", "SKU-079"]


def test_repository_extras_are_valid_and_build() -> None:
    """Every file belongs to a product, validates against its contract and builds GX objects."""
    products = {(d, p) for d, spec in load_all_specs().items() for p in spec.products}
    files = sorted(extra_expectations.EXPECTATIONS_DIR.glob("*/*.yaml"))
    assert len(files) >= 3
    for path in files:
        key = (path.parent.name, path.stem)
        assert key in products, f"{path} is not beside a data product"
        contract = load_contract(*key)
        extras = load_extra_expectations(contract)
        assert extras and extras[0].path == path
        assert len(gx_expectations(extras)) == len(extras)
        assert parse_extra_expectations(yaml.safe_load(path.read_text()), path, contract) == extras
