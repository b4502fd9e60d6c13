"""`mesh contracts diff`: each kind of change classified, breaking ones traced to their consumers."""

from dataclasses import replace

import pytest

from mesh_orchestrator.core.contracts import Consumer, Contract, load_contract
from mesh_orchestrator.core.spec import ProductRef, load_all_specs
from mesh_orchestrator.governance import diff as contract_diff
from mesh_orchestrator.governance.diff import compare, diff_contracts, downstream, format_diff

REF = ProductRef("inventory", "item_catalogue")


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract("inventory", "item_catalogue")


def _with_column(contract: Contract, column: str, **changes: object) -> Contract:
    columns = tuple(replace(c, **changes) if c.name == column else c for c in contract.columns)  # type: ignore[arg-type]
    return replace(contract, columns=columns)


def _kinds(old: Contract, new: Contract) -> list[tuple[bool, str]]:
    return [(c.breaking, c.what) for c in compare(REF, old, new)]


def test_rename_is_breaking_and_hinted(contract: Contract) -> None:
    renamed = _with_column(contract, "item_name", name="name")
    assert _kinds(contract, renamed)[:1] == [(True, "column item_name removed (renamed to name?)")]


@pytest.mark.parametrize(
    ("column", "changes", "breaking", "text"),
    [
        ("unit_cost", {"type": "DECIMAL(12,2)"}, True, "type changed DECIMAL(18,2) -> DECIMAL(12,2)"),
        ("unit_cost", {"type": "DECIMAL(20,4)"}, False, "type widened DECIMAL(18,2) -> DECIMAL(20,4)"),
        ("category", {"required": False}, True, "no longer required"),
        ("sku", {"unique": False}, True, "uniqueness dropped"),
        ("unit_of_measure", {"allowed_values": ("each", "box")}, True, "allowed values narrowed"),
        (
            "unit_of_measure",
            {"allowed_values": ("each", "box", "kg", "litre", "metre", "pack")},
            False,
            "pack",
        ),
        ("list_price", {"minimum": 1}, True, "minimum tightened 0 -> 1"),
        ("item_name", {"description": "Another text."}, False, "description changed"),
    ],
)
def test_column_changes_are_classified(
    contract: Contract, column: str, changes: dict[str, object], breaking: bool, text: str
) -> None:
    kinds = _kinds(contract, _with_column(contract, column, **changes))
    assert len(kinds) == 1 and kinds[0][0] is breaking and text in kinds[0][1], kinds


def test_added_columns_break_only_when_required(contract: Contract) -> None:
    extra = replace(contract.columns[1], name="colour", required=False)
    assert _kinds(contract, replace(contract, columns=(*contract.columns, extra))) == [
        (False, "column colour added")
    ]
    required = replace(extra, required=True)
    assert _kinds(contract, replace(contract, columns=(*contract.columns, required)))[0][0] is True


def test_withdrawn_grant_and_removed_product_are_breaking(contract: Contract) -> None:
    assert _kinds(contract, replace(contract, consumers=())) == [(True, "grant to sales withdrawn")]
    more = replace(contract, consumers=(*contract.consumers, Consumer("finance", "x")))
    assert _kinds(contract, more) == [(False, "granted to finance")]
    assert compare(REF, contract, None)[0].breaking


def test_downstream_walks_the_whole_mesh() -> None:
    domains, assets = downstream(REF, load_all_specs())
    assert domains == ["finance", "sales"]
    for key in (
        "sales/silver/stg_ports__item_catalogue",
        "sales/gold/invoices",
        "mesh/handoff/sales__invoices",
        "finance/silver/int_journal_sales",
        "finance/gold/general_ledger",
    ):
        assert key in assets


def test_an_unannounced_rename_fails_and_names_what_it_breaks(
    contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = contract_diff.current_contracts()
    current[REF] = _with_column(current[REF], "item_name", name="name")
    monkeypatch.setattr(contract_diff, "current_contracts", lambda: current)
    diffs = diff_contracts("HEAD")
    (diff,) = diffs
    assert diff.unannounced and diff.affected_domains == ["finance", "sales"]
    report = format_diff(diffs, "HEAD")
    assert "inventory.item_catalogue (1.0.0 -> 1.0.0): BREAKING" in report
    assert "set version to 2.0.0" in report and "sales/gold/invoices" in report
    current[REF] = replace(current[REF], version="2.0.0")
    assert not diff_contracts("HEAD")[0].unannounced


def test_an_unknown_base_is_a_clear_error() -> None:
    with pytest.raises(contract_diff.BaseRevisionError, match="no-such-revision"):
        diff_contracts("no-such-revision")


#: The move of every contract to ODCS v3.1: the last commit before it, and the commit itself.
BEFORE_ODCS, ODCS = "e913415", "a849de9"


def test_the_move_to_odcs_changed_no_contract_but_its_descriptions() -> None:
    try:
        for rev in (BEFORE_ODCS, ODCS):
            contract_diff._git("rev-parse", "--verify", f"{rev}^{{commit}}")
    except contract_diff.BaseRevisionError:
        pytest.skip("a shallow clone: the move to ODCS is not in the history")
    before, after = contract_diff.base_contracts(BEFORE_ODCS), contract_diff.base_contracts(ODCS)
    assert before.keys() == after.keys() and len(before) == 13
    changes = [c for ref in before for c in compare(ref, before[ref], after[ref])]
    assert changes and {c.what.rsplit(": ", 1)[-1] for c in changes} == {"description changed"}
    assert not [c for c in changes if c.breaking]
