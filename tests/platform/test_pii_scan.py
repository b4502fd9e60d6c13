"""The personal-data scan: every pattern is found, in free text too; mesh ids are not; samples masked."""

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mesh_orchestrator.core.contracts import Contract, parse_contract
from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.quality.pii_scan import PATTERNS_PATH, ScanResult, load_patterns, mask, scan_staged


def _contract(tmp_path: Path, classification: str = "internal") -> Contract:
    return parse_contract(
        {
            "id": "shop.notes",
            "version": "1.0.0",
            "domain": "shop",
            "product": "notes",
            "owner": "team:shop",
            "primary_key": ["id"],
            "schema": [
                {"name": "id", "type": "BIGINT", "required": True},
                {"name": "note", "type": "VARCHAR", "classification": classification},
                {"name": "booked_on", "type": "DATE"},
            ],
        },
        tmp_path / "notes.yaml",
    )


def _scan(tmp_path: Path, notes: Sequence[str | None], classification: str = "internal") -> ScanResult:
    path = tmp_path / "staged.parquet"
    table = pa.table(
        {
            "id": pa.array(range(len(notes)), pa.int64()),
            "note": pa.array(notes, pa.string()),
            "booked_on": pa.array([None] * len(notes), pa.date32()),
        }
    )
    pq.write_table(table, path)
    return scan_staged([path], _contract(tmp_path, classification))


def _hits(result: ScanResult) -> list[tuple[str, str, int]]:
    return [(f.column, f.pattern, f.rows) for f in result.hits()]


FOUND = [
    ("email", "jane.doe.42@example.com"),
    ("email", "please reply to Jane.Doe+shop@mail.example.co.uk today"),
    ("iban", "DE12345678901234567890"),  # the mesh's fake IBANs: DE and 20 digits, random check digits
    ("iban", "refund to GB29NWBK60161331926819."),
    ("iban", "IBAN DE89 3704 0044 0532 0130 00 (Max)"),
    ("national_id", "NI-387420489"),
    ("national_id", "moved: employee NI-000000001, see ticket"),
    ("us_ssn", "SSN 123-45-6789"),
    ("uk_nino", "AB123456C"),
    ("uk_nino", "nino: AB 12 34 56 C,"),
]


def test_every_pattern_has_a_case() -> None:
    assert {pattern for pattern, _ in FOUND} == {p.id for p in load_patterns()}


@pytest.mark.parametrize(("pattern", "value"), FOUND)
def test_each_pattern_is_found_alone_and_in_free_text(tmp_path: Path, pattern: str, value: str) -> None:
    result = _scan(tmp_path, ["gift wrap", value, None])
    assert not result.success
    assert _hits(result) == [("note", pattern, 1)]
    assert result.rows == 3


def test_a_value_with_two_kinds_of_personal_data_counts_for_both(tmp_path: Path) -> None:
    result = _scan(tmp_path, ["mail a@b.co and NI-000000001", "NI-000000002", "gift wrap"])
    assert _hits(result) == [("note", "email", 1), ("note", "national_id", 2)]


# Values of the mesh's products (sample data, scale 1): ids, codes, dates, accounts, free text.
MESH_VALUES = [
    "INV-000123",
    "SKU-00001",
    "SKU-00176",
    "DEP-FIN",
    "DEP-SAL",
    "EUR",
    "SEK",
    "DE",
    "GB",
    "2026-03-31",
    "2026-03-31 00:00:00+00",
    "4000",
    "1200",
    "WO-0001296",
    "DO-0000208",
    "MJ-999999",
    "SUP-001",
    "WH-02",
    "NW-000008",
    "CR-20260307",
    "SJ-20260302",
    "PI-SUP-003-BL-000012",
    "SP-SUP-003-BL-000002",
    "procurement.supplier_invoices SUP-004 FJ-000008",
    "sales.receivables paid 2026-01-04",
    "manual journal MJ-000005",
    "Payroll 2026-03, 13 employees",
    "Payment of supplier invoice BL-000002",
    "Customer payments, 30 invoices",
    "Office rent March (typo)",
    "Nordwerk GmbH",
    "Fjord Metall AB",
    "Training Tennis Racket XL",
    "team:finance",
    "partially_paid",
    "Inter-department clearing",
    "1e0c3f4b9a7d2e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f",  # a mask_pii digest
]


