"""The ``mesh`` command: generate sample data, run the whole mesh, find a product's port, open the UI."""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NoReturn

from mesh_orchestrator.core.environment import ensure_environment, tool
from mesh_orchestrator.core.errors import MeshError, UsageError
from mesh_orchestrator.core.paths import REPO_ROOT, data_dir
from mesh_orchestrator.orchestration.instance import ensure_dagster_home


class MeshArgumentParser(argparse.ArgumentParser):
    """argparse, ending a bad command line in one line on stderr (exit 2) instead of the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def _timestamp(text: str) -> datetime:
    """An argparse type: an ISO 8601 date or time; UTC unless it carries an offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (for example 2026-12-06T18:30:00Z or 2026-12-06)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(text: str) -> date:
    """An argparse type: an ISO 8601 day."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD, e.g. 2026-03-31)") from None


def _whole_number(low: int, high: int, rule: str, what: str = "a whole number") -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, else one line saying the ``rule``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {rule}, got {value}")
        return value

    return parse


_positive_int = _whole_number(1, sys.maxsize, "at least 1")
_seed = _whole_number(0, sys.maxsize, "0 or more")
_tcp_port = _whole_number(1, 65535, "a port from 1 to 65535", "a port number")


def _fault_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise argparse.ArgumentTypeError(f"must be a rate from 0 up to (not including) 1, got {text}")
    return value


def _domain(text: str) -> str:
    from mesh_orchestrator.core.spec import discover_domains

    known = discover_domains()
    if text not in known:
        raise argparse.ArgumentTypeError(f"unknown domain {text!r}; the domains are {', '.join(known)}")
    return text


def _folder(text: str) -> str:
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a folder")
    return text


def _new_file(text: str) -> str:
    """A file to write: it may exist, as a file."""
    if Path(text).expanduser().is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; name a file")
    return text


def _file(text: str) -> str:
    if not Path(text).expanduser().is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a file")
    return text


def _git_revision(base: str | None) -> None:
    """Refuse a ``--base`` that git cannot resolve to a commit, before any work starts."""
    if base is None:
        return
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,
    )
    if found.returncode != 0:
        raise UsageError(f"argument --base: {base!r} is not a git revision of {REPO_ROOT}")


def _developer_tool(command: str) -> None:
    """Stop with what to do when a developer tool is asked for where it is not installed."""
    import importlib.util

    if importlib.util.find_spec("mesh_orchestrator.devtools") is None:
        raise UsageError(
            f"`mesh {command}` is a developer tool, left out of this installation (the production image "
            "has no sample-data generator or benchmark); run it from a clone of the repository"
        )


def _generate(args: argparse.Namespace) -> int:
    _developer_tool("generate")
    from mesh_orchestrator.devtools.generate import generate

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


def _new_domain(args: argparse.Namespace) -> int:
    _developer_tool("new-domain")
    from mesh_orchestrator.devtools.new_domain import new_domain

    try:
        new_domain(args.name, owner=args.owner, data_dir=data_dir(), progress=_say)
    except ValueError as exc:
        raise UsageError(f"argument name: {exc}") from None
    print(
        f"domain {args.name} is ready: `mesh check --skip-run` checks it, `mesh run` ingests its sample "
        f"and publishes {args.name}.daily_totals; edit domains/{args.name}/defs.yaml to make it yours"
    )
    return 0


def _say(msg: str) -> None:
    print(msg, flush=True)


def _run(args: argparse.Namespace) -> int:
    if args.workspace is not None:
        return _run_submitted(args)
    from mesh_orchestrator.orchestration.run_guard import data_folder_lock, recover_dead_runs

    with data_folder_lock(_say):  # one command per data folder; its runs' processes are ours
        ensure_dagster_home()
        import dagster as dg

        from mesh_orchestrator.cli.run import format_summary, run_mesh

        with dg.DagsterInstance.get() as instance:
            recover_dead_runs(instance, _say)
            summary = run_mesh(instance, log=_say, domains=args.domains or None, through=args.through)
    print(format_summary(summary))
    print(f"\nDagster instance: {os.environ['DAGSTER_HOME']} (open it with `mesh ui`)")
    return 0 if summary.success else 1


def _run_submitted(args: argparse.Namespace) -> int:
    """``mesh run --workspace``: the instance of ``$DAGSTER_HOME`` (a production one, with its run
    coordinator and launcher) runs each job in its code location; this process only waits."""
    if not os.environ.get("DAGSTER_HOME"):
        raise UsageError("--workspace submits runs to the instance of $DAGSTER_HOME: set DAGSTER_HOME")
    import dagster as dg

    from mesh_orchestrator.cli.run import format_summary, run_mesh
    from mesh_orchestrator.orchestration.launch import open_workspace

    with dg.DagsterInstance.get() as instance, open_workspace(instance, Path(args.workspace)) as workspace:
        summary = run_mesh(
            instance, log=_say, domains=args.domains or None, workspace=workspace, through=args.through
        )
    print(format_summary(summary))
    home = os.environ["DAGSTER_HOME"]
    print(f"\nDagster instance: {home} (the runs are in its UI, under their code locations)")
    return 0 if summary.success else 1


def _backfill(args: argparse.Namespace) -> int:
    from mesh_orchestrator.orchestration.run_guard import data_folder_lock, recover_dead_runs

    with data_folder_lock(_say):
        ensure_dagster_home()
        import dagster as dg

        from mesh_orchestrator.cli.run import format_summary, run_partitions

        with dg.DagsterInstance.get() as instance:
            recover_dead_runs(instance, _say)
            summary = run_partitions(instance, args.domain, args.first, args.last, log=_say)
    print(format_summary(summary))
    return 0 if summary.success else 1


def _demo(args: argparse.Namespace) -> int:
    from mesh_orchestrator.orchestration.run_guard import data_folder_lock

    _developer_tool("demo")
    with data_folder_lock(_say):  # re-entrant: `_run` takes it again
        print(f"Generating sample data (scale {args.scale}, seed {args.seed}) under {data_dir()} ...")
        _generate(args)
        print("\nRunning the whole mesh ...")
        return _run(args)


def _benchmark(args: argparse.Namespace) -> int:
    from pathlib import Path

    _developer_tool("benchmark")
    from mesh_orchestrator.devtools.benchmark import default_folder, run_benchmark

    folder = Path(args.data_dir).expanduser().resolve() if args.data_dir else None
    compare = default_folder(args.compare_scale) if args.compare_scale else args.compare
    result = run_benchmark(args.scale, args.seed, folder, skip_floor=args.skip_floor, compare=compare)
    return 0 if result.mesh.success else 1


def _validate_backfill(args: argparse.Namespace) -> None:
    """The domain has partitions and ``first``/``last`` are partitions of it, in order."""
    from mesh_orchestrator.core.partitions import partitions_def
    from mesh_orchestrator.core.spec import load_domain_spec

    spec = load_domain_spec(args.domain)
    if spec.partitioning is None:
        raise UsageError(
            f"{args.domain} has no partitioned assets; `mesh run --domains {args.domain}` runs it whole"
        )
    keys = partitions_def(spec.partitioning).get_partition_keys()
    if not keys:
        raise UsageError(
            f"{args.domain} has no partitions yet: the first ends after {spec.partitioning.start}"
        )
    for key in (args.first, args.last):
        if key is not None and key not in keys:
            raise UsageError(
                f"{key!r} is not a partition of {args.domain}; "
                f"its partitions run from {keys[0]} to {keys[-1]}"
            )
    if args.first and args.last and keys.index(args.first) > keys.index(args.last):
        raise UsageError(f"the range {args.first}..{args.last} is reversed")


def _validate_port(args: argparse.Namespace) -> None:
    from mesh_orchestrator.core.spec import load_domain_spec

    products = load_domain_spec(args.domain).products
    if args.product not in products:
        has = f"its products are {', '.join(products)}" if products else "it publishes none"
        raise UsageError(f"{args.domain} has no product {args.product!r}; {has}")


def _port(args: argparse.Namespace) -> int:
    import json

    from mesh_orchestrator.ports.catalog import CATALOG_NAME, public_properties
    from mesh_orchestrator.ports.tables import load_port, select_version, snapshot_files, version_paths

    chosen = select_version(args.domain, args.product, version=args.version, as_of=args.as_of)
    if args.sql:
        from mesh_orchestrator.ports.tables import parquet_relation

        print(parquet_relation(version_paths(chosen)))
        return 0
    files = snapshot_files(load_port(args.domain, args.product), chosen.snapshot_id)
    if args.json:
        described = {
            "table": chosen.table,
            "catalog": {"name": CATALOG_NAME, **public_properties()},
            "snapshot_id": chosen.snapshot_id,
            "version": chosen.version,
            "contract_version": chosen.contract_version,
            "rows": chosen.rows,
            "files": files,
            "published_at": chosen.published_at,
            "run_id": chosen.run_id,
            "inputs": dict(chosen.inputs),
        }
        print(json.dumps(described, indent=2))
        return 0
    properties = public_properties()
    built_from = ", ".join(
        f"{name} v{pin.get('version')} (snapshot {pin.get('snapshot_id')})"
        for name, pin in chosen.inputs.items()
    )
    lines = [
        f"table      {chosen.table} in Iceberg catalog {CATALOG_NAME!r} "
        f"({properties.get('type', '?')}: {properties.get('uri', '')}, "
        f"warehouse {properties.get('warehouse', '?')})",
        f"version    {chosen.version} = snapshot {chosen.snapshot_id}, published {chosen.published_at}",
        f"           contract {chosen.contract_version}, {chosen.rows:,} rows in {len(files)} data file(s), "
        f"written by run {chosen.run_id}",
    ]
    if built_from:
        lines.append(f"built from {built_from}")
    at = f"snapshot_id={chosen.snapshot_id}"
    lines += [
        "read it",
        f"  DuckDB     SELECT * FROM <the output of "
        f"`mesh port {args.domain} {args.product}{_selector(args)} --sql`>"
        "  (read_parquet of this version's files)",
        f"  pyiceberg  load_catalog('{CATALOG_NAME}').load_table('{chosen.table}').scan({at}).to_pandas()  "
        "# or .to_arrow(), .to_polars()",
        f"  Spark/Trino  attach the same catalog (the properties of `mesh port --json`) and read "
        f"{chosen.table} (VERSION AS OF {chosen.snapshot_id} for this version)",
    ]
    print("\n".join(lines))
    return 0


def _selector(args: argparse.Namespace) -> str:
    if args.version is not None:
        return f" --version {args.version}"
    return f" --as-of {args.as_of.isoformat()}" if args.as_of is not None else ""


def _catalog(args: argparse.Namespace) -> int:
    from mesh_orchestrator.cli.catalog import build_catalogue, serve
    from mesh_orchestrator.core import settings

    output = Path(args.output).expanduser() if args.output else data_dir() / "catalog"
    ui_url = args.ui_url.rstrip("/") if args.ui_url else settings.UI_URL.value()
    catalogue, index = build_catalogue(output, ui_url, progress=lambda msg: print(f"  {msg}", flush=True))
    counts: dict[str, int] = {}
    for product in catalogue.products:
        counts[product.status] = counts.get(product.status, 0) + 1
    shown = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"catalogue of {len(catalogue.products)} products ({shown or 'none'}) written to {index}")
    for name, problem in catalogue.problems.items():
        print(f"left out {name}: {problem}", file=sys.stderr)
    if args.serve:
        serve(index.parent, args.port, lambda url: print(f"serving {url} (Ctrl-C stops)", flush=True))
    return 0


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL")
    return text


def _contracts_sync_dbt(args: argparse.Namespace) -> int:
    from mesh_orchestrator.core.spec import load_all_specs
    from mesh_orchestrator.transformation.dbt_contracts import sync_products_yaml

    stale = []
    for spec in load_all_specs().values():
        if not spec.products:
            continue
        result = sync_products_yaml(spec, write=not args.check)
        if result.changed:
            stale.append(result.path)
    return _synced(
        stale, args.check, "mesh contracts sync-dbt", "every dbt product contract matches its data contract"
    )


def _synced(stale: list[Path], check: bool, command: str, in_step: str) -> int:
    """Report a generator's files: rewritten, or (``check``) out of date, which fails."""
    for path in stale:
        print(f"{'out of date' if check else 'rewrote'}: {path}")
    if check and stale:
        print(f"run `{command}` and commit the result", file=sys.stderr)
        return 1
    if not stale:
        print(in_step)
    return 0


