"""One clean and one dirty generation at scale 1, shared by the generator's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh_orchestrator.devtools.generate import GenerationReport, generate
from tests.generate.helpers import SEED


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationReport]:
    root = tmp_path_factory.mktemp("clean")
    return root, generate(root, scale=1, seed=SEED)


@pytest.fixture(scope="session")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationReport]:
    root = tmp_path_factory.mktemp("dirty")
    return root, generate(root, scale=1, seed=SEED, faults=0.05)
