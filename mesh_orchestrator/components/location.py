"""Loading a code location from the component its folder's ``defs.yaml`` declares."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import dagster as dg
from dagster.components.core.component_tree import ComponentTreeException

from mesh_orchestrator.core.errors import MeshError
from mesh_orchestrator.core.paths import REPO_ROOT


def load_location(module_name: str) -> dg.Definitions:
    """The Definitions of the code location whose ``definitions`` module is ``module_name``:
    Dagster's component tree loads the ``defs.yaml`` of that module's folder."""
    package = importlib.import_module(module_name.rpartition(".")[0])
    try:
        with warnings.catch_warnings():
            # Dagster marks its own code references of components beta: a warning per asset, for
            # nothing the engineer can change.
            warnings.simplefilter("ignore", dg.BetaWarning)
            tree = dg.ComponentTree.from_module(defs_module=package, project_root=REPO_ROOT)
            # Built at the folder, not at the tree's root: the root adds a catalogue of every
            # installed library's component types for the UI, importing them all (2-3 s per load).
            return tree.build_defs(Path(str(package.__file__)).parent)
    except ComponentTreeException as exc:
        # Dagster wraps what the component raised in a tree of where it happened; the mesh's own
        # errors already name the file and field and say what to fix, so they are shown as raised.
        if isinstance(exc.__cause__, MeshError):
            raise exc.__cause__.with_traceback(exc.__cause__.__traceback__) from None
        raise
