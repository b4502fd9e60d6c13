"""The ``mesh`` Iceberg catalog, where every output port is a table (``<domain>.<product>``).

Configured the way pyiceberg users configure catalogs: a ``catalog: mesh:`` entry of
``.pyiceberg.yaml`` (in ``$PYICEBERG_HOME``, the home folder or the working folder) or
``PYICEBERG_CATALOG__MESH__*`` environment variables, read when a catalog is opened. With neither,
the embedded default needs no server: a SQL catalog in ``<data dir>/catalog.db`` (SQLite) and the
warehouse in ``<data dir>/products/``. Production names a PostgreSQL SQL catalog (or a REST
catalog) and an ``s3://`` warehouse, by configuration alone.

The table schema is the contract's: DECIMAL(p,s) stays decimal(p,s), DATE stays date, TIMESTAMPTZ
stays timestamptz. Columns are optional in Iceberg: ``required`` is a promise of the gate (a
not-null expectation), so a batch that breaks it can still be staged, audited and shown.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from mesh_orchestrator.core.errors import CatalogError
from mesh_orchestrator.core.paths import data_dir

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table

    from mesh_orchestrator.core.contracts import Contract

CATALOG_NAME = "mesh"
#: Data files of a port, by uncompressed size in memory: also what a write holds in memory at once.
TARGET_FILE_BYTES = 128 * 1024 * 1024
#: Property keys (or parts of them) whose values are secrets: never printed.
SECRET_MARKERS = ("secret", "password", "token", "credential", "key-id", "access-key", "session")
#: Table property: the contract version whose schema the table has.
CONTRACT_VERSION_PROPERTY = "mesh.contract-version"


def embedded_properties() -> dict[str, str]:
    """The default: a SQLite catalog and a local warehouse in the data folder."""
    data = data_dir()
    return {
        "type": "sql",
        "uri": f"sqlite:///{data / 'catalog.db'}",
        "warehouse": (data / "products").as_uri(),
    }


def catalog_properties() -> dict[str, str]:
    """The ``mesh`` catalog's pyiceberg properties: as configured, else the embedded default."""
    from pyiceberg.utils.config import Config

    configured = Config().get_catalog_config(CATALOG_NAME)
    if configured:
        return {str(k): str(v) for k, v in configured.items()}
    return embedded_properties()


def is_secret(key: str) -> bool:
    return any(marker in key.lower() for marker in SECRET_MARKERS)


def public_properties(properties: dict[str, str] | None = None) -> dict[str, str]:
    """The catalog's properties with secrets left out (and passwords cut out of URIs)."""
    properties = catalog_properties() if properties is None else properties
    shown = {}
    for key, value in properties.items():
        if is_secret(key):
            continue
        parts = urlsplit(value) if "://" in value else None
        if parts is not None and parts.password:
            host = parts.hostname or ""
            netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
            value = urlunsplit(parts._replace(netloc=netloc))
        shown[key] = value
    return shown


def _is_local(properties: dict[str, str]) -> bool:
    return properties.get("type") == "sql" and properties.get("uri", "").startswith("sqlite:")


def open_catalog() -> Catalog:
    """The ``mesh`` catalog, opened afresh (a SQLite file or a server connection)."""
    from pyiceberg.catalog import load_catalog

    properties = catalog_properties()
    if _is_local(properties):
        data_dir().mkdir(parents=True, exist_ok=True)
        warehouse = properties.get("warehouse", "")
        if warehouse.startswith("file://"):
            from pathlib import Path

            Path(urlsplit(warehouse).path).mkdir(parents=True, exist_ok=True)
    try:
        return load_catalog(CATALOG_NAME, **properties)
    except Exception as exc:
        shown = public_properties(properties)
        raise CatalogError(
            f"cannot open the Iceberg catalog {CATALOG_NAME!r} ({shown}): {exc}; check the "
            "`catalog: mesh:` entry of .pyiceberg.yaml or the PYICEBERG_CATALOG__MESH__* variables"
        ) from exc


def table_name(domain: str, product: str) -> str:
    return f"{domain}.{product}"


def _iceberg_type(declared: str) -> Any:
    from pyiceberg import types as t

    simple = {
        "VARCHAR": t.StringType(),
        "BOOLEAN": t.BooleanType(),
        "INTEGER": t.IntegerType(),
        "BIGINT": t.LongType(),
        "DOUBLE": t.DoubleType(),
        "DATE": t.DateType(),
        "TIMESTAMP": t.TimestampType(),
        "TIMESTAMPTZ": t.TimestamptzType(),
    }
    if declared in simple:
        return simple[declared]
    match = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", declared)
    if match:
        return t.DecimalType(int(match.group(1)), int(match.group(2)))
    raise CatalogError(f"contract type {declared!r} has no Iceberg type")


