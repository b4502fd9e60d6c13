"""The pure parts of ``mesh benchmark``: folder guard, manifest order, SQL, figures and report.

Not a timed test: nothing here runs the mesh or measures anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.spec import load_domain_spec
from mesh_orchestrator.devtools import benchmark as bm
from mesh_orchestrator.transformation.manifest import Manifest


def test_fresh_folder_gets_a_marker_and_a_marked_folder_is_wiped(tmp_path: Path) -> None:
    folder = bm.prepare_folder(tmp_path / "bench" / "scale-3")
    assert (folder / bm.MARKER).is_file() and folder.is_absolute()
    (folder / "landing").mkdir()
    (folder / "landing" / "old.csv").write_text("x\n")
    again = bm.prepare_folder(folder)
    assert again == folder
    assert sorted(p.name for p in folder.iterdir()) == [bm.MARKER], "the previous run is wiped"


def test_empty_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert (bm.prepare_folder(tmp_path / "empty") / bm.MARKER).is_file()


def test_refuses_to_wipe_a_folder_without_the_marker(tmp_path: Path) -> None:
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(bm.BenchmarkFolderError, match=r"no \.mesh-benchmark marker"):
        bm.prepare_folder(folder)
    assert (folder / "keep.txt").read_text() == "mine"


def test_refuses_the_repository_and_its_parents() -> None:
    for folder in (REPO_ROOT, REPO_ROOT.parent):
        with pytest.raises(bm.BenchmarkFolderError, match="holds the repository"):
            bm.prepare_folder(folder)


def test_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(bm.BenchmarkFolderError, match="not a folder"):
        bm.prepare_folder(tmp_path / "f")


def _model(name: str, *deps: str, materialized: str = "table", schema: str = "silver") -> dict:
    return {
        "resource_type": "model",
        "name": name,
        "database": "shop",
        "schema": schema,
        "alias": name,
        "relation_name": f'"shop"."{schema}"."{name}"',
        "config": {"materialized": materialized},
        "depends_on": {"nodes": list(deps)},
        "compiled_code": f"select 1 as {name}",
    }


def test_models_in_dependency_order_sources_and_tests_ignored() -> None:
    nodes = {
        "model.shop.gold_z": _model("gold_z", "model.shop.int_b", "model.shop.stg_a", schema="gold"),
        "model.shop.int_b": _model("int_b", "model.shop.stg_a", "source.shop.ports.x"),
        "model.shop.stg_a": _model("stg_a", "source.shop.bronze.orders", materialized="view"),
        "model.shop.aaa": _model("aaa"),
        "test.shop.not_null": {"resource_type": "test", "depends_on": {"nodes": ["model.shop.gold_z"]}},
    }
    order = Manifest(nodes, "shop").models_in_order()
    assert order == ["model.shop.aaa", "model.shop.stg_a", "model.shop.int_b", "model.shop.gold_z"]


def test_cyclic_models_are_an_error() -> None:
    nodes = {"model.s.a": _model("a", "model.s.b"), "model.s.b": _model("b", "model.s.a")}
    with pytest.raises(ValueError, match="cyclic"):
        Manifest(nodes, "shop").models_in_order()


def test_statements_keep_the_materialisation_and_relation() -> None:
    view = _model("stg_a", materialized="view")
    view["compiled_code"] = "select 1 as a -- trailing comment\n;"
    assert bm.model_statement(view) == (
        'CREATE OR REPLACE VIEW "shop"."silver"."stg_a" AS (\nselect 1 as a -- trailing comment\n)'
    )
    table = bm.model_statement(_model("t"))
    assert table == 'CREATE OR REPLACE TABLE "shop"."silver"."t" AS (\nselect 1 as t\n)'
    assert bm.model_statement(_model("e", materialized="ephemeral")) is None
    test = {"compiled_code": "select * from x where y is null"}
    assert bm.dbt_test_statement(test) == (
        "SELECT count(*) FROM (\nselect * from x where y is null\n) dbt_internal_test"
    )


def test_replayed_statements_run_on_duckdb_under_the_compiled_database_name(tmp_path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(tmp_path / "shop.duckdb"))  # the file's stem is the database name
    con.execute('CREATE SCHEMA "shop"."silver"')
    nodes = {"model.shop.a": _model("a"), "model.shop.b": _model("b", "model.shop.a", materialized="view")}
    nodes["model.shop.b"]["compiled_code"] = 'select a + 1 as b from "shop"."silver"."a"'
    for node_id in Manifest(nodes, "shop").models_in_order():
        statement = bm.model_statement(nodes[node_id])
        assert statement is not None
        con.execute(statement)
    assert con.execute("select b from silver.b").fetchall() == [(2,)]


def test_step_phases() -> None:
    assert bm.step_phase("sales__landing__web_order_events") == "landing"
    assert bm.step_phase("sales__bronze__web_order_events") == "bronze"
    assert bm.step_phase("sales_dbt") == "dbt"
    assert bm.step_phase("finance_dbt_monthly") == bm.step_phase("finance_dbt_downstream") == "dbt"
    assert bm.step_phase("finance__gold__trial_balance_trial_balance_nets_to_zero") == "checks"
    assert bm.step_phase("mesh__handoff__sales__invoices") == "handoff"
    assert bm.step_phase("finance_gold_general_ledger_journal_entries_balanced") == "checks"


def test_proc_stat_parsing_survives_odd_command_names() -> None:
    tail = ["S", "17"] + ["0"] * 19 + ["123", "0"]  # fields 3 (state), 4 (ppid) ... 24 (rss)
    assert bm.parse_proc_stat("4242 (dbt (worker) x) " + " ".join(tail)) == (17, 123)


def test_process_tree_of_this_process() -> None:
    import os

    tree = bm.process_tree_rss(os.getpid())
    if tree is None:
        pytest.skip("no /proc on this platform")
    assert tree[os.getpid()] > 0


def _result(scale: int = 2000, gx: float = 10.0, floor_seconds: float = 80.0) -> bm.BenchmarkResult:
    mesh = bm.MeshMeasure(
        seconds=100.0,
        runs=[
            bm.RunTiming(
                "shop",
                "shop__all_assets",
                "shop",
                True,
                60.0,
                assets=5,
                rows=1_000,
                phases={"landing": 10.0, "bronze": 5.0, "dbt": 40.0},
                steps=[
                    bm.StepTiming("shop__landing__items", "landing", 10.0, 700.0),
                    bm.StepTiming("shop__bronze__items", "bronze", 5.0, None),
                    bm.StepTiming("shop_dbt", "dbt", 40.0, 1100.0),
                ],
                peak_mib=1150.0,
            ),
            bm.RunTiming(
                "mesh",
                "handoff__shop",
                "shop",
                True,
                30.0,
                assets=1,
                rows=10,
                phases={"handoff": 29.0},
                gx_seconds=gx,
            ),
        ],
        skipped={"till": "input(s) failed their gate: shop.items"},
        success=False,
        failures=["shop.items: gate_failed"],
        peak_self_mib=900.0,
        peak_children_mib=900.0,
        peak_tree_mib=1200.0,
        peak_child_sampled_mib=300.0,
    )
    floor = bm.FloorMeasure(
        domains=[bm.FloorDomain("shop", {"landing": floor_seconds / 2, "models": floor_seconds / 2})],
        skipped={},
        compile_seconds=3.0,
        peak_self_mib=500.0,
    )
    return bm.BenchmarkResult(scale, 42, "/tmp/b", 2, 5.0, {"shop": 1_000, "till": 0}, mesh, floor)


def test_figures_and_targets() -> None:
    result = _result()
    assert result.ratio == pytest.approx(1.25)
    assert result.gx_share == pytest.approx(0.10)
    assert result.mesh.peak_mib == 1200.0
    verdicts = {k: v["verdict"] for k, v in bm.targets(result).items()}
    assert verdicts == {"mesh_over_floor": "OK", "peak_mib": "OK", "gx_share": "OK"}
    over = bm.targets(_result(gx=20.0, floor_seconds=50.0))
    assert over["mesh_over_floor"]["verdict"] == "OVER" and over["gx_share"]["verdict"] == "OVER"
    assert "sample_scale_seconds" in bm.targets(_result(scale=1))
    assert bm.targets(_result(scale=1))["sample_scale_seconds"]["verdict"] == "OVER"  # 100 s > 60 s


def test_json_round_trip_of_the_child_measures() -> None:
    from dataclasses import asdict

    result = _result()
    assert bm.MeshMeasure.from_json(asdict(result.mesh)) == result.mesh
    assert result.floor is not None
    assert bm.FloorMeasure.from_json(asdict(result.floor)) == result.floor
    figures = result.to_json()["figures"]
    assert figures["mesh_over_floor"] == 1.25 and figures["targets"]["peak_mib"]["verdict"] == "OK"


def test_report_shows_runs_floor_targets_and_what_is_missing() -> None:
    text = bm.format_summary(_result())
    assert "handoff__shop" in text and "shop__all_assets" in text
    assert "(skipped)" in text and "till" in text
    assert "mesh/floor   1.25   target <= 1.5      OK" in text
    assert "dbt parse (not in mesh time)" in text, "the mesh is timed warm, its parse shown apart"
    assert "share  10.0%" in text
    assert "1,200 MiB" in text
    assert "gates: FAILED" in text and "shop.items: gate_failed" in text
    assert "no landing data generated for: till" in text
    assert "sample scale" not in text, "the 60 s target is shown at scale 1 only"
    assert "sample scale" in bm.format_summary(_result(scale=1))
    no_floor = _result()
    no_floor.floor = None
    assert "DuckDB-only floor                   skipped" in bm.format_summary(no_floor)


# --------------------------------------------------------------------------------------------
# The floor's connections: what dbt's connections have


def _masked_sql(column_sql: str) -> str:
    """What ``{{ mask_pii(...) }}`` compiles to, from the shared macro itself."""
    import jinja2

    macro = (REPO_ROOT / "dbt_projects" / "_shared" / "macros" / "mask_pii.sql").read_text()
    return jinja2.Template(macro + "{{ mask_pii(column) }}").render(column=column_sql).strip()


def test_floor_dbt_connections_mask_as_the_mesh_does(data_dir: Path) -> None:
    import duckdb

    from mesh_orchestrator.quality.masking import domain_key, mask

    path = data_dir / "floor" / "warehouse" / "sales.duckdb"
    path.parent.mkdir(parents=True)
    connect = bm.dbt_connector(load_domain_spec("sales"), path)  # the shared profile, for sales
    with connect() as con:
        digest, database, limit = con.execute(
            f"SELECT lower(CAST({_masked_sql(repr('C-00042'))} AS VARCHAR)), current_database(), "
            "current_setting('memory_limit')"
        ).fetchone()  # type: ignore[misc]
    assert digest == mask("C-00042", domain_key("sales")), "the sales key, through the dbt plugin"
    assert database == "sales"
    with duckdb.connect(config={"memory_limit": "2GB"}) as plain:
        (profile_limit,) = plain.execute("SELECT current_setting('memory_limit')").fetchone()  # type: ignore[misc]
    assert limit == profile_limit, "the profile's settings (memory_limit: 2GB) too"


@pytest.mark.long  # a mesh run and its floor, over a minute: with the long tests
def test_floor_of_a_domain_that_masks_completes_and_equals_the_mesh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sales masks customer_id (gold.invoices, gold.receivables) with the mask_pii macro."""
    import json
    import os
    import subprocess
    import sys

    import duckdb

    from mesh_orchestrator.devtools.generate import generate
    from mesh_orchestrator.ports.tables import current_version, parquet_relation, version_paths

    folder = tmp_path / "bench"
    generate(folder, scale=1, seed=7, domains=["inventory", "sales"])
    monkeypatch.setenv("MESH_DATA_DIR", str(folder))
    monkeypatch.setenv("DAGSTER_HOME", str(folder / "dagster_home"))
    env = dict(os.environ)

    def run(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}"

    run("mesh_orchestrator.cli.main", "run", "--domains", "inventory", "sales")
    out = folder / "floor-result.json"
    run(
        "mesh_orchestrator.devtools.benchmark",
        "floor",
        "--folder",
        str(folder),
        "--out",
        str(out),
        "--domains=sales",
    )
    floor = bm.FloorMeasure.from_json(json.loads(out.read_text()))
    (sales,) = floor.domains
    assert sales.error is None and not sales.mismatches, (sales.error, sales.mismatches)
    assert floor.complete and sales.models > 0 and sales.model_rows > 0
    for product in ("invoices", "revenue_by_day", "receivables"):
        mine = folder / "floor" / "products" / "sales" / f"{product}.parquet"
        published = current_version("sales", product)
        assert published is not None and published.rows > 0, f"the mesh published no {product} rows"
        theirs = parquet_relation(version_paths(published))
        with duckdb.connect() as con:
            differing = con.execute(
                f"SELECT (SELECT count(*) FROM (FROM '{mine}' EXCEPT ALL FROM {theirs})) + "
                f"(SELECT count(*) FROM (FROM {theirs} EXCEPT ALL FROM '{mine}'))"
            ).fetchall()
        assert differing == [(0,)], f"the floor's {product} differs from the mesh's"


