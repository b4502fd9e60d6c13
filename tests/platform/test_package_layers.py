"""The platform's rooms depend one way: a room imports only rooms below it, so there is no cycle.

Read bottom-up, the order is also the order a newcomer can read the package in.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mesh_orchestrator

PACKAGE = Path(mesh_orchestrator.__file__).parent

#: Bottom first. A room may import any room listed before it, and no other.
LAYERS = (
    "core",
    "orchestration",
    "ingestion",
    "quality",
    "ports",
    "transformation",
    "governance",
    "components",
    "meta",
    "cli",
    "devtools",
)

#: The one import against the order: the ``mesh`` command starts the developer tools' commands
#: (``mesh generate``, ``demo``, ``benchmark``), importing them only when such a command is run,
#: because the production image leaves ``devtools`` out.
LAZY_ENTRY_POINTS = {("cli/main.py", "devtools")}


def _imports_of_other_rooms() -> list[tuple[str, str, str, int]]:
    """``(file, its room, imported room, line)`` for every import of another room of the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if len(relative.parts) == 1:
            continue
        room = relative.parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            for module in modules:
                parts = module.split(".")
                if parts[0] == "mesh_orchestrator" and len(parts) > 1 and parts[1] != room:
                    found.append((relative.as_posix(), room, parts[1], node.lineno))
    return found


def test_every_room_of_the_package_is_in_the_layer_order_and_opens_with_a_docstring():
    rooms = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert sorted(LAYERS) == rooms
    for room in rooms:
        assert ast.get_docstring(ast.parse((PACKAGE / room / "__init__.py").read_text())), room


def test_the_package_top_level_holds_at_most_a_dozen_modules():
    top = [p for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()]
    assert len(top) <= 12, sorted(p.name for p in top)


def test_rooms_import_only_rooms_below_them():
    wrong = [
        f"{file}:{line} ({room}) imports {target}, which is not below it"
        for file, room, target, line in _imports_of_other_rooms()
        if LAYERS.index(target) > LAYERS.index(room) and (file, target) not in LAZY_ENTRY_POINTS
    ]
    assert wrong == []


def test_the_developer_tools_are_imported_only_inside_the_command_that_runs_them():
    """A module-level import of ``devtools`` would break ``mesh`` in the production image."""
    tree = ast.parse((PACKAGE / "cli" / "main.py").read_text(encoding="utf-8"))
    top_level = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module]
    assert not [n.module for n in top_level if n.module and n.module.startswith("mesh_orchestrator.devtools")]
