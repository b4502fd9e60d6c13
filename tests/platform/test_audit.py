"""The Great Expectations suite generated from a contract, run on Arrow batches."""

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from mesh_orchestrator.core.contracts import load_contract, parse_contract
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.quality.audit import audit_table, build_suite

CONTRACT = {
    "id": "shop.items",
    "version": "1.2.0",
    "domain": "shop",
    "product": "items",
    "owner": "team:shop",
    "primary_key": ["sku"],
    "schema": [
        {"name": "sku", "type": "VARCHAR", "required": True, "unique": True, "pattern": "^SKU-[0-9]{3}$"},
        {"name": "price", "type": "DECIMAL(18,2)", "required": True, "minimum": 0},
        {"name": "currency", "type": "VARCHAR", "allowed_values": ["EUR"]},
    ],
    "consumers": [{"domain": "sales", "purpose": "pricing"}],
}
D = pa.decimal128(18, 2)


def _table(skus: list, prices: list, currencies: list) -> pa.Table:
    return pa.table(
        {
            "sku": pa.array(skus, pa.string()),
            "price": pa.array([Decimal(p) for p in prices], D),
            "currency": pa.array(currencies, pa.string()),
        }
    )


def test_suite_is_generated_from_the_contract(tmp_path: Path) -> None:
    contract = parse_contract(CONTRACT, tmp_path / "c.yaml")
    types = sorted(e.expectation_type for e in build_suite(contract).expectations)
    assert types == sorted(
        [
            "expect_table_row_count_to_be_between",
            "expect_column_values_to_not_be_null",
            "expect_column_values_to_be_unique",
            "expect_column_values_to_match_regex",
            "expect_column_values_to_not_be_null",
            "expect_column_values_to_be_between",
            "expect_column_values_to_be_in_set",
        ]
    )


def test_a_unique_sole_key_is_checked_once(tmp_path: Path) -> None:
    """``sku`` is both ``unique: true`` and the primary key: one uniqueness check, not two."""
    contract = parse_contract(CONTRACT, tmp_path / "c.yaml")
    checks = [(e.expectation_type, getattr(e, "column", None)) for e in build_suite(contract).expectations]
    assert checks.count(("expect_column_values_to_be_unique", "sku")) == 1
    assert len(checks) == len(set(checks))


def test_suite_is_the_generated_one_then_the_extra_expectations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mesh_orchestrator.quality import extra_expectations

    contract = parse_contract(CONTRACT, tmp_path / "c.yaml")
    generated = [e.expectation_type for e in build_suite(contract).expectations]
    monkeypatch.setattr(extra_expectations, "EXPECTATIONS_DIR", tmp_path / "expectations")
    extras = tmp_path / "expectations" / "shop" / "items.yaml"
    extras.parent.mkdir(parents=True)
    extras.write_text(
        "product: shop.items\n"
        "expectations:\n"
        "  - expectation: expect_column_value_lengths_to_equal\n"
        "    kwargs: {column: sku, value: 7}\n"
        "    why: SKU-nnn.\n"
        "  - expectation: expect_column_pair_values_to_be_in_set\n"
        "    kwargs: {column_A: sku, column_B: currency, value_pairs_set: [[SKU-001, EUR]]}\n"
        "    why: One item, in euros.\n",
        encoding="utf-8",
    )
    suite = build_suite(contract).expectations
    assert [e.expectation_type for e in suite] == [
        *generated,
        "expect_column_value_lengths_to_equal",
        "expect_column_pair_values_to_be_in_set",
    ]
    marks = [(e.meta or {}).get("extra_expectation") for e in suite[-3:]]
    assert marks == [None, "expectations[0]", "expectations[1]"]


def test_clean_batch_passes(tmp_path: Path) -> None:
    contract = parse_contract(CONTRACT, tmp_path / "c.yaml")
    result = audit_table(_table(["SKU-001", "SKU-002"], ["1.00", "2.50"], ["EUR", "EUR"]), contract)
    assert result.success, result.failures()
    assert result.rows == 2


def test_audit_does_not_hash_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GX's batch fingerprint hashed every value twice per part: two thirds of an audit (see audit.py)."""
    from great_expectations.execution_engine import pandas_execution_engine

    def refuse(frame: object) -> str:
        raise AssertionError("GX hashed the whole batch")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", refuse)
    monkeypatch.setattr(pandas_execution_engine, "HASH_THRESHOLD", 1e9)  # GX's own default
    contract = parse_contract(CONTRACT, tmp_path / "c.yaml")
    result = audit_table(_table(["SKU-001"], ["1.00"], ["EUR"]), contract)
    assert result.success, result.failures()


