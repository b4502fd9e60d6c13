"""docker/ is right by construction: no Docker engine here, so its files are checked as data.

The compose topology mirrors workspace.yaml (one gRPC code server per location, each with its own
volume and healthcheck), only PostgreSQL and the object store are shared, every secret comes from
the environment, the image installs its dependencies in their own layer, prepares dbt's parse state
and runs as a non-root user, and the production dagster.yaml passes Dagster's own validation.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

from mesh_orchestrator.core.environment import TELEMETRY_OFF
from mesh_orchestrator.core.paths import DATA_DIR_ENV, DBT_PARSE_DIR_ENV, REPO_ROOT
from mesh_orchestrator.core.spec import discover_domains
from mesh_orchestrator.quality.masking import KEY_ENV_PREFIX, key_env

DOCKER = REPO_ROOT / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
ENV_EXAMPLE = DOCKER / ".env.example"
DOCKERFILE = DOCKER / "Dockerfile"
IMAGE = "mesh-orchestrator"
#: The meta-orchestrator's location: no domain, no masking key; it sends the alerts.
ORCHESTRATOR = "mesh_orchestrator"
WEBHOOK_ENV = "MESH_ALERT_WEBHOOK_URL"
CATALOG_ENV = "PYICEBERG_CATALOG__MESH__"
COMPLETED = "service_completed_successfully"
SYNC_DEPENDENCIES = "uv sync --frozen --no-install-project --extra prod"
SYNC_PROJECT = "uv sync --frozen --extra prod"
#: A variable whose name says it holds a secret: its value comes from the environment, never a literal.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|WEBHOOK|(^|_)KEY($|_)", re.IGNORECASE)
#: Compose interpolation: ${NAME}, ${NAME:?message}, ${NAME?message}, ${NAME:-default}, ${NAME-default}.
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[?-])(?P<arg>[^}]*))?\}")


def locations() -> dict[str, str]:
    """The code locations of workspace.yaml: location name -> module."""
    entries = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())["load_from"]
    return {e["python_module"]["location_name"]: e["python_module"]["module_name"] for e in entries}


def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return parsed


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def grpc_servers() -> dict[str, dict[str, Any]]:
    """docker/workspace.yaml's servers by location name."""
    entries = yaml.safe_load((DOCKER / "workspace.yaml").read_text())["load_from"]
    return {e["grpc_server"]["location_name"]: e["grpc_server"] for e in entries}


def code_servers() -> dict[str, str]:
    """Compose service of each location, by docker/workspace.yaml's host names."""
    return {location: entry["host"] for location, entry in grpc_servers().items()}


def one_shot_jobs() -> set[str]:
    """Services that run once and exit (bucket and database creation): `restart: "no"`."""
    return {name for name, service in services().items() if service.get("restart") == "no"}


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {str(k): "" if v is None else str(v) for k, v in raw.items()}


def conditions(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in raw.items()}


def mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume a service mounts (short syntax or long syntax)."""
    found = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        found.append((source, target))
    return found


def strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (*strings(key), *strings(value))]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def interpolated() -> dict[str, set[str]]:
    """Every variable the compose file interpolates, with the operators it is read with."""
    found: dict[str, set[str]] = {}
    for text in strings(compose()):
        for match in INTERPOLATION.finditer(text.replace("$$", "")):
            found.setdefault(match["name"], set()).add(match["op"] or "")
    return found


def is_reference(value: str) -> bool:
    """The whole value is one `${VAR?...}`/`${VAR:?...}`: from the environment, no default."""
    match = INTERPOLATION.fullmatch(value)
    return match is not None and match["op"] in {"?", ":?"}


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined, comments left out)."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        keyword, _, args = (pending + line).strip().partition(" ")
        found.append((keyword.upper(), args.strip()))
        pending = ""
    return found


def copied_sources(args: str) -> list[str]:
    tokens = [t for t in args.split() if not t.startswith("--")]
    return tokens[:-1]


def production_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((DOCKER / "dagster.yaml").read_text())
    return config


# -- the topology ---------------------------------------------------------------------------------


def test_compose_parses_and_every_dollar_is_an_interpolation_or_escaped() -> None:
    parsed = compose()
    assert set(parsed) - {"services", "volumes", "networks", "secrets", "configs"} <= {
        key for key in parsed if key.startswith("x-")
    }
    for text in strings(parsed):
        rest = INTERPOLATION.sub("", text.replace("$$", ""))
        assert "$" not in rest, f"a bare `$` in {text!r}: write `$$` for the shell, `${{VAR}}` for compose"


def test_one_code_server_per_location() -> None:
    all_services = services()
    servers = grpc_servers()
    assert set(servers) == set(locations())
    code_server = ["dagster", "code-server", "start"]
    running_code = {name for name, s in all_services.items() if s.get("command", [])[:3] == code_server}
    assert running_code == set(code_servers().values()), "every code server is in docker/workspace.yaml"
    for location, module in locations().items():
        entry = servers[location]
        command = all_services[entry["host"]]["command"]
        assert command[command.index("-m") + 1] == module
        assert command[command.index("--location-name") + 1] == location
        assert command[command.index("-h") + 1] == "0.0.0.0"
        assert command[command.index("-p") + 1] == str(entry["port"])
    for name in ("postgres", "minio", "webserver", "daemon"):
        assert name in all_services


def test_every_service_has_a_healthcheck_except_one_shot_jobs() -> None:
    all_services = services()
    jobs = one_shot_jobs()
    assert jobs, "the bucket and the catalog database are created by one-shot jobs"
    for name, service in all_services.items():
        if name in jobs:
            assert "healthcheck" not in service and "ports" not in service, name
            awaited = [s for s in all_services.values() if conditions(s).get(name) == COMPLETED]
            assert awaited, f"nothing waits for the one-shot job {name}"
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, f"{name} has no healthcheck"
    for location, host in code_servers().items():
        port = str(grpc_servers()[location]["port"])
        health = ["CMD", "dagster", "api", "grpc-health-check", "-p", port]
        assert all_services[host]["healthcheck"]["test"] == health, host
    assert "pg_isready" in " ".join(all_services["postgres"]["healthcheck"]["test"])
    assert "/minio/health/live" in " ".join(all_services["minio"]["healthcheck"]["test"])
    assert all_services["minio"]["image"].startswith("minio/minio")
    assert all_services["minio"]["command"] == ["server", "/data"]


def test_services_start_in_order() -> None:
    """Code servers wait for healthy storage and the finished one-shot jobs; the webserver and the
    daemon wait for every code server to be healthy (loaded)."""
    all_services = services()
    jobs = one_shot_jobs()
    for name, service in all_services.items():
        for dependency, condition in conditions(service).items():
            assert dependency in all_services, f"{name} depends on unknown {dependency}"
            expected = COMPLETED if dependency in jobs else "service_healthy"
            assert condition == expected, f"{name} -> {dependency}: {condition}"
    for host in code_servers().values():
        assert {"postgres", "minio", *jobs} <= set(conditions(all_services[host])), host
    for name in ("webserver", "daemon"):
        assert {"postgres", *code_servers().values()} <= set(conditions(all_services[name])), name
    assert "minio" in conditions(all_services["minio-init"])
    assert "postgres" in conditions(all_services["postgres-init"])
    # Dagster's tables exist before any code server starts: six servers creating them on an empty
    # database raced, and a loser failed to load its location (CI, topology test).
    assert all_services["dagster-init"]["command"] == ["dagster", "instance", "migrate"]
    assert "postgres" in conditions(all_services["dagster-init"])
    for host in code_servers().values():
        assert "dagster-init" in conditions(all_services[host]), host


def test_no_volume_is_shared_between_services() -> None:
    """Each code location owns its data folder; the webserver and the daemon mount no data volume."""
    all_services = services()
    declared = set(compose().get("volumes") or {})
    used = Counter(source for service in all_services.values() for source, _ in mounts(service))
    assert set(used) == declared, "every named volume is declared and used, and no path is bind-mounted"
    assert [v for v, count in used.items() if count > 1] == [], "a volume mounted by two services"
    for host in code_servers().values():
        service = all_services[host]
        data_dir = environment(service)[DATA_DIR_ENV]
        assert [target for _, target in mounts(service)] == [data_dir], host
    for name in ("webserver", "daemon"):
        assert mounts(all_services[name]) == [], name


def test_shared_state_is_postgres_and_the_object_store() -> None:
    all_services = services()
    config = production_config()
    bucket = config["compute_logs"]["config"]["bucket"]
    endpoint = config["compute_logs"]["config"]["endpoint_url"]
    assert urlsplit(endpoint).hostname == "minio"
    assert f"store/{bucket}" in " ".join(strings(all_services["minio-init"]["command"]))
    assert config["storage"]["postgres"]["postgres_db"]["hostname"] == "postgres"
    for host in code_servers().values():
        env = environment(all_services[host])
        catalog = {k.removeprefix(CATALOG_ENV): v for k, v in env.items() if k.startswith(CATALOG_ENV)}
        assert catalog["TYPE"] == "sql"
        uri = urlsplit(INTERPOLATION.sub("REFERENCE", catalog["URI"]))
        assert (uri.scheme, uri.hostname) == ("postgresql+psycopg2", "postgres"), "catalog on PostgreSQL"
        warehouse = urlsplit(catalog["WAREHOUSE"])
        assert (warehouse.scheme, warehouse.netloc) == ("s3", bucket), "the warehouse is in the bucket"
        assert catalog["S3__ENDPOINT"] == endpoint
        assert {"S3__ACCESS_KEY_ID", "S3__SECRET_ACCESS_KEY", "S3__REGION"} <= set(catalog)
    for name in (*code_servers().values(), "webserver", "daemon"):
        env = environment(all_services[name])
        # The instance (docker/dagster.yaml) reads these: PostgreSQL storage, and boto3's
        # credentials for the run logs in the bucket.
        for variable in ("DAGSTER_POSTGRES_USER", "DAGSTER_POSTGRES_PASSWORD", "DAGSTER_POSTGRES_DB",
                         "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # fmt: skip
            assert env.get(variable), f"{name} lacks {variable}"


def test_no_secret_literal_in_the_compose_file() -> None:
    """A secret is a `${VAR:?message}` reference to the environment or docker/.env, never a value."""
    for name, service in services().items():
        for variable, value in environment(service).items():
            if SECRET_NAME.search(variable):
                assert is_reference(value), f"{name}: {variable} must be ${{{variable}:?...}}, not a literal"
            if "://" in value:  # a connection URI: its password, if any, is a reference too
                password = urlsplit(INTERPOLATION.sub("REFERENCE", value)).password
                assert password in {None, "REFERENCE"}, f"{name}: {variable} has a literal password"
                assert all(m["op"] in {"?", ":?"} for m in INTERPOLATION.finditer(value)), variable
    for variable, operators in interpolated().items():
        if SECRET_NAME.search(variable):
            assert operators <= {"?", ":?"}, f"{variable} is a secret: no default value, fail when missing"


def test_env_example_lists_every_variable_with_a_comment_and_no_value() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    listed = {}
    for number, line in enumerate(lines):
        if line and not line.startswith("#"):
            variable, _, value = line.partition("=")
            assert value == "", f"docker/.env.example gives {variable} a value: it lists secrets, never holds"
            assert number > 0 and lines[number - 1].startswith("#"), f"{variable} has no comment above it"
            listed[variable] = number
    assert set(listed) == set(interpolated()), "docker/.env.example lists exactly what the compose file reads"


def test_each_domain_sees_only_its_own_masking_key() -> None:
    all_services = services()
    hosts = code_servers()
    domains = discover_domains()
    assert set(locations()) == {*domains, ORCHESTRATOR}
    for location, host in hosts.items():
        env = environment(all_services[host])
        keys = {variable for variable in env if variable.startswith(KEY_ENV_PREFIX)}
        assert keys == ({key_env(location)} if location in domains else set()), host
        assert (WEBHOOK_ENV in env) == (location == ORCHESTRATOR), f"{host}: only the alert sensors' location"
    for name in ("webserver", "daemon", "postgres", "minio"):
        assert not any(v.startswith(KEY_ENV_PREFIX) for v in environment(all_services[name])), name


def test_the_ui_is_published_on_the_loopback_interface_only() -> None:
    all_services = services()
    assert all_services["webserver"]["ports"] == ["127.0.0.1:3000:3000"]
    command = all_services["webserver"]["command"]
    assert command[command.index("-p") + 1] == "3000"
    for name, service in all_services.items():
        for port in service.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_one_image_for_every_mesh_service() -> None:
    all_services = services()
    for name in (*code_servers().values(), "webserver", "daemon"):
        service = all_services[name]
        assert service["image"] == IMAGE, name
        assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}, name


# -- the image ------------------------------------------------------------------------------------


def test_dockerfile_copies_only_what_exists() -> None:
    for keyword, args in instructions():
        if keyword == "COPY" and "--from=" not in args:
            for path in copied_sources(args):
                assert (REPO_ROOT / path).exists(), f"Dockerfile copies missing {path}"


#: A program that runs with ``mesh_orchestrator.devtools`` missing, as in the image, and imports
#: every other module of the platform.
WITHOUT_DEVTOOLS = """
import importlib, pkgutil, sys
sys.modules["mesh_orchestrator.devtools"] = None  # importing it now fails, as where it is absent
import mesh_orchestrator
for module in pkgutil.walk_packages(mesh_orchestrator.__path__, "mesh_orchestrator."):
    if not module.name.startswith("mesh_orchestrator.devtools"):
        importlib.import_module(module.name)
