"""The ``mesh`` command as the README writes it: ``.venv/bin/mesh ...`` works without ``.venv/bin``
on PATH, and bad arguments end in one ``error: ...`` line and exit 2, before anything runs."""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mesh_orchestrator.cli.main import main, parser
from mesh_orchestrator.core import environment
from mesh_orchestrator.core.environment import tool
from mesh_orchestrator.core.errors import ToolNotFoundError
from mesh_orchestrator.core.paths import REPO_ROOT

MESH = Path(sys.executable).with_name("mesh")
#: A PATH without the project's environment, as in a shell that never activated it.
BARE_PATH = "/usr/bin:/bin"
A_FILE = str(REPO_ROOT / "README.md")

#: Bad arguments per command (beyond an unknown option, which every command gets), each with a
#: fragment its message must contain. A new command must add its own here.
BAD: dict[tuple[str, ...], list[tuple[list[str], str]]] = {
    (): [([], "required: command"), (["nonexist"], "invalid choice")],
    ("generate",): [
        (["--scale", "0"], "--scale: must be at least 1"),
        (["--scale", "1.5"], "--scale"),
        (["--seed", "-1"], "--seed: must be 0 or more"),
        (["--seed", "x"], "--seed"),
        (["--faults", "1"], "--faults"),
        (["--faults", "nan"], "--faults"),
        (["--domains", "nonexist"], "the domains are finance, hr, inventory, procurement, sales"),
    ],
    ("run",): [
        (["--domains", "nonexist"], "unknown domain 'nonexist'; the domains are finance, hr"),
        (["--domains", "inventory", "nonexist"], "unknown domain 'nonexist'"),
        (["--through", "March"], "--through: 'March' is not a day (YYYY-MM-DD"),
        (["--workspace", "no-such-workspace.yaml"], "--workspace: no-such-workspace.yaml is not a file"),
    ],
    ("backfill",): [
        ([], "required: domain"),
        (["nonexist"], "unknown domain 'nonexist'"),
        (["inventory"], "inventory has no partitioned assets"),
        (["sales", "2020-01-01"], "'2020-01-01' is not a partition of sales; its partitions run from"),
        (["sales", "2026-13-01"], "not a partition of sales"),
        (["sales", "2026-02-01", "2026-01-01"], "the range 2026-02-01..2026-01-01 is reversed"),
        (["finance", "2026-02-03"], "not a partition of finance"),
    ],
    ("new-domain",): [
        ([], "required: name"),
        (["Field-Ops"], "a domain name is snake_case"),
        (["hr"], "domain 'hr' exists already"),
        (["mesh"], "'mesh' is reserved"),
    ],
    ("demo",): [(["--scale", "0"], "--scale"), (["--faults", "2"], "--faults"), (["--seed", "-2"], "--seed")],
    ("benchmark",): [
        (["--scale", "0"], "--scale: must be at least 1"),
        (["--seed", "-1"], "--seed"),
        (["--data-dir", A_FILE], "is not a folder"),
    ],
    ("port",): [
        (["sales"], "required: product"),
        (["sales", "nonexist"], "sales has no product 'nonexist'; its products are invoices,"),
        (["nonexist", "invoices"], "unknown domain 'nonexist'; the domains are finance"),
    ],
    ("catalog",): [
        (["--ui-url", "dagster.local:3000"], "'dagster.local:3000' is not an http(s) URL"),
        (["--port", "70000"], "must be a port from 0 (any free one) to 65535"),
        (["--output", A_FILE], "is not a folder"),
    ],
    ("products",): [([], "required: products_command")],
    ("products", "sync"): [(["extra"], "unrecognized arguments: extra")],
    ("contracts",): [([], "required: contracts_command")],
    ("contracts", "sync-dbt"): [(["extra"], "unrecognized arguments: extra")],
    ("contracts", "diff"): [(["--base", "no-such-rev"], "'no-such-rev' is not a git revision")],
    ("check",): [
        (["--base", "no-such-rev"], "'no-such-rev' is not a git revision"),
        (["--data-dir", A_FILE], "is not a folder"),
        (["--report", str(REPO_ROOT)], "--report: " + str(REPO_ROOT) + " is a folder; name a file"),
    ],
    ("policies",): [(["extra"], "unrecognized arguments: extra")],
    ("ui",): [(["--port", "0"], "--port: must be a port from 1 to 65535"), (["--port", "http"], "--port")],
}