def test_no_false_positives_on_the_mesh_values(tmp_path: Path) -> None:
    result = _scan(tmp_path, MESH_VALUES)
    assert result.success, result.failures()
    assert result.rows == len(MESH_VALUES)
    assert {f.pattern for f in result.findings} == {p.id for p in load_patterns()}


def test_only_text_columns_not_classified_pii_are_scanned(tmp_path: Path) -> None:
    result = _scan(tmp_path, ["jane.doe@example.com", "NI-387420489"], classification="pii")
    assert result.success
    assert result.scanned == () and result.skipped == ("note",) and result.findings == ()

    result = _scan(tmp_path, ["jane.doe@example.com"])
    assert result.scanned == ("note",) and result.skipped == ()  # id (BIGINT) and booked_on (DATE) are not


def test_samples_are_masked_and_the_report_holds_no_personal_data(tmp_path: Path) -> None:
    emails = ["jane.doe@example.com", "contact: max.mustermann@example.de", "jane.doe@example.com"]
    result = _scan(tmp_path, [*emails, "NI-387420489"])
    [email, national] = result.hits()
    assert (email.pattern, email.rows, email.samples) == ("email", 3, ("ja***", "ma***"))
    assert (national.pattern, national.rows, national.samples) == ("national_id", 1, ("NI***",))
    report = repr(result) + " ".join(result.failures())
    for value in ["jane.doe", "max.mustermann", "example.", "387420489"]:
        assert value not in report
    assert result.failures() == [
        "note: email in 3 rows (e.g. ja***, ma***)",
        "note: national_id in 1 row (e.g. NI***)",
    ]
    assert mask("x") == "x***"


def _patterns_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pii_patterns.yaml"
    path.write_text(text)
    return path


GOOD = "  - {id: email, description: An e-mail address., regex: '@'}\n"


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        (
            "patterns:\n  - {id: lookahead, description: x, regex: '(?=x)'}\n",
            "patterns[0].regex",
            "'lookahead' is not a valid RE2 regular expression",
        ),
        (f"patterns:\n{GOOD}  - {{id: ssn, regex: 'x'}}\n", "patterns[1].description", "is required"),
        (f"patterns:\n{GOOD}  - {{id: ssn, description: x}}\n", "patterns[1].regex", "is required"),
        (
            f"patterns:\n{GOOD}  - {{id: s, description: x, regex: y, flags: i}}\n",
            "patterns[1].flags",
            "unknown field",
        ),
        (f"patterns:\n{GOOD}{GOOD}", "patterns[1].id", "'email' is used by an earlier pattern"),
        ("patterns:\n  - {id: Bad-Id, description: x, regex: 'x'}\n", "patterns[0].id", "snake_case"),
        (
            "patterns:\n  - {id: digits, description: x, regex: '[0-9]*'}\n",
            "patterns[0].regex",
            "matches the empty string",
        ),
        ("patterns:\n  - just a string\n", "patterns[0]", "expected a mapping"),
        ("patterns: []\n", "patterns", "non-empty list"),
        ("patterns: [\n", "<file>", "not valid YAML"),
    ],
)
def test_pattern_file_errors_name_the_file_and_entry(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    path = _patterns_file(tmp_path, text)
    with pytest.raises(SpecError) as error:
        load_patterns(path)
    assert error.value.path == str(path) and error.value.field == field
    assert problem in error.value.problem
    assert str(path) in str(error.value)


def test_the_mesh_patterns_file_is_valid() -> None:
    patterns = load_patterns(PATTERNS_PATH)
    assert {"email", "iban", "national_id", "us_ssn", "uk_nino"} <= {p.id for p in patterns}
    assert all(p.description for p in patterns)