def _products_sync(args: argparse.Namespace) -> int:
    from mesh_orchestrator.core.spec import load_all_specs
    from mesh_orchestrator.governance.descriptors import sync_descriptors

    stale = [
        result.path
        for spec in load_all_specs().values()
        for result in sync_descriptors(spec, write=not args.check)
        if result.changed
    ]
    return _synced(
        stale,
        args.check,
        "mesh products sync",
        "every product descriptor matches its domain spec and contracts",
    )


def _contracts_diff(args: argparse.Namespace) -> int:
    from mesh_orchestrator.governance.diff import diff_contracts, format_diff

    diffs = diff_contracts(args.base)
    print(format_diff(diffs, args.base))
    return 1 if any(d.unannounced for d in diffs) else 0


def _check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mesh_orchestrator.cli.check import format_markdown, format_report, run_check

    folder = Path(args.data_dir).expanduser().resolve() if args.data_dir else None
    reports = run_check(
        base=args.base,
        run_mesh=not args.skip_run,
        diff=not args.skip_diff,
        data_dir=folder,
        progress=lambda msg: print(msg, flush=True),
    )
    print(format_report(reports))
    if args.report:
        report = Path(args.report)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(format_markdown(reports), encoding="utf-8")
        print(f"report written to {report}")
    return 0 if all(r.ok for r in reports) else 1