def _commands(p: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command of the parser, groups (``contracts``) and their subcommands alike."""
    yield path
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(parser()))
CASES = [
    pytest.param([*command, *args], expected, id=" ".join([*command, *args]) or "<none>")
    for command in COMMANDS
    # argparse names the first thing wrong: a missing subcommand or argument, else the option
    for args, expected in [*BAD.get(command, []), (["--no-such-option"], "")]
]


def _env(data: Path) -> dict[str, str]:
    return {**os.environ, "PATH": BARE_PATH, "MESH_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "home")}


def _mesh(data: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MESH), *args],
        cwd=REPO_ROOT,
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_every_command_has_bad_arguments_listed() -> None:
    assert set(BAD) == set(COMMANDS), "list the bad arguments of a new command in BAD"


@pytest.mark.parametrize(("argv", "expected"), CASES)
def test_bad_arguments_end_in_one_line_and_exit_2(argv: list[str], expected: str, tmp_path: Path) -> None:
    """Regression: `mesh run --domains nonexist` ran nothing and printed "all gates passed" (exit 0),
    `mesh generate --scale 0` ended in a traceback, `mesh port sales nonexist` said to run the mesh."""
    data = tmp_path / "data"
    result = _mesh(data, *argv)
    said = result.stdout + result.stderr
    assert result.returncode == 2, said
    assert "Traceback" not in said
    assert result.stdout == "", "nothing ran, nothing was reported"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0]
    assert not data.exists(), "nothing was written"


def test_run_on_a_workspace_needs_an_instance_to_submit_to(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert main(["run", "--workspace", A_FILE]) == 2
    said = capsys.readouterr()
    assert (
        said.err.strip()
        == ("error: --workspace submits runs to the instance of $DAGSTER_HOME: set DAGSTER_HOME")
        and said.out == ""
    )


def test_tool_is_found_beside_the_interpreter_without_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert tool("dbt") == str(Path(sys.executable).parent / "dbt")
    assert tool("dagster") == str(Path(sys.executable).parent / "dagster")


def test_tool_falls_back_to_path_then_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "dbt").write_text("#!/bin/sh\n")
    (elsewhere / "dbt").chmod(0o755)
    monkeypatch.setattr(environment.sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(elsewhere))
    assert tool("dbt") == str(elsewhere / "dbt")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(ToolNotFoundError, match=r"'dbt' is neither in .*/bin nor on PATH: install dbt-core"):
        tool("dbt")


def test_mesh_run_works_without_the_venv_on_path(tmp_path: Path) -> None:
    """Regression: "The dbt executable 'dbt' was not found on PATH". The run also writes nothing
    into the repository's dbt projects: dbt's run and parse state live outside it."""
    projects = REPO_ROOT / "dbt_projects"
    started = time.time()
    before = {p for p in projects.rglob("*")}
    data = tmp_path / "data"
    generated = _mesh(data, "generate", "--domains", "inventory", "--seed", "3", timeout=300)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    run = _mesh(data, "run", "--domains", "inventory", timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "RESULT: all gates passed" in run.stdout
    assert (data / "dbt" / "inventory" / "run_results.json").is_file()
    after = {p for p in projects.rglob("*")}
    assert after == before, f"new under dbt_projects/: {sorted(map(str, after - before))[:5]}"
    touched = [p for p in after if p.stat().st_mtime >= started and not p.is_dir()]
    assert touched == [], f"written under dbt_projects/: {touched[:5]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.long  # dagster dev with every code location and the daemon: minutes on two cores
def test_mesh_ui_finds_dagster_without_the_venv_on_path(tmp_path: Path) -> None:
    """Regression: `mesh ui` ran `dagster` from PATH. The webserver must answer; then it is stopped."""
    port = _free_port()
    log = tmp_path / "ui.log"
    with log.open("w") as out:
        ui = subprocess.Popen(
            [str(MESH), "ui", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=_env(tmp_path / "data"),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        answered = False
        while not answered and time.monotonic() < deadline and ui.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as reply:
                    answered = reply.status == 200
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        assert answered, f"no answer from the UI (exit {ui.poll()}):\n{log.read_text()[-3000:]}"
    finally:
        if ui.poll() is None:
            os.killpg(ui.pid, signal.SIGTERM)
            try:
                ui.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(ui.pid, signal.SIGKILL)
                ui.wait()


@pytest.mark.parametrize("command", [["generate"], ["demo"], ["benchmark"]])
def test_a_developer_tool_where_it_is_not_installed_says_so(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The production image leaves ``mesh_orchestrator.devtools`` out; its commands say why they stop."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name.endswith("devtools") else real(name, *a)
    )
    assert main(command) == 2
    err = capsys.readouterr().err
    assert f"`mesh {command[0]}` is a developer tool" in err
    assert "run it from a clone of the repository" in err
