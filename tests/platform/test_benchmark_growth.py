"""The benchmark's growth table: each figure beside the same figure of a smaller scale, times held
against the data's growth (issue 16: linear within noise)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from mesh_orchestrator.cli.main import main
from mesh_orchestrator.devtools import benchmark as bm
from mesh_orchestrator.devtools import benchmark_growth as growth


def _result(scale: int, lines: int, bronze: float, dbt: float, peak: float) -> bm.BenchmarkResult:
    steps = [
        bm.StepTiming("shop__bronze__items", "bronze", bronze, peak),
        bm.StepTiming("shop_dbt", "dbt", dbt, peak / 2),
        bm.StepTiming("shop__gold__items_unique", "checks", 0.3 if scale > 2000 else 0.1),
    ]
    run = bm.RunTiming(
        "shop",
        "shop__all_assets",
        "shop",
        True,
        bronze + dbt + 1.0,
        steps=steps,
        phases={"bronze": bronze, "dbt": dbt, "checks": steps[2].seconds},
    )
    mesh = bm.MeshMeasure(bronze + dbt + 5.0, [run], {}, True, [], peak, peak, peak, peak / 2)
    return bm.BenchmarkResult(scale, 42, f"/b/scale-{scale}", 2, 1.0, {"shop": lines}, mesh)


SMALL = _result(2000, 1_000_000, bronze=100.0, dbt=50.0, peak=3000.0)
LARGE = _result(10000, 5_000_000, bronze=800.0, dbt=260.0, peak=3100.0)


def _rows(result: bm.BenchmarkResult, baseline: bm.BenchmarkResult) -> dict[str, growth.Growth]:
    return {f"{g.section}:{g.figure}": g for g in growth.growth(result, baseline)}


def test_each_figure_sits_beside_its_baseline_with_their_ratio() -> None:
    rows = _rows(LARGE, SMALL)
    assert rows["data:landing lines"].ratio == 5.0
    assert rows["step:shop__bronze__items"].ratio == 8.0
    assert rows["step:shop_dbt"].ratio == pytest.approx(5.2)
    assert rows["step:shop__bronze__items (peak)"].ratio == pytest.approx(3100 / 3000)
    assert rows["phase:shop bronze"].value == 800.0 and rows["run:shop/shop__all_assets"].baseline == 151.0


def test_times_are_judged_against_the_datas_growth_plus_ten_percent() -> None:
    data = growth.data_ratio(LARGE, SMALL)
    rows = _rows(LARGE, SMALL)
    assert growth.verdict(rows["step:shop__bronze__items"], data) == "OVER"  # 8x for 5x the data
    assert growth.verdict(rows["step:shop_dbt"], data) == "linear"  # 5.2x <= 5.5x
    assert growth.verdict(rows["step:shop__bronze__items (peak)"], data) == "", "memory is not judged here"
    assert growth.verdict(rows["step:shop__gold__items_unique"], data) == "", "a step under 1 s is noise"


def test_the_table_names_what_grew_faster_than_the_data() -> None:
    text = "\n".join(growth.format_growth(LARGE, SMALL))
    assert "Growth from scale 2000 to scale 10000" in text and "= 5.50" in text
    bronze = next(line for line in text.splitlines() if line.startswith("shop__bronze__items (s)"))
    assert bronze.split()[-3:] == ["800.0", "8.00", "OVER"]
    assert "time(s) grew faster than the data" in text


def test_a_step_missing_at_the_smaller_scale_has_no_ratio() -> None:
    small = copy.deepcopy(SMALL)
    small.mesh.runs[0].steps.pop(1)
    row = _rows(LARGE, small)["step:shop_dbt"]
    assert row.baseline is None and row.ratio is None and growth.verdict(row, 5.0) == ""


def test_growth_is_recorded_in_the_json() -> None:
    data = growth.growth_json(LARGE, SMALL, "/b/scale-2000")
    assert data["baseline_scale"] == 2000 and data["data_ratio"] == 5.0 and data["linear_limit"] == 5.5
    bronze = next(f for f in data["figures"] if f["figure"] == "shop__bronze__items")
    assert (bronze["ratio"], bronze["verdict"]) == (8.0, "OVER")


def test_a_baseline_is_read_from_its_file_or_its_folder(tmp_path: Path) -> None:
    (tmp_path / bm.RESULT_FILE).write_text(json.dumps(SMALL.to_json()), encoding="utf-8")
    assert growth.load_baseline(tmp_path) == SMALL
    assert growth.load_baseline(tmp_path / bm.RESULT_FILE) == SMALL


def test_a_missing_or_foreign_baseline_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        growth.BaselineError, match=r"no earlier benchmark at .*run `mesh benchmark --scale N`"
    ):
        growth.load_baseline(tmp_path)
    (tmp_path / bm.RESULT_FILE).write_text('{"scale": 1}', encoding="utf-8")
    with pytest.raises(growth.BaselineError, match=r"is not a benchmark\.json written by `mesh benchmark`"):
        growth.load_baseline(tmp_path)


def test_the_command_stops_before_any_work_without_its_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bench"
    code = main(["benchmark", "--data-dir", str(folder), "--compare", str(tmp_path / "none.json")])
    assert code == 2
    assert "no earlier benchmark at" in capsys.readouterr().err
    assert not folder.exists(), "nothing was generated"


def test_a_failed_run_is_not_judged_linear_on_what_it_left_undone() -> None:
    """A run that stopped halfway took less time than a whole one: its totals are partial, not linear."""
    failed = _result(10000, 5_000_000, bronze=400.0, dbt=0.0, peak=3100.0)
    failed.mesh.success = False
    failed.mesh.failures = ["shop: shop__bronze__items failed (Out of Memory Error)"]
    failed.mesh.runs[0].success = False
    data = growth.data_ratio(failed, SMALL)
    rows = _rows(failed, SMALL)
    for figure in (
        "mesh:mesh wall time",
        "run:shop/shop__all_assets",
        "phase:shop bronze",
        "step:shop__bronze__items",
    ):
        assert growth.verdict(rows[figure], data) == "partial", figure
    text = "\n".join(growth.format_growth(failed, SMALL))
    assert "every judged time grew linearly" not in text
    assert "scale 10000 did not complete (shop: shop__bronze__items failed (Out of Memory Error))" in text
    assert growth.growth_json(failed, SMALL, "/b")["complete"] is False
