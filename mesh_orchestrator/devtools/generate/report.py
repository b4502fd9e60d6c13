"""What a generation run wrote: files, lines and injected faults per feed.

Tests and the CLI reconcile against these numbers (for example, landed rows = lines written),
so ``rows`` counts every data line written, faulty ones included, and never CSV headers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FeedReport:
    """Counts for one feed of one domain."""

    domain: str
    feed: str
    files: int = 0
    rows: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.feed}"

    def line(self) -> str:
        """One-line progress message, e.g. ``sales/web_order_events: 90 files, 3,214 lines``."""
        text = f"{self.name}: {self.files:,} files, {self.rows:,} lines"
        injected = sum(self.faults.values())
        return f"{text} ({injected:,} faulty)" if injected else text


@dataclass
class GenerationReport:
    """Everything one call of :func:`mesh_orchestrator.devtools.generate.generate` wrote."""

    data_dir: Path
    scale: int
    seed: int
    fault_rate: float
    feeds: dict[tuple[str, str], FeedReport] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, feed: FeedReport) -> None:
        self.feeds[(feed.domain, feed.feed)] = feed

    @property
    def files(self) -> int:
        return sum(f.files for f in self.feeds.values())

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.feeds.values())

    @property
    def faults(self) -> Counter[str]:
        """Injected faults by kind, over all feeds."""
        total: Counter[str] = Counter()
        for feed in self.feeds.values():
            total.update(feed.faults)
        return total

    def summary(self) -> str:
        """Human-readable multi-line summary for the CLI."""
        lines = [
            f"Generated sample data in {self.data_dir} (scale {self.scale}, seed {self.seed}, "
            f"fault rate {self.fault_rate:g}) in {self.seconds:.1f}s:"
        ]
        lines += [f"  {feed.line()}" for feed in self.feeds.values()]
        lines.append(f"  total: {self.files:,} files, {self.rows:,} lines")
        if self.faults:
            kinds = ", ".join(f"{kind} {n:,}" for kind, n in sorted(self.faults.items()))
            lines.append(f"  injected faults: {kinds}")
        return "\n".join(lines)