print("imported")
"""


def test_the_developer_tools_stay_out_of_the_image() -> None:
    ignored = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    assert "mesh_orchestrator/devtools" in ignored
    assert ".venv" in ignored and "data" in ignored


def test_the_platform_imports_without_the_developer_tools() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_DEVTOOLS], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"


def test_dependencies_are_installed_before_the_source() -> None:
    """The locked dependencies are a layer of their own: only pyproject.toml and uv.lock before it."""
    steps = instructions()
    deps = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and SYNC_DEPENDENCIES in a)
    project = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and SYNC_PROJECT in a)
    before = [path for k, a in steps[:deps] if k == "COPY" for path in copied_sources(a)]
    assert sorted(before) == ["pyproject.toml", "uv.lock"]
    between = [path for k, a in steps[deps:project] if k == "COPY" for path in copied_sources(a)]
    assert {"mesh_orchestrator", "domains"} <= set(between), "the source is copied after the dependencies"


def test_the_image_runs_as_a_non_root_user() -> None:
    steps = instructions()
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users, "the Dockerfile sets no USER: every service would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert any(k == "RUN" and "useradd" in a and user in a for k, a in steps), f"no RUN creates {user}"


def test_dbt_parse_state_is_prepared_when_the_image_is_built() -> None:
    """Each domain's manifest is parsed at build time into a folder of the image (not the data
    volume), with the functions the code servers call at load."""
    steps = instructions()
    env = " ".join(args for keyword, args in steps if keyword == "ENV")
    parse_dir = re.search(rf"{DBT_PARSE_DIR_ENV}=(\S+)", env)
    data_dir = re.search(rf"{DATA_DIR_ENV}=(\S+)", env)
    assert parse_dir and data_dir
    assert parse_dir[1].startswith("/") and not parse_dir[1].startswith(data_dir[1] + "/")
    builds = [a for k, a in steps if k == "RUN" and "dbt_project(load_domain_spec(" in a]
    assert len(builds) == 1 and "discover_domains()" in builds[0]
    for module, names in re.findall(r"from ([\w.]+) import ([\w, ]+?);", builds[0]):
        for name in names.split(","):
            assert hasattr(importlib.import_module(module), name.strip()), f"{module}.{name.strip()}"
    position = next(i for i, (k, a) in enumerate(steps) if a is builds[0])
    copied = [path for k, a in steps[:position] if k == "COPY" for path in copied_sources(a)]
    assert {"dbt_projects", "domains", "mesh_orchestrator"} <= set(copied)


def test_telemetry_is_off_in_the_image() -> None:
    env = " ".join(args for keyword, args in instructions() if keyword == "ENV")
    for name, value in TELEMETRY_OFF.items():
        assert f"{name}={value}" in env, name


def test_image_installs_the_production_packages() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    prod = project["project"]["optional-dependencies"]["prod"]
    assert "--extra prod" in DOCKERFILE.read_text()
    pins = dict(d.split("==", 1) for d in prod if "==" in d)
    assert pins["dagster-aws"] == pins["dagster-postgres"], "the Dagster libraries move together"
    assert "dagster-k8s" in pins
    assert any(d.startswith("psycopg2-binary") for d in prod), "the driver docker/dagster.yaml names"
    lock = (REPO_ROOT / "uv.lock").read_text()
    for package in ("dagster-postgres", "psycopg2-binary", "dagster-aws", "dagster-k8s"):
        assert f'name = "{package}"' in lock, package


# -- the instance ---------------------------------------------------------------------------------


def test_production_instance_config_is_valid(tmp_path: Path) -> None:
    shutil.copy(DOCKER / "dagster.yaml", tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["telemetry"] == {"enabled": False}
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    # Dagster's default launcher (each run in its code location's server), with a health check.
    launcher = config["run_launcher"]
    assert launcher == {
        "module": "mesh_orchestrator.orchestration.run_launcher",
        "class": "CodeServerRunLauncher",
    }
    assert config["run_monitoring"]["enabled"]


def test_run_logs_go_to_the_object_store() -> None:
    """The webserver shows every run's output wherever the run executed: logs live in the bucket."""
    from dagster._config import process_config
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

    logs = production_config()["compute_logs"]
    assert (logs["module"], logs["class"]) == ("dagster_aws.s3.compute_log_manager", "S3ComputeLogManager")
    processed = process_config(S3ComputeLogManager.config_type(), logs["config"])
    assert processed.success, processed.errors
    assert {"bucket", "prefix", "endpoint_url"} <= set(logs["config"])
    assert not any(SECRET_NAME.search(key) for key in logs["config"]), "credentials come from the environment"


