from pathlib import Path

import pytest
import yaml

from mesh_orchestrator.core.errors import SpecError
from mesh_orchestrator.core.spec import (
    DOMAIN_COMPONENT_TYPE,
    ProductRef,
    discover_domains,
    domain_order,
    load_all_specs,
    load_domain_spec,
    parse_domain_spec,
)

VALID = {
    "name": "shop",
    "owner": "team:shop",
    "dbt_project": "dbt_projects/inventory",
    "feeds": {
        "orders": {
            "format": "csv",
            "key": ["order_id"],
            "columns": [
                {"name": "order_id", "type": "VARCHAR", "required": True},
                {"name": "amount", "type": "decimal(18, 2)"},
            ],
        }
    },
    "products": ["order_book"],
}


def _spec(tmp_path: Path, data: dict) -> Path:
    folder = tmp_path / "shop"
    folder.mkdir(exist_ok=True)
    path = folder / "defs.yaml"
    path.write_text(yaml.safe_dump({"type": DOMAIN_COMPONENT_TYPE, "attributes": data}))
    return path


def test_valid_spec_is_typed(tmp_path: Path) -> None:
    spec = load_domain_spec(_spec(tmp_path, VALID))
    assert spec.feeds[0].columns[1].type == "DECIMAL(18,2)"
    assert spec.feeds[0].key == ("order_id",)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"owner": "shop people"}, "owner", "team:<name>"),
        ({"name": "Shop"}, "name", "snake_case"),
        ({"dbt_project": "dbt_projects/nowhere"}, "dbt_project", "no dbt_project.yml"),
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"feeds": {"orders": {**VALID["feeds"]["orders"], "format": "xlsx"}}}, "feeds.orders.format", "csv"),
        ({"feeds": {"orders": {**VALID["feeds"]["orders"], "key": ["nope"]}}}, "feeds.orders.key", "nope"),
        (
            {
                "feeds": {
                    "orders": {**VALID["feeds"]["orders"], "columns": [{"name": "order_id", "type": "MONEY"}]}
                }
            },
            "feeds.orders.columns[0].type",
            "not a supported type",
        ),
        ({"consumes": [{"domain": "shop", "product": "order_book"}]}, "consumes", "own product"),
    ],
)
def test_spec_errors_name_file_and_field(tmp_path: Path, change: dict, field: str, message: str) -> None:
    path = _spec(tmp_path, {**VALID, **change})
    with pytest.raises(SpecError) as error:
        load_domain_spec(path)
    assert error.value.field == field
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_invalid_yaml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "shop" / "defs.yaml"
    path.parent.mkdir()
    path.write_text("name: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_domain_spec(path)


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        ({"name": "shop"}, "type", "declares its component: `type: mesh_orchestrator.components.Domain"),
        ({"type": "my.OtherComponent", "attributes": VALID}, "type", "is not 'mesh_orchestrator"),
        ({"type": DOMAIN_COMPONENT_TYPE, "attributes": VALID, "extra": 1}, "extra", "unknown key"),
    ],
)
def test_a_domain_file_must_declare_the_domain_component(
    tmp_path: Path, document: dict, field: str, message: str
) -> None:
    path = tmp_path / "shop" / "defs.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(SpecError) as error:
        load_domain_spec(path)
    assert error.value.field == field
    assert message in str(error.value)


def test_the_component_type_named_in_domain_files_is_the_domain_component() -> None:
    from mesh_orchestrator.components import DomainComponent

    package = DomainComponent.__module__.rsplit(".", 1)[0]
    assert f"{package}.{DomainComponent.__name__}" == DOMAIN_COMPONENT_TYPE


def test_repository_specs_load_in_dependency_order() -> None:
    specs = load_all_specs()
    assert set(discover_domains()) >= {"inventory", "sales"}
    order = domain_order(specs)
    assert order.index("inventory") < order.index("sales")
    assert ProductRef("inventory", "item_catalogue") in specs["sales"].consumes


def test_unknown_consumed_product_is_an_error(tmp_path: Path) -> None:
    specs = load_all_specs()
    bad = parse_domain_spec(
        {**VALID, "consumes": [{"domain": "inventory", "product": "nope"}]}, tmp_path / "shop" / "defs.yaml"
    )
    with pytest.raises(SpecError, match="publishes no product 'nope'"):
        domain_order({**specs, "shop": bad})