def test_bad_batch_names_expectations_and_rows(tmp_path: Path) -> None:
    contract = parse_contract(CONTRACT, tmp_path / "c.yaml")
    table = _table(
        ["SKU-001", "SKU-001", "oops", None], ["1.00", "-2.00", "3.00", "4.00"], ["EUR", "USD", "EUR", "EUR"]
    )
    result = audit_table(table, contract)
    assert not result.success
    failures = " | ".join(result.failures())
    for expected in (
        "expect_column_values_to_not_be_null(sku): 1 unexpected",
        "expect_column_values_to_be_unique(sku)",
        "expect_column_values_to_match_regex(sku): 1 unexpected",
        "expect_column_values_to_be_between(price): 1 unexpected",
        "expect_column_values_to_be_in_set(currency): 1 unexpected",
    ):
        assert expected in failures
    assert any(row.get("sku") == "oops" for row in result.failing_rows(limit=20))


def test_schema_drift_fails_before_gx(tmp_path: Path) -> None:
    contract = parse_contract(CONTRACT, tmp_path / "c.yaml")
    table = pa.table({"sku": ["SKU-001"], "price": [1.5], "currency": ["EUR"]})  # float money
    result = audit_table(table, contract)
    assert result.failures() == [
        "expect_column_type_to_match_contract(price): observed double (contract: DECIMAL(18,2))"
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "1.2"}, "version"),
        ({"owner": ""}, "owner"),
        ({"id": "shop.other"}, "id"),
        ({"primary_key": ["nope"]}, "primary_key"),
        ({"consumers": [{"domain": "sales"}]}, "consumers[0].purpose"),
        (
            {"schema": [{"name": "sku", "type": "VARCHAR", "classification": "secret"}]},
            "schema[0].classification",
        ),
    ],
)
def test_contract_errors_name_the_field(tmp_path: Path, change: dict, field: str) -> None:
    with pytest.raises(SpecError) as error:
        parse_contract({**CONTRACT, **change}, tmp_path / "c.yaml")
    assert error.value.field == field


def test_repository_contracts_are_valid() -> None:
    for domain, product in [
        ("inventory", "item_catalogue"),
        ("inventory", "stock_levels"),
        ("sales", "invoices"),
        ("sales", "revenue_by_day"),
    ]:
        contract = load_contract(domain, product)
        assert contract.owner == f"team:{domain}"


def test_a_big_staged_product_is_audited_part_by_part_with_the_same_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    from mesh_orchestrator.quality import audit

    contract = parse_contract(CONTRACT, tmp_path / "c.yaml")
    # Ordered by key as a hand-off stages it; SKU-049/SKU-050 repeat across the first part boundary.
    skus = sorted([f"SKU-{i:03d}" for i in range(200)] + ["SKU-049", "SKU-050", "SKU-150"])
    prices = ["1.00"] * len(skus)
    prices[skus.index("SKU-120")] = "-1.00"
    table = _table(skus, prices, ["EUR"] * len(skus))
    staged = tmp_path / "staged.parquet"
    pq.write_table(table, staged, row_group_size=16)
    whole = audit_table(table, contract)
    monkeypatch.setattr(audit, "CHUNK_ROWS", 50)
    parts = list(audit._key_aligned_chunks([pq.ParquetFile(staged)], ["sku"]))
    assert len(parts) > 3 and sum(p.num_rows for p in parts) == len(skus)
    owners = [{sku: i for sku in p.column("sku").to_pylist()} for i, p in enumerate(parts)]
    assert sum(len(o) for o in owners) == len(set(skus)), "no key is split between two parts"
    staged_result = audit.audit_staged([staged], contract)
    assert [(o.label, o.success, o.unexpected_count) for o in staged_result.outcomes] == [
        (o.label, o.success, o.unexpected_count) for o in whole.outcomes
    ]
    failed = {o.label: o for o in staged_result.outcomes if not o.success}
    assert failed["expect_column_values_to_be_unique(sku)"].unexpected_count == 6
    # A snapshot of several data files (written in key order) gets the same verdict.
    files = []
    for n, start in enumerate(range(0, table.num_rows, 70)):
        files.append(tmp_path / f"part-{n}.parquet")
        pq.write_table(table.slice(start, 70), files[-1], row_group_size=16)
    split = audit.audit_staged(files, contract)
    assert [(o.label, o.success, o.unexpected_count) for o in split.outcomes] == [
        (o.label, o.success, o.unexpected_count) for o in whole.outcomes
    ]
    assert failed["expect_column_values_to_be_between(price)"].failing_rows[0]["sku"] == "SKU-120"
