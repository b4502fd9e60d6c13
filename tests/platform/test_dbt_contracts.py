"""The dbt model contracts of every product are generated from its data contract and up to date."""

from mesh_orchestrator.core.spec import load_all_specs, load_domain_spec
from mesh_orchestrator.transformation.dbt_contracts import render_products_yaml, sync_products_yaml


def test_every_products_yml_matches_its_contracts() -> None:
    stale = [
        str(result.path)
        for spec in load_all_specs().values()
        if spec.products and (result := sync_products_yaml(spec, write=False)).changed
    ]
    assert not stale, f"run `mesh contracts sync-dbt`: {stale}"


def test_products_yml_carries_types_tests_and_the_primary_key() -> None:
    text = render_products_yaml(load_domain_spec("procurement"))
    assert text.startswith("# Generated from quality/contracts/procurement/")
    assert "data_type: DECIMAL(18,2)" in text
    assert "- supplier_id\n        - invoice_number" in text  # unique_combination on the key
    assert "values:\n          - open\n          - partially_paid\n          - paid" in text
