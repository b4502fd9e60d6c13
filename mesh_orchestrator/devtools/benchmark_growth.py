"""How the benchmark's figures grow from one scale to another (``mesh benchmark --compare-scale``).

Cost should grow linearly with the data: a step that takes 5.5 times as long for 5 times the
landing lines is within noise, one that takes 8 times as long is where the cost bends. Each figure
of a run is set beside the same figure of an earlier run (its ``benchmark.json``) with their ratio;
times are judged against the ratio of the landing lines plus 10 %, memory is shown, not judged here
(its target is absolute: ``benchmark.TARGET_PEAK_MIB`` at every scale). A figure of a run that
failed at either scale covers only what ran: it is shown as ``partial``, never judged linear.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mesh_orchestrator.core.errors import MeshError
from mesh_orchestrator.devtools.benchmark import RESULT_FILE, BenchmarkResult, MeshMeasure, default_folder

#: A time may grow this much faster than the data and still count as linear (noise, fixed costs).
LINEAR_SLACK = 1.10
#: Steps shorter than this at the larger scale are listed without a verdict: their time is noise.
MIN_JUDGED_SECONDS = 1.0


class BaselineError(MeshError):
    """The earlier benchmark to compare with cannot be read."""


def load_baseline(path: Path) -> BenchmarkResult:
    """An earlier benchmark's result, from its ``benchmark.json`` (or the folder that holds it)."""
    file = path / RESULT_FILE if path.is_dir() else path
    if not file.is_file():
        raise BaselineError(
            f"no earlier benchmark at {file}: run `mesh benchmark --scale N` there first, or pass "
            "--compare with the path of a benchmark.json"
        )
    try:
        return BenchmarkResult.from_json(json.loads(file.read_text(encoding="utf-8")))
    except (ValueError, TypeError, KeyError) as exc:
        raise BaselineError(f"{file} is not a benchmark.json written by `mesh benchmark`: {exc}") from exc


def baseline_for_scale(scale: int) -> BenchmarkResult:
    """The last benchmark of ``scale`` in its default folder."""
    return load_baseline(default_folder(scale))


@dataclass
class Growth:
    """One figure at both scales."""

    section: str  # "mesh", "run", "phase" or "step"
    figure: str
    value: float | None
    baseline: float | None
    unit: str = "s"
    judged: bool = True  # times are held against the data's growth; memory is not
    partial: bool = False  # a run behind the figure failed at either scale: it covers only what ran

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline


def _step_figures(mesh: MeshMeasure) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds and peak MiB per step key (summed, and the largest, where a step ran twice)."""
    seconds: dict[str, float] = defaultdict(float)
    peaks: dict[str, float] = {}
    for run in mesh.runs:
        for step in run.steps:
            seconds[step.key] += step.seconds
            if step.peak_mib is not None:
                peaks[step.key] = max(peaks.get(step.key, 0.0), step.peak_mib)
    return dict(seconds), peaks


def _phase_figures(mesh: MeshMeasure) -> dict[str, float]:
    phases: dict[str, float] = defaultdict(float)
    for run in mesh.runs:
        for phase, secs in run.phases.items():
            phases[f"{run.domain} {phase}"] += secs
    return dict(phases)


def _run_figures(mesh: MeshMeasure) -> dict[str, float]:
    runs: dict[str, float] = defaultdict(float)
    for run in mesh.runs:
        runs[f"{run.location}/{run.job}"] += run.seconds
    return dict(runs)


def _failed_figures(mesh: MeshMeasure) -> set[str]:
    """The run, phase and step figures of ``mesh`` that a failed run contributed to."""
    failed: set[str] = set()
    for run in mesh.runs:
        if not run.success:
            failed.add(f"{run.location}/{run.job}")
            failed.update(f"{run.domain} {phase}" for phase in run.phases)
            failed.update(step.key for step in run.steps)
    return failed


def growth(result: BenchmarkResult, baseline: BenchmarkResult) -> list[Growth]:
    """Every figure of ``result`` that ``baseline`` has too, beside it."""
    mesh, base = result.mesh, baseline.mesh
    complete = mesh.success and base.success
    failed = _failed_figures(mesh) | _failed_figures(base)
    rows = [
        Growth(
            "data",
            "landing lines",
            sum(result.generated_lines.values()),
            sum(baseline.generated_lines.values()),
            unit="lines",
            judged=False,
        ),
        Growth("mesh", "mesh wall time", mesh.seconds, base.seconds, partial=not complete),
        Growth("mesh", "Great Expectations audits", mesh.gx_seconds, base.gx_seconds, partial=not complete),
        Growth("mesh", "peak memory, process tree", mesh.peak_mib, base.peak_mib, unit="MiB", judged=False),
    ]
    if result.floor is not None and baseline.floor is not None:
        rows.append(Growth("mesh", "DuckDB-only floor", result.floor.seconds, baseline.floor.seconds))
    for section, ours, theirs in (
        ("run", _run_figures(mesh), _run_figures(base)),
        ("phase", _phase_figures(mesh), _phase_figures(base)),
    ):
        rows += [
            Growth(section, name, ours[name], theirs.get(name), partial=name in failed)
            for name in sorted(ours, key=lambda n: -ours[n])
        ]
    seconds, peaks = _step_figures(mesh)
    base_seconds, base_peaks = _step_figures(base)
    for key in sorted(seconds, key=lambda k: -seconds[k]):
        rows.append(Growth("step", key, seconds[key], base_seconds.get(key), partial=key in failed))
        if key in peaks:
            rows.append(
                Growth("step", f"{key} (peak)", peaks[key], base_peaks.get(key), unit="MiB", judged=False)
            )
    return rows


def data_ratio(result: BenchmarkResult, baseline: BenchmarkResult) -> float | None:
    """How many times the landing lines of ``baseline`` the run processed."""
    base = sum(baseline.generated_lines.values())
    return sum(result.generated_lines.values()) / base if base else None


def verdict(row: Growth, data: float | None) -> str:
    """``linear`` or ``OVER`` for a time that was measured at both scales and is not noise;
    ``partial`` for a time a failed run cut short."""
    if not row.judged or row.ratio is None or data is None:
        return ""
    if row.partial:
        return "partial"
    if row.section == "step" and (row.value or 0.0) < MIN_JUDGED_SECONDS:
        return ""
    return "linear" if row.ratio <= data * LINEAR_SLACK else "OVER"


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if unit in ("MiB", "lines") else f"{value:,.1f}"


def format_growth(result: BenchmarkResult, baseline: BenchmarkResult) -> list[str]:
    """The growth table of the summary."""
    data = data_ratio(result, baseline)
    limit = "-" if data is None else f"{data * LINEAR_SLACK:.2f}"
    lines = [
        f"Growth from scale {baseline.scale} to scale {result.scale} (times are linear while their "
        f"ratio stays within the landing lines' ratio + 10 % = {limit}; steps under "
        f"{MIN_JUDGED_SECONDS:g} s are not judged)",
        "",
    ]
    header = (
        f"{'figure':<66}{'scale ' + str(baseline.scale):>14}{'scale ' + str(result.scale):>14}{'ratio':>8}  "
    )
    lines += [header, "-" * (len(header) + 6)]
    section = None
    over = 0
    for row in growth(result, baseline):
        if row.section != section:
            section = row.section
            if section in ("run", "phase", "step"):
                lines.append(f"[{section}s]")
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
        judged = verdict(row, data)
        over += judged == "OVER"
        name = f"{row.figure} ({row.unit})"
        lines.append(
            f"{name[:65]:<66}{_figure(row.baseline, row.unit):>14}{_figure(row.value, row.unit):>14}"
            f"{ratio:>8}  {judged}"
        )
    incomplete = [r for r in (baseline, result) if not r.mesh.success]
    for run in incomplete:
        lines.append(
            f"scale {run.scale} did not complete ({'; '.join(run.mesh.failures) or 'a run failed'}): "
            "the figures it touched are partial and not judged"
        )
    if over:
        lines.append(f"{over} time(s) grew faster than the data")
    elif not incomplete:
        lines.append("every judged time grew linearly")
    return lines


def growth_json(result: BenchmarkResult, baseline: BenchmarkResult, baseline_path: str) -> dict[str, Any]:
    """What ``benchmark.json`` records of the comparison."""
    data = data_ratio(result, baseline)
    return {
        "baseline": baseline_path,
        "baseline_scale": baseline.scale,
        "complete": result.mesh.success and baseline.mesh.success,
        "data_ratio": None if data is None else round(data, 4),
        "linear_limit": None if data is None else round(data * LINEAR_SLACK, 4),
        "figures": [
            {
                **asdict(row),
                "ratio": None if row.ratio is None else round(row.ratio, 4),
                "verdict": verdict(row, data),
            }
            for row in growth(result, baseline)
        ],
    }
