"""Shared plumbing for the domain generators: run settings and reproducible random streams.

Each feed (and each chunk of a feed) draws from its own stream derived from the seed and a
stable name, so generating one domain alone gives the same bytes as generating all of them,
and turning faults on does not change the clean rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Context:
    """Settings of one generation run, handed to every domain generator."""

    data_dir: Path
    scale: int
    seed: int
    faults: float = 0.0
    progress: Callable[[str], None] | None = None

    def landing(self, domain: str, feed: str) -> Path:
        """``<data_dir>/landing/<domain>/<feed>``, created if missing."""
        folder = self.data_dir / "landing" / domain / feed
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)


def rng_for(seed: int, *names: str | int) -> np.random.Generator:
    """A generator for one named stream; names are hashed with CRC32 (stable across runs)."""
    key = tuple(n if isinstance(n, int) else zlib.crc32(n.encode()) for n in names)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
