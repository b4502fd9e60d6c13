"""dbt-duckdb plugin: the masking key of the dbt project's domain, to SQL but never into SQL text.

Declared in the profile every domain shares, ``dbt_projects/profiles.yml``::

    plugins:
      - module: mesh_orchestrator.transformation.dbt_plugin
        config: {domain: "{{ var('domain') }}"}  # the platform passes --vars

It registers ``mesh_hmac_pad(kind)``, which returns the domain key's inner or outer HMAC pad as a
BLOB. The ``mask_pii`` macro (``dbt_projects/_shared/macros``) combines them with DuckDB's vectorised
``sha256`` into HMAC-SHA256, so masking runs at SQL speed while the key stays out of the compiled
SQL that dbt writes to ``target/``.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from mesh_orchestrator.quality.masking import domain_key, hmac_pads


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        domain = plugin_config.get("domain")
        if not domain:
            raise ValueError(f"{__name__} needs `config: {{domain: <domain>}}` in profiles.yml")
        self.inner, self.outer = hmac_pads(domain_key(str(domain)))

    def configure_connection(self, conn: Any) -> None:
        pads = {"inner": self.inner, "outer": self.outer}

        def pad(kind: str) -> bytes:
            return pads[kind]

        conn.create_function("mesh_hmac_pad", pad, ["VARCHAR"], "BLOB", side_effects=False)
