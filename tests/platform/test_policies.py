"""Each governance policy of quality/policies.yaml: the repository passes, and a breach of each is
reported with its id and a message saying what to fix."""

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import cast

import pytest
import yaml

from mesh_orchestrator.core.contracts import Consumer, ContractColumn, ContractInput, Sla, load_contract
from mesh_orchestrator.core.errors import PolicyViolationError, SpecError
from mesh_orchestrator.core.spec import ProductRef
from mesh_orchestrator.governance import policies
from mesh_orchestrator.governance.policies import Landscape, Violation, enforce, evaluate
from mesh_orchestrator.transformation.dbt import PROFILES_FILE

INVOICES = ProductRef("sales", "invoices")
CATALOGUE = ProductRef("inventory", "item_catalogue")


@pytest.fixture
def mesh() -> Landscape:
    return Landscape.load()


def _only(violations: list[Violation], policy_id: str) -> list[Violation]:
    found = [v for v in violations if v.policy.id == policy_id]
    assert found, f"no {policy_id} violation in {[str(v) for v in violations]}"
    return found


def _with_column(landscape: Landscape, ref: ProductRef, column: ContractColumn) -> None:
    contract = landscape.contracts[ref]
    landscape.contracts[ref] = replace(contract, columns=(*contract.columns, column))


def _copy_dbt_project(landscape: Landscape, domain: str, tmp_path: Path) -> Path:
    """The domain's dbt project copied to ``tmp_path`` and pointed at by its spec, beside the shared
    profile and macros."""
    spec = landscape.specs[domain]
    copy = tmp_path / "dbt_projects" / domain
    shutil.copytree(spec.dbt_project, copy, ignore=shutil.ignore_patterns("logs"))
    shutil.copytree(spec.dbt_project.parent / "_shared", copy.parent / "_shared")
    shutil.copy(spec.dbt_project.parent / PROFILES_FILE, copy.parent / PROFILES_FILE)
    landscape.specs[domain] = replace(spec, dbt_project=copy)
    return copy


def test_declared_policies_and_rules_agree() -> None:
    declared = policies.load_policies()
    assert set(declared) == set(policies._RULES)
    assert all(p.severity in policies.SEVERITIES and p.description for p in declared.values())


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"severity": "fatal"}, "policies[0].severity", "'fatal': input should be 'error' or 'warning'"),
        ({"colour": "red"}, "policies[0].colour", "unknown field; allowed: description, id, name, severity"),
        ({"description": None}, "policies[0].description", "input should be a valid string"),
        ({"id": "GOV-002"}, "policies[1].id", "GOV-002 is declared twice"),
    ],
)
def test_a_bad_policies_file_names_the_entry_and_the_field(
    tmp_path: Path, change: dict[str, object], field: str, message: str
) -> None:
    data = yaml.safe_load(policies.POLICIES_FILE.read_text())
    data["policies"][0].update(change)
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError) as error:
        policies.load_policies(path)
    assert error.value.field == field
    assert message in error.value.problem


def test_a_policy_without_a_severity_says_what_it_takes(tmp_path: Path) -> None:
    data = yaml.safe_load(policies.POLICIES_FILE.read_text())
    del data["policies"][3]["severity"]
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=r"policies\[3\]\.severity'?: is required: error \(stops a"):
        policies.load_policies(path)


def test_the_repository_breaks_no_policy(mesh: Landscape) -> None:
    assert evaluate(mesh) == []


def test_gov001_a_contract_without_owner(mesh: Landscape, tmp_path: Path) -> None:
    path = tmp_path / "invoices.yaml"
    data = yaml.safe_load(load_contract("sales", "invoices").path.read_text())
    del data["team"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError) as error:
        load_contract("sales", "invoices", path)
    del mesh.contracts[INVOICES]
    mesh.contract_errors[INVOICES] = error.value
    (violation,) = _only(evaluate(mesh), "GOV-001")
    assert violation.subject == "sales.invoices"
    assert "fix field 'team': name the owning team" in violation.message


def test_gov001_a_product_without_contract(mesh: Landscape, tmp_path: Path) -> None:
    with pytest.raises(SpecError) as error:
        load_contract("sales", "invoices", tmp_path / "missing.yaml")
    del mesh.contracts[INVOICES]
    mesh.contract_errors[INVOICES] = error.value
    (violation,) = _only(evaluate(mesh), "GOV-001")
    assert "write quality/contracts/sales/invoices.yaml" in violation.message


def test_gov002_an_incomplete_contract(mesh: Landscape) -> None:
    contract = mesh.contracts[INVOICES]
    mesh.contracts[INVOICES] = replace(
        contract,
        purpose="",
        sla=Sla(),
        consumers=tuple(replace(c, granted_on=None) for c in contract.consumers),
    )
    messages = [v.message for v in _only(evaluate(mesh), "GOV-002")]
    assert any("purpose" in m for m in messages)
    assert any("slaProperties" in m for m in messages)
    assert any("roles[0] (finance): add `customProperties: [{property: grantedOn" in m for m in messages)


