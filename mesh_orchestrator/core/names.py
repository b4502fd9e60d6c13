"""Asset keys, groups, pools and tags: computed here and nowhere else."""

from __future__ import annotations

import dagster as dg

MESH = "mesh"
#: The meta-orchestrator's code location (workspace.yaml); its assets are under ``MESH``.
MESH_LOCATION = "mesh_orchestrator"
HANDOFF = "handoff"
LAYERS = ("landing", "bronze", "silver", "gold")


def code_location(location: str) -> str:
    """The workspace's name of a ``mesh run`` location: a domain's own, or the meta-orchestrator's."""
    return MESH_LOCATION if location == MESH else location


def asset_key(domain: str, layer: str, name: str) -> dg.AssetKey:
    """``<domain>/<layer>/<name>``, the key of every domain asset."""
    return dg.AssetKey([domain, layer, name])


def handoff_name(domain: str, product: str) -> str:
    return f"{domain}__{product}"


def handoff_key(domain: str, product: str) -> dg.AssetKey:
    """``mesh/handoff/<domain>__<product>``: the published port consumers depend on."""
    return dg.AssetKey([MESH, HANDOFF, handoff_name(domain, product)])


def parse_handoff_name(name: str) -> tuple[str, str]:
    domain, sep, product = name.partition("__")
    if not sep or not domain or not product:
        raise ValueError(f"{name!r} is not a hand-off name '<domain>__<product>'")
    return domain, product


def group_name(domain: str, layer: str) -> str:
    return f"{domain}_{layer}"


def owner(domain: str) -> str:
    return f"team:{domain}"


def is_owner(value: object) -> bool:
    """Dagster's owner forms: ``team:<name>`` or an e-mail address."""
    return isinstance(value, str) and (value.startswith("team:") or "@" in value)


def pool(domain: str) -> str:
    """The Dagster concurrency pool shared by every reader and writer of a domain's DuckDB file."""
    return f"duckdb_{domain}"


def tags(domain: str, layer: str, data_product: str | None = None, pii: bool = False) -> dict[str, str]:
    result = {"domain": domain, "layer": layer, "pii": "true" if pii else "false"}
    if data_product:
        result["data_product"] = data_product
    return result


def domain_job_name(domain: str) -> str:
    return f"{domain}__all_assets"


def handoff_job_name(domain: str) -> str:
    return f"handoff__{domain}"