def test_a_floor_that_failed_is_named_in_the_summary() -> None:
    result = _result()
    assert result.floor is not None
    result.floor.domains.append(
        bm.FloorDomain("till", error="CatalogException: Scalar Function with name f does not exist!")
    )
    text = bm.format_summary(result)
    assert result.ratio is None and "mesh/floor      -" in text
    assert "floor: INCOMPLETE, so no ratio:" in text
    assert "    till failed: CatalogException: Scalar Function with name f does not exist!" in text


def test_an_older_benchmark_json_without_steps_still_reads() -> None:
    from dataclasses import asdict

    data = asdict(_result().mesh)
    for run in data["runs"]:
        del run["steps"], run["peak_mib"]
    assert all(run.steps == [] for run in bm.MeshMeasure.from_json(data).runs)


def test_a_benchmark_json_reads_back() -> None:
    result = _result()
    assert bm.BenchmarkResult.from_json(result.to_json()) == result


def test_the_peak_of_a_window_counts_the_sample_before_it() -> None:
    sampler = bm.TreeMemorySampler()
    sampler.samples = [(10.0, 100 * bm.MIB), (10.2, 300 * bm.MIB), (10.4, 200 * bm.MIB)]
    assert sampler.peak_between(10.1, 10.5) == 300.0
    assert sampler.peak_between(10.25, 10.3) == 300.0, "a step between two samples: the one before"
    assert sampler.peak_between(9.0, 9.5) is None


def test_the_summary_lists_the_slowest_steps_with_their_peak() -> None:
    lines = bm.format_steps_table(_result().mesh, limit=2)
    assert lines[2].split()[:4] == ["shop_dbt", "shop__all_assets", "40.0", "1,100"]
    assert lines[3].split()[:3] == ["shop__landing__items", "shop__all_assets", "10.0"]
    assert lines[-1].startswith("... and 1 faster steps")
    assert "Slowest steps" in bm.format_summary(_result())