def _policies(args: argparse.Namespace) -> int:
    from mesh_orchestrator.governance.policies import load_policies

    for policy in load_policies().values():
        print(f"{policy.id} {policy.name} [{policy.severity}]\n    {policy.description}")
    return 0


def _ui(args: argparse.Namespace) -> int:
    dagster = tool("dagster")  # beside the interpreter: `.venv/bin/mesh ui` needs no PATH
    home = ensure_dagster_home()
    command = [
        dagster,
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
    os.execv(command[0], command)
    return 0  # pragma: no cover


def parser() -> argparse.ArgumentParser:
    p = MeshArgumentParser(prog="mesh", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def data_options(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--scale", type=_positive_int, default=1, help="1 = the small sample (default)")
        cmd.add_argument("--seed", type=_seed, default=42, help="same seed, same files (default 42)")
        cmd.add_argument(
            "--faults",
            type=_fault_rate,
            default=0.0,
            help="share of rows made faulty: duplicates, malformed lines, bad types, missing keys, "
            "unknown references (SKUs, employees, invoices), one broken file per supplier (default 0)",
        )

    gen = sub.add_parser("generate", help="write landing files for every domain")
    data_options(gen)
    gen.add_argument("--domains", nargs="*", type=_domain, help="only these domains")
    gen.set_defaults(func=_generate)

    run = sub.add_parser("run", help="run every code location's assets in dependency order")
    run.add_argument("--domains", nargs="*", type=_domain, help="only these domains (and their hand-offs)")
    run.add_argument(
        "--workspace",
        type=_file,
        help="submit the runs to the instance of $DAGSTER_HOME through this workspace file's code "
        "locations, as the UI launches them (a production deployment), instead of running them here",
    )
    run.add_argument(
        "--through",
        type=_day,
        help="run partitions up to this day (default: the last day a landing file has data for)",
    )
    run.set_defaults(func=_run)

    backfill = sub.add_parser(
        "backfill",
        help="re-run a range of a domain's partitions (days of a feed, months of the close) in one "
        "run, then its hand-offs",
    )
    backfill.add_argument("domain", type=_domain)
    backfill.add_argument("first", nargs="?", help="first partition key, e.g. 2026-01-01 (default: all)")
    backfill.add_argument("last", nargs="?", help="last partition key (default: first)")
    backfill.set_defaults(func=_backfill, validate=_validate_backfill)

    new = sub.add_parser(
        "new-domain",
        help="scaffold a domain that loads and publishes: its component, dbt project, contract, "
        "descriptor, workspace and docker entries and a sample landing file",
    )
    new.add_argument("name", help="the domain's snake_case name")
    new.add_argument("--owner", help="the owning team, team:<name> (default team:<domain name>)")
    new.set_defaults(func=_new_domain)

    demo = sub.add_parser("demo", help="generate sample data, then run the whole mesh")
    data_options(demo)
    demo.set_defaults(func=_demo, domains=None, workspace=None, through=None)

    bench = sub.add_parser(
        "benchmark",
        help="generate data at a scale, run the whole mesh, print time, memory and rows against "
        "the design targets",
    )
    bench.add_argument("--scale", type=_positive_int, default=1, help="1 = the small sample (default)")
    bench.add_argument("--seed", type=_seed, default=42, help="(default 42)")
    bench.add_argument(
        "--data-dir",
        type=_folder,
        help="benchmark folder, wiped first (default: <data>/benchmark/scale-<N>); an existing "
        "folder must be empty or hold the marker of a previous benchmark",
    )
    bench.add_argument(
        "--skip-floor", action="store_true", help="do not replay the SQL on DuckDB alone (no ratio)"
    )
    growth = bench.add_mutually_exclusive_group()
    growth.add_argument(
        "--compare-scale",
        type=_positive_int,
        metavar="N",
        help="show each figure's growth from the last benchmark of scale N (in its default folder)",
    )
    growth.add_argument(
        "--compare",
        type=Path,
        metavar="FILE",
        help="show each figure's growth from an earlier benchmark.json (or the folder holding it)",
    )
    bench.set_defaults(func=_benchmark)

    port = sub.add_parser(
        "port",
        help="a product's Iceberg table: its current (or an older) version, snapshot and how to read it",
    )
    port.add_argument("domain", type=_domain)
    port.add_argument("product")
    when = port.add_mutually_exclusive_group()
    when.add_argument(
        "--version",
        type=_whole_number(1, 10**9, "1 or more", "a version number"),
        metavar="N",
        help="version N instead of the current one",
    )
    when.add_argument(
        "--as-of",
        type=_timestamp,
        metavar="TIMESTAMP",
        help="the version that was current at an ISO 8601 time (UTC unless it has an offset)",
    )
    shape = port.add_mutually_exclusive_group()
    shape.add_argument(
        "--json",
        action="store_true",
        help="print table, catalog (secrets left out), snapshot_id, version, contract_version, rows, files",
    )
    shape.add_argument(
        "--sql", action="store_true", help="print a DuckDB table expression over the version's data files"
    )
    port.set_defaults(func=_port, validate=_validate_port)

    cat = sub.add_parser(
        "catalog",
        help="build the product catalogue: a static site with what, where, when, with what and how "
        "of every product (versions, snapshots, gate results, runs, lineage)",
    )
    cat.add_argument(
        "--output", type=_folder, metavar="DIR", help="the site's folder (default <data>/catalog)"
    )
    cat.add_argument("--serve", action="store_true", help="then serve it on 127.0.0.1 until Ctrl-C")
    cat.add_argument(
        "--port", type=_whole_number(0, 65535, "a port from 0 (any free one) to 65535"), default=8000
    )
    cat.add_argument(
        "--ui-url", type=_url, help="the Dagster UI the run links point at (default $MESH_UI_URL)"
    )
    cat.set_defaults(func=_catalog)

    products = sub.add_parser("products", help="work with the data product descriptors (ODPS)")
    products_sub = products.add_subparsers(dest="products_command", required=True)
    products_sync = products_sub.add_parser(
        "sync",
        help="regenerate quality/products/<domain>/<product>.odps.yaml from the domain specs and contracts",
    )
    products_sync.add_argument("--check", action="store_true", help="only report files that are out of date")
    products_sync.set_defaults(func=_products_sync)

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
    diff.set_defaults(func=_contracts_diff, validate=lambda args: _git_revision(args.base))

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
    check.add_argument(
        "--data-dir", type=_folder, help="folder for the sample run (default: a scratch folder, deleted)"
    )
    check.add_argument(
        "--report",
        metavar="FILE",
        type=_new_file,
        help="also write the report as Markdown to FILE (CI appends it to the pull request's job summary)",
    )
    check.set_defaults(func=_check, validate=lambda args: _git_revision(args.base))

    policies = sub.add_parser("policies", help="list the mesh's governance policies")
    policies.set_defaults(func=_policies)

    ui = sub.add_parser("ui", help="open the Dagster UI with all code locations")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=_tcp_port, default=3000)
    ui.set_defaults(func=_ui)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Bad arguments end in one ``error: ...`` line and exit 2 before anything runs: argparse
    checks forms and ranges, a command's ``validate`` what exists (domains' products, partitions,
    git revisions)."""
    ensure_environment()
    args = parser().parse_args(argv)
    validate: Callable[[argparse.Namespace], None] | None = getattr(args, "validate", None)
    try:
        if validate is not None:
            validate(args)
        return int(args.func(args))
    except MeshError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
