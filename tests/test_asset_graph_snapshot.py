"""Every asset spec of every code location, compared with a committed snapshot.

A rename, a lost dependency or a changed owner fails here, so such changes are deliberate:
regenerate with ``UPDATE_SNAPSHOTS=1 pytest tests/test_asset_graph_snapshot.py`` and review the diff.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from mesh_orchestrator.core.paths import REPO_ROOT

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def _modules() -> dict[str, str]:
    entries = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())["load_from"]
    return {e["python_module"]["location_name"]: e["python_module"]["module_name"] for e in entries}


def _describe() -> dict[str, Any]:
    graph: dict[str, Any] = {}
    for location, module in sorted(_modules().items()):
        defs = importlib.import_module(module).defs
        asset_graph = defs.resolve_asset_graph()
        for key in asset_graph.get_all_asset_keys():
            node = asset_graph.get(key)
            if not node.is_materializable:
                continue
            graph[key.to_user_string()] = {
                "location": location,
                "deps": sorted(k.to_user_string() for k in node.parent_keys),
                "group": node.group_name,
                "owners": sorted(node.owners),
                "tags": {k: v for k, v in sorted(node.tags.items()) if not k.startswith("dagster/kind/")},
                "kinds": sorted(node.kinds),
                "pool": node.pools and sorted(node.pools),
                "checks": sorted(k.name for k in node.check_keys),
                "automation": str(node.automation_condition) if node.automation_condition else None,
            }
    return dict(sorted(graph.items()))


def test_asset_graph_matches_snapshot(data_dir: Path) -> None:
    current = _describe()
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert current == expected, "asset graph changed: rerun with UPDATE_SNAPSHOTS=1 and review the diff"
