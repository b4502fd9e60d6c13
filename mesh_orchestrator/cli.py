"""The ``mesh`` command: generate sample data, run the whole mesh, find a product's port, open the UI."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from mesh_orchestrator.environment import ensure_dagster_home, ensure_environment
from mesh_orchestrator.errors import MeshError
from mesh_orchestrator.paths import data_dir


def _generate(args: argparse.Namespace) -> int:
    from mesh_orchestrator.generate import generate

    report = generate(
        data_dir(),
        scale=args.scale,
        seed=args.seed,
        faults=args.faults,
        domains=args.domains or None,
        progress=lambda msg: print(f"  {msg}", flush=True),
    )
    print(report.summary())
    return 0


def _run(args: argparse.Namespace) -> int:
    ensure_dagster_home()
    import dagster as dg

    from mesh_orchestrator.runner import format_summary, run_mesh

    with dg.DagsterInstance.get() as instance:
        summary = run_mesh(instance, log=lambda msg: print(msg, flush=True), domains=args.domains or None)
    print(format_summary(summary))
    print(f"\nDagster instance: {os.environ['DAGSTER_HOME']} (open it with `mesh ui`)")
    return 0 if summary.success else 1


def _backfill(args: argparse.Namespace) -> int:
    ensure_dagster_home()
    import dagster as dg

    from mesh_orchestrator.runner import format_summary, run_partitions

    with dg.DagsterInstance.get() as instance:
        summary = run_partitions(
            instance, args.domain, args.first, args.last, log=lambda msg: print(msg, flush=True)
        )
    print(format_summary(summary))
    return 0 if summary.success else 1


def _demo(args: argparse.Namespace) -> int:
    print(f"Generating sample data (scale {args.scale}, seed {args.seed}) under {data_dir()} ...")
    _generate(args)
    print("\nRunning the whole mesh ...")
    return _run(args)


def _benchmark(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mesh_orchestrator.benchmark import run_benchmark

    folder = Path(args.data_dir).expanduser().resolve() if args.data_dir else None
    result = run_benchmark(args.scale, args.seed, folder, skip_floor=args.skip_floor)
    return 0 if result.mesh.success else 1


def _port(args: argparse.Namespace) -> int:
    from mesh_orchestrator.ports import require_current

    published = require_current(args.domain, args.product)
    print(published.path)
    if args.verbose:
        print(
            f"version {published.version}, contract {published.contract_version}, "
            f"{published.rows:,} rows, published {published.published_at}",
            file=sys.stderr,
        )
    return 0


def _contracts_sync_dbt(args: argparse.Namespace) -> int:
    from mesh_orchestrator.dbt_contracts import sync_products_yaml
    from mesh_orchestrator.spec import load_all_specs

    stale = []
    for spec in load_all_specs().values():
        if not spec.products:
            continue
        result = sync_products_yaml(spec, write=not args.check)
        if result.changed:
            stale.append(result.path)
            print(f"{'out of date' if args.check else 'rewrote'}: {result.path}")
    if args.check and stale:
        print("run `mesh contracts sync-dbt` and commit the result", file=sys.stderr)
        return 1
    if not stale:
        print("every dbt product contract matches its data contract")
    return 0


def _contracts_diff(args: argparse.Namespace) -> int:
    from mesh_orchestrator.contract_diff import diff_contracts, format_diff

    diffs = diff_contracts(args.base)
    print(format_diff(diffs, args.base))
    return 1 if any(d.unannounced for d in diffs) else 0


def _check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mesh_orchestrator.check import format_report, run_check

    folder = Path(args.data_dir).expanduser().resolve() if args.data_dir else None
    reports = run_check(
        base=args.base,
        run_mesh=not args.skip_run,
        diff=not args.skip_diff,
        data_dir=folder,
        progress=lambda msg: print(msg, flush=True),
    )
    print(format_report(reports))
    return 0 if all(r.ok for r in reports) else 1


def _policies(args: argparse.Namespace) -> int:
    from mesh_orchestrator.policies import load_policies

    for policy in load_policies().values():
        print(f"{policy.id} {policy.name} [{policy.severity}]\n    {policy.description}")
    return 0


def _ui(args: argparse.Namespace) -> int:
    home = ensure_dagster_home()
    from mesh_orchestrator.paths import REPO_ROOT

    command = [
        "dagster",
        "dev",
        "-w",
        str(REPO_ROOT / "workspace.yaml"),
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    print(f"DAGSTER_HOME={home} {' '.join(command)}", flush=True)
    os.chdir(REPO_ROOT)
    os.execvp(command[0], command)
    return 0  # pragma: no cover


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mesh", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def data_options(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--scale", type=int, default=1, help="1 = the small sample (default)")
        cmd.add_argument("--seed", type=int, default=42, help="same seed, same files (default 42)")
        cmd.add_argument(
            "--faults",
            type=float,
            default=0.0,
            help="share of rows made faulty: duplicates, malformed lines, bad types, missing keys, "
            "unknown references (SKUs, employees, invoices), one broken file per supplier (default 0)",
        )

    gen = sub.add_parser("generate", help="write landing files for every domain")
    data_options(gen)
    gen.add_argument("--domains", nargs="*", help="only these domains")
    gen.set_defaults(func=_generate)

    run = sub.add_parser("run", help="run every code location's assets in dependency order")
    run.add_argument("--domains", nargs="*", help="only these domains (and their hand-offs)")
    run.set_defaults(func=_run)

    backfill = sub.add_parser(
        "backfill",
        help="re-run a range of a domain's partitions (days of a feed, months of the close) in one "
        "run, then its hand-offs",
    )
    backfill.add_argument("domain")
    backfill.add_argument("first", nargs="?", help="first partition key, e.g. 2026-01-01 (default: all)")
    backfill.add_argument("last", nargs="?", help="last partition key (default: first)")
    backfill.set_defaults(func=_backfill)

    demo = sub.add_parser("demo", help="generate sample data, then run the whole mesh")
    data_options(demo)
    demo.set_defaults(func=_demo, domains=None)

    bench = sub.add_parser(
        "benchmark",
        help="generate data at a scale, run the whole mesh, print time, memory and rows against "
        "the design targets",
    )
    bench.add_argument("--scale", type=int, default=1, help="1 = the small sample (default)")
    bench.add_argument("--seed", type=int, default=42, help="(default 42)")
    bench.add_argument(
        "--data-dir",
        help="benchmark folder, wiped first (default: <data>/benchmark/scale-<N>); an existing "
        "folder must be empty or hold the marker of a previous benchmark",
    )
    bench.add_argument(
        "--skip-floor", action="store_true", help="do not replay the SQL on DuckDB alone (no ratio)"
    )
    bench.set_defaults(func=_benchmark)

    port = sub.add_parser("port", help="print the path of a product's current published version")
    port.add_argument("domain")
    port.add_argument("product")
    port.add_argument("-v", "--verbose", action="store_true", help="also print version details")
    port.set_defaults(func=_port)

    contracts = sub.add_parser("contracts", help="work with the data contracts")
    contracts_sub = contracts.add_subparsers(dest="contracts_command", required=True)
    sync_dbt = contracts_sub.add_parser(
        "sync-dbt", help="regenerate each dbt project's models/gold/_products.yml from the contracts"
    )
    sync_dbt.add_argument("--check", action="store_true", help="only report files that are out of date")
    sync_dbt.set_defaults(func=_contracts_sync_dbt)
    diff = contracts_sub.add_parser(
        "diff", help="classify every contract change since a git revision; fail on unannounced breaking ones"
    )
    diff.add_argument(
        "--base", default="origin/main", help="git revision to compare with (default origin/main)"
    )
    diff.set_defaults(func=_contracts_diff)

    check = sub.add_parser(
        "check",
        help="what CI runs on a pull request: policies, load every code location, contract diff, "
        "the whole mesh on sample data; one report, exit 1 on any failure",
    )
    check.add_argument(
        "--base", help="git revision for the contract diff (default origin/main when it exists)"
    )
    check.add_argument("--skip-run", action="store_true", help="do not run the mesh on sample data")
    check.add_argument("--skip-diff", action="store_true", help="do not diff contracts against a base")
    check.add_argument("--data-dir", help="folder for the sample run (default: a scratch folder, deleted)")
    check.set_defaults(func=_check)

    policies = sub.add_parser("policies", help="list the mesh's governance policies")
    policies.set_defaults(func=_policies)

    ui = sub.add_parser("ui", help="open the Dagster UI with all code locations")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=_ui)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    ensure_environment()
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MeshError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