def contract_schema(contract: Contract) -> Schema:
    """The Iceberg schema of a product: the contract's columns, in order, with their descriptions."""
    from pyiceberg.schema import Schema
    from pyiceberg.types import NestedField

    return Schema(
        *(
            NestedField(i, c.name, _iceberg_type(c.type), required=False, doc=c.description or None)
            for i, c in enumerate(contract.columns, start=1)
        )
    )


#: Type changes Iceberg allows in place (and that every reader of the old type can read).
def _promotable(old: Any, new: Any) -> bool:
    from pyiceberg import types as t

    if isinstance(old, t.IntegerType) and isinstance(new, t.LongType):
        return True
    if isinstance(old, t.FloatType) and isinstance(new, t.DoubleType):
        return True
    if isinstance(old, t.DecimalType) and isinstance(new, t.DecimalType):
        return old.scale == new.scale and new.precision >= old.precision
    return False


def _major(version: str) -> str:
    return version.split(".", 1)[0]


def schema_changes(table: Table, contract: Contract) -> tuple[list[str], list[str]]:
    """(compatible, breaking) differences between the table's schema and the contract's."""
    current = {f.name: f.field_type for f in table.schema().fields}
    wanted = {c.name: _iceberg_type(c.type) for c in contract.columns}
    compatible: list[str] = []
    breaking: list[str] = []
    for name, kind in wanted.items():
        if name not in current:
            compatible.append(f"column {name} added ({kind})")
        elif current[name] != kind:
            (compatible if _promotable(current[name], kind) else breaking).append(
                f"column {name} changes type {current[name]} -> {kind}"
            )
    breaking += [f"column {name} removed" for name in current if name not in wanted]
    if not breaking and [n for n in current if n in wanted] != [n for n in wanted if n in current]:
        compatible.append("columns reordered")
    return compatible, breaking


def evolve(table: Table, contract: Contract) -> Table:
    """Bring the table's schema to the contract's, as far as the contract's version allows.

    A compatible change (an added column, a widened type) evolves the schema in place; a breaking
    change (a removed column, another type) needs a new major contract version, and then replaces
    the columns (old snapshots keep their schema, so time travel still reads them).
    """
    compatible, breaking = schema_changes(table, contract)
    recorded = table.properties.get(CONTRACT_VERSION_PROPERTY, contract.version)
    if breaking and _major(recorded) == _major(contract.version):
        raise CatalogError(
            f"contract {contract.id} {contract.version} changes the schema of Iceberg table "
            f"{table_name(contract.domain, contract.product)} incompatibly ({'; '.join(breaking)}) "
            f"without a new major version (the table follows {recorded}): make the change "
            "compatible, or raise the contract's major version"
        )
    if compatible or breaking:
        wanted = {c.name: _iceberg_type(c.type) for c in contract.columns}
        current = {f.name: f.field_type for f in table.schema().fields}
        replaced = [
            n
            for n in current
            if n not in wanted or not (current[n] == wanted[n] or _promotable(current[n], wanted[n]))
        ]
        if replaced:
            with table.update_schema() as update:
                for name in replaced:
                    update.delete_column(name)
        with table.update_schema() as update:
            for column in contract.columns:
                kind = wanted[column.name]
                if column.name not in current or column.name in replaced:
                    update.add_column(column.name, kind, doc=column.description or None)
                elif current[column.name] != kind:
                    update.update_column(column.name, field_type=kind)
            previous = None
            for column in contract.columns:
                if previous is None:
                    update.move_first(column.name)
                else:
                    update.move_after(column.name, previous)
                previous = column.name
    if table.properties.get(CONTRACT_VERSION_PROPERTY) != contract.version:
        with table.transaction() as tx:
            tx.set_properties({CONTRACT_VERSION_PROPERTY: contract.version})
    return table


def product_table(catalog: Catalog, contract: Contract) -> Table:
    """The product's table, created (with its namespace) on first use, its schema the contract's."""
    from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchTableError, TableAlreadyExistsError

    name = table_name(contract.domain, contract.product)
    try:
        table = catalog.load_table(name)
    except NoSuchTableError:
        with contextlib.suppress(NamespaceAlreadyExistsError):
            catalog.create_namespace(contract.domain)
        try:
            return catalog.create_table(
                name,
                schema=contract_schema(contract),
                properties={
                    "write.target-file-size-bytes": str(TARGET_FILE_BYTES),
                    CONTRACT_VERSION_PROPERTY: contract.version,
                    "comment": contract.description,
                },
            )
        except TableAlreadyExistsError:  # created by another process meanwhile
            table = catalog.load_table(name)
    return evolve(table, contract)
