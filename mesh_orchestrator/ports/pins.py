"""Consumers read each consumed product at one snapshot, pinned when their run starts.

Before a consumer's first dbt invocation of a run, every product it consumes is resolved to the
snapshot ``main`` holds then, and bound to a view ``ports.<domain>__<product>`` in the consumer's own
database over exactly that snapshot's data files (the dbt sources named ``ports``). Every model of
the run reads those views, so a version published meanwhile is read by the next run, never by half
of this one. The pins are recorded in ``ports.mesh_pins`` (so later steps of the same run reuse
them) and on the run's materialisations. DuckDB streams the files; nothing is pulled into Python.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import duckdb

from mesh_orchestrator.core import names
from mesh_orchestrator.core.contracts import load_contract
from mesh_orchestrator.core.spec import DomainSpec
from mesh_orchestrator.core.sql import identifier
from mesh_orchestrator.ports.tables import (
    catalog,
    load_port,
    local_paths,
    parquet_relation,
    require_current,
    snapshot_files,
)

SCHEMA = "ports"
PINS = "mesh_pins"


def _pinned_in_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, dict[str, Any]]:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{PINS} "
        "(run_id VARCHAR, product VARCHAR, version INTEGER, snapshot_id BIGINT, pinned_at TIMESTAMPTZ)"
    )
    rows = con.execute(
        f"SELECT product, version, snapshot_id FROM {SCHEMA}.{PINS} WHERE run_id = ?", [run_id]
    ).fetchall()
    return {str(p): {"version": int(v), "snapshot_id": int(s)} for p, v, s in rows}


def _empty_select(domain: str, product: str) -> str:
    contract = load_contract(domain, product)
    columns = ", ".join(
        f"CAST(NULL AS {c.type}) AS {identifier(c.name, 'contract column')}" for c in contract.columns
    )
    return f"SELECT {columns} WHERE false"


def pin(con: duckdb.DuckDBPyConnection, spec: DomainSpec, run_id: str) -> dict[str, dict[str, Any]]:
    """Bind the ``ports`` views of ``spec``'s consumed products to their current snapshots, once per
    run; returns ``{"<domain>.<product>": {"version", "snapshot_id"}}``."""
    if not spec.consumes:
        return {}
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    pins = _pinned_in_run(con, run_id)
    wanted = {f"{ref.domain}.{ref.product}": ref for ref in spec.consumes}
    if set(wanted) <= set(pins):
        return {k: pins[k] for k in wanted}
    cat = catalog()
    con.execute("BEGIN")
    for key, ref in wanted.items():
        version = require_current(ref.domain, ref.product, cat)
        table = load_port(ref.domain, ref.product, cat)
        files = local_paths(table, snapshot_files(table, version.snapshot_id))
        select = (
            f"SELECT * FROM {parquet_relation(files)}" if files else _empty_select(ref.domain, ref.product)
        )
        view = identifier(names.handoff_name(ref.domain, ref.product), "port view")
        con.execute(f"CREATE OR REPLACE VIEW {SCHEMA}.{view} AS {select}")
        con.execute(
            f"INSERT INTO {SCHEMA}.{PINS} VALUES (?, ?, ?, ?, now())",
            [run_id, key, version.version, version.snapshot_id],
        )
        pins[key] = {"version": version.version, "snapshot_id": version.snapshot_id}
    con.execute(
        f"DELETE FROM {SCHEMA}.{PINS} WHERE run_id <> ? AND pinned_at < now() - INTERVAL 30 DAY", [run_id]
    )
    con.execute("COMMIT")
    return {k: pins[k] for k in wanted}


def inputs_of(pins: Mapping[str, Mapping[str, Any]], consumed: list[str]) -> dict[str, Any]:
    """The pins of the products a contract lists as inputs (what its snapshot summary records)."""
    return {key: dict(pins[key]) for key in consumed if key in pins}


def pins_metadata(pins: Mapping[str, Mapping[str, Any]]) -> str:
    return json.dumps({k: dict(v) for k, v in pins.items()}, sort_keys=True)