def test_gov012_a_column_without_description(mesh: Landscape) -> None:
    contract = mesh.contracts[INVOICES]
    columns = (replace(contract.columns[0], description=" "), *contract.columns[1:])
    mesh.contracts[INVOICES] = replace(contract, columns=columns)
    (violation,) = _only(evaluate(mesh), "GOV-012")
    assert violation.subject == f"sales.invoices.{columns[0].name}"
    assert "schema[0].properties[0]" in violation.message and "add `description:`" in violation.message


@pytest.mark.parametrize(
    ("consumers", "why"),
    [
        ((), "does not grant it"),
        ((Consumer("sales", "pricing", granted_on=date(2030, 1, 1)),), "grants it only from 2030-01-01"),
        (
            (Consumer("sales", "pricing", date(2020, 1, 1), expires_on=date(2021, 1, 1)),),
            "until 2021-01-01, which has passed",
        ),
    ],
)
def test_gov003_consuming_an_ungranted_product(mesh: Landscape, consumers: tuple, why: str) -> None:
    mesh.contracts[CATALOGUE] = replace(mesh.contracts[CATALOGUE], consumers=consumers)
    (violation,) = _only(evaluate(mesh), "GOV-003")
    assert violation.domain == "sales" and violation.subject == "sales consumes inventory.item_catalogue"
    assert why in violation.message and "grantedOn" in violation.message
    with pytest.raises(PolicyViolationError, match="GOV-003"):
        enforce(mesh, "code location sales", domains=["sales"])


def test_gov004_reading_another_domain_around_its_port(mesh: Landscape, tmp_path: Path) -> None:
    project = _copy_dbt_project(mesh, "sales", tmp_path)
    (project / "models" / "silver" / "staging" / "stg_sneaky.sql").write_text(
        "select * from read_parquet('{{ env_var(\"MESH_DATA_DIR\") }}/warehouse/hr.duckdb')\n"
    )
    sources = project / "models" / "silver" / "staging" / "_sources.yml"
    data = yaml.safe_load(sources.read_text())
    ports = next(s for s in data["sources"] if s["name"] == "ports")
    ports["tables"].append({"name": "hr__payroll_costs", "meta": {"external_location": "read_parquet('x')"}})
    sources.write_text(yaml.safe_dump(data))
    mesh.asset_deps = {"sales/silver/stg_x": {"inventory/gold/item_catalogue"}}
    messages = [v.message for v in _only(evaluate(mesh), "GOV-004")]
    assert any("reads files or databases directly" in m for m in messages)
    assert any("does not declare it under consumes" in m for m in messages)
    assert any(
        "the `ports` source reads schema `ports` as it is" in m and "external_location" in m for m in messages
    )
    assert any("depend on its hand-off" in m for m in messages)


def test_gov005_personal_data_must_be_masked(mesh: Landscape) -> None:
    _with_column(mesh, INVOICES, ContractColumn("customer_email", "VARCHAR", classification="pii"))
    (violation,) = _only(evaluate(mesh), "GOV-005")
    assert violation.subject == "sales.invoices.customer_email"
    assert "mask_pii('customer_email')" in violation.message and "or drop the column" in violation.message


def test_gov005_declared_masking_must_be_in_the_model(mesh: Landscape) -> None:
    _with_column(
        mesh,
        INVOICES,
        ContractColumn("customer_email", "VARCHAR", classification="pii", masking="hmac_sha256"),
    )
    (violation,) = _only(evaluate(mesh), "GOV-005")
    assert "invoices.sql does not select" in violation.message


def test_gov006_naming_and_type_standards(mesh: Landscape) -> None:
    _with_column(mesh, INVOICES, ContractColumn("tax_amount", "DOUBLE"))
    _with_column(mesh, INVOICES, ContractColumn("shipped_at", "TIMESTAMP"))
    _with_column(mesh, INVOICES, ContractColumn("fee", "DECIMAL(18,2)", currency="fee_currency"))
    messages = [f"{v.subject}: {v.message}" for v in _only(evaluate(mesh), "GOV-006")]
    assert "sales.invoices.tax_amount: money is DECIMAL(p,s), not DOUBLE" in messages
    assert any(m.startswith("sales.invoices.tax_amount: looks like money") for m in messages)
    assert "sales.invoices.shipped_at: timestamps are TIMESTAMPTZ (UTC), not naive TIMESTAMP" in messages
    assert any("'fee_currency' is neither an ISO 4217 code" in m for m in messages)