def test_the_production_database_driver_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The URL dagster-postgres builds from docker/dagster.yaml names a driver the image installs.

    SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3: not installed, and not usable by
    dagster-postgres 0.29 anyway (its event log's `NOTIFY run_events, $1` is a syntax error under
    psycopg 3). tests/deploy runs the same file against a real server."""
    import sqlalchemy
    from dagster._config import process_config
    from dagster_postgres import DagsterPostgresStorage
    from dagster_postgres.utils import pg_url_from_config

    for name in ("DAGSTER_POSTGRES_USER", "DAGSTER_POSTGRES_PASSWORD", "DAGSTER_POSTGRES_DB"):
        monkeypatch.setenv(name, "dagster")
    storage = production_config()["storage"]["postgres"]
    processed = process_config(DagsterPostgresStorage.config_type(), storage)
    assert processed.success and processed.value is not None, processed.errors
    url = sqlalchemy.engine.make_url(pg_url_from_config(processed.value))
    assert url.get_driver_name() == "psycopg2"
    url.get_dialect().import_dbapi()  # ModuleNotFoundError when the image lacks the driver


def _configured_classes(config: object) -> list[tuple[str, str]]:
    if isinstance(config, dict):
        found = [(config["module"], config["class"])] if {"module", "class"} <= set(config) else []
        return found + [pair for value in config.values() for pair in _configured_classes(value)]
    return []


def test_every_configured_class_imports() -> None:
    """Dagster validates the config's shape but imports a `module`/`class` only when the daemon
    starts: `dagster.core` no longer exists in Dagster 1.13 (it is `dagster._core`)."""
    from mesh_orchestrator.orchestration.instance import DAGSTER_YAML

    for text in ((DOCKER / "dagster.yaml").read_text(), DAGSTER_YAML):
        for module, name in _configured_classes(yaml.safe_load(text)):
            assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def test_instances_retry_failed_runs_but_never_a_failed_gate() -> None:
    from mesh_orchestrator.orchestration.instance import DAGSTER_YAML

    for text in ((DOCKER / "dagster.yaml").read_text(), DAGSTER_YAML):
        config = yaml.safe_load(text)
        assert config["run_retries"]["enabled"] is True
        assert config["run_retries"]["retry_on_asset_or_op_failure"] is False
        assert config["run_monitoring"]["enabled"] is True
