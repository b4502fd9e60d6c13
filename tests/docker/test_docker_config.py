"""docker/ is right by construction: no Docker engine here, so its files are checked as data.

The compose topology must mirror workspace.yaml (one gRPC code server per location), and the
production dagster.yaml must pass Dagster's own instance-config validation.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

from mesh_orchestrator.paths import REPO_ROOT

DOCKER = REPO_ROOT / "docker"


def _locations() -> dict[str, str]:
    entries = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())["load_from"]
    return {e["python_module"]["location_name"]: e["python_module"]["module_name"] for e in entries}


def test_one_code_server_per_location() -> None:
    services = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())["services"]
    grpc = yaml.safe_load((DOCKER / "workspace.yaml").read_text())["load_from"]
    served = {e["grpc_server"]["location_name"]: e["grpc_server"] for e in grpc}
    assert set(served) == set(_locations())
    for location, module in _locations().items():
        entry = served[location]
        command = services[entry["host"]]["command"]
        assert command[:3] == ["dagster", "code-server", "start"]
        assert command[command.index("-m") + 1] == module
        assert command[command.index("--location-name") + 1] == location
        assert command[command.index("-p") + 1] == str(entry["port"])
    for name in ("postgres", "webserver", "daemon"):
        assert name in services
    for name in ("webserver", "daemon"):
        assert set(services[name]["depends_on"]) == {"postgres", *(e["host"] for e in served.values())}


def test_production_instance_config_is_valid(tmp_path: Path) -> None:
    shutil.copy(DOCKER / "dagster.yaml", tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["telemetry"] == {"enabled": False}
    assert config["concurrency"]["pools"]["default_limit"] == 1


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
    storage = yaml.safe_load((DOCKER / "dagster.yaml").read_text())["storage"]["postgres"]
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
    import importlib

    from mesh_orchestrator.environment import DAGSTER_YAML

    for text in ((DOCKER / "dagster.yaml").read_text(), DAGSTER_YAML):
        for module, name in _configured_classes(yaml.safe_load(text)):
            assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def test_instances_retry_failed_runs_but_never_a_failed_gate() -> None:
    from mesh_orchestrator.environment import DAGSTER_YAML

    for text in ((DOCKER / "dagster.yaml").read_text(), DAGSTER_YAML):
        config = yaml.safe_load(text)
        assert config["run_retries"]["enabled"] is True
        assert config["run_retries"]["retry_on_asset_or_op_failure"] is False
        assert config["run_monitoring"]["enabled"] is True


def test_dockerfile_copies_only_what_exists() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (.+) \S+$", text, flags=re.MULTILINE):
        for path in source.split():
            assert (REPO_ROOT / path).exists(), f"Dockerfile copies missing {path}"
    assert "uv sync --frozen" in text


def test_image_installs_the_postgres_storage() -> None:
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    prod = project["project"]["optional-dependencies"]["prod"]
    assert "--extra prod" in (DOCKER / "Dockerfile").read_text()
    assert any(d.startswith("dagster-postgres") for d in prod)
    assert any(d.startswith("psycopg2-binary") for d in prod), "the driver docker/dagster.yaml names"
    lock = (REPO_ROOT / "uv.lock").read_text()
    assert 'name = "dagster-postgres"' in lock
    assert 'name = "psycopg2-binary"' in lock