def test_gov007_every_handoff_has_blocking_gates(mesh: Landscape) -> None:
    from mesh_orchestrator.ports.handoff import build_handoff_asset

    checks = {}
    for contract in mesh.contracts.values():
        asset = build_handoff_asset(contract)
        checks[asset.key.to_user_string()] = {c.name: c.blocking for c in asset.check_specs}
    assert all(all(found.values()) and len(found) >= 2 for found in checks.values())
    checks["mesh/handoff/sales__invoices"]["contract_satisfied"] = False
    del checks["mesh/handoff/hr__rewards"]
    mesh.handoff_checks = checks
    messages = {f"{v.subject}: {v.message}" for v in _only(evaluate(mesh), "GOV-007")}
    assert messages == {
        "sales.invoices: hand-off mesh/handoff/sales__invoices lacks the blocking check contract_satisfied",
        "hr.rewards: no hand-off asset mesh/handoff/hr__rewards publishes it",
    }


def test_gov008_identifiers_are_validated(mesh: Landscape) -> None:
    spec = mesh.specs["sales"]
    mesh.specs["sales"] = replace(spec, products=(*spec.products, 'x"; drop table gold.invoices; --'))
    (violation,) = _only(evaluate(mesh, include_domain_files=False), "GOV-008")
    assert "is not a valid identifier" in violation.message


def test_gov009_a_dbt_model_drifting_from_its_contract(mesh: Landscape, tmp_path: Path) -> None:
    project = _copy_dbt_project(mesh, "sales", tmp_path)
    products = project / "models" / "gold" / "_products.yml"
    products.write_text(products.read_text().replace("data_type: DECIMAL(18,2)", "data_type: DOUBLE", 1))
    (violation,) = _only(evaluate(mesh), "GOV-009")
    assert "models/gold/_products.yml and quality/contracts/sales/invoices.yaml disagree" in violation.message
    assert "invoices.columns[unit_price].data_type: contract says 'DECIMAL(18,2)'" in violation.message
    assert "mesh contracts sync-dbt" in violation.message


def test_gov009_gold_contracts_must_be_enforced(mesh: Landscape, tmp_path: Path) -> None:
    project = _copy_dbt_project(mesh, "sales", tmp_path)
    config = project / "dbt_project.yml"
    config.write_text(config.read_text().replace("enforced: true", "enforced: false"))
    (violation,) = _only(evaluate(mesh), "GOV-009")
    assert "+contract: {enforced: true}" in violation.message


def test_gov010_inputs_must_match_lineage(mesh: Landscape) -> None:
    contract = mesh.contracts[INVOICES]
    inputs = (*(i for i in contract.inputs if i.kind != "product"), ContractInput("feed", "returns"))
    mesh.contracts[INVOICES] = replace(contract, inputs=inputs)
    messages = {v.message for v in _only(evaluate(mesh), "GOV-010")}
    assert (
        "built from product inventory.item_catalogue: "
        "add {kind: product, name: inventory.item_catalogue} to inputs" in messages
    )
    assert "declares input feed returns but its dbt model does not use it" in messages


def test_gov011_a_leftover_contract_is_a_warning(mesh: Landscape, tmp_path: Path) -> None:
    mesh.contract_files.append(policies.CONTRACTS_DIR / "sales" / "returns.yaml")
    (violation,) = _only(evaluate(mesh), "GOV-011")
    assert not violation.is_error
    assert enforce(mesh, "code location sales", domains=["sales"]) == [violation]


def test_a_domain_location_refuses_to_load_on_a_violation(monkeypatch: pytest.MonkeyPatch) -> None:
    from mesh_orchestrator.components import domain as domain_definitions

    sales = domain_definitions.load_domain_spec("sales")
    landscape = Landscape.for_domain(sales)
    landscape.contracts[CATALOGUE] = replace(landscape.contracts[CATALOGUE], consumers=())
    monkeypatch.setattr(Landscape, "for_domain", classmethod(lambda cls, spec: landscape))
    with pytest.raises(PolicyViolationError, match=r"code location sales: 1 policy violation") as error:
        domain_definitions.build_domain_definitions("sales")
    assert "GOV-003" in str(error.value) and "quality/contracts/inventory/item_catalogue.yaml" in str(
        error.value
    )


def test_the_mesh_location_leaves_out_a_domain_that_breaks_a_policy(
    mesh: Landscape, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mesh_orchestrator.components import handoffs as definitions

    mesh.contracts[CATALOGUE] = replace(mesh.contracts[CATALOGUE], consumers=())
    monkeypatch.setattr(definitions.Landscape, "load", classmethod(lambda cls, specs=None: mesh))
    defs = definitions.build_mesh_definitions()
    unavailable = cast(dict[str, list[str]], defs.metadata[definitions.UNAVAILABLE].value)
    assert list(unavailable) == ["sales"]
    (problem,) = unavailable["sales"]
    assert "GOV-003" in problem and "quality/contracts/inventory/item_catalogue.yaml" in problem
    graph = defs.resolve_asset_graph()
    handoffs = [k.path[-1] for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    assert "inventory__item_catalogue" in handoffs
    assert not [name for name in handoffs if name.startswith("sales__")]
