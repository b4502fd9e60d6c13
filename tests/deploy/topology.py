"""The production topology of ``docker/`` started as processes on this machine.

Every process is started from the compose file's own command and environment, with the compose
file's secrets given test values and its host names (``postgres``, ``minio``, ``code_<location>``)
replaced by the test servers' addresses; ``docker/dagster.yaml`` and ``docker/workspace.yaml`` are
used the same way. Each service gets a folder of its own (its data volume, its ``DAGSTER_HOME``, its
working folder); no folder is shared. What the image holds (the code, the dbt parse made at build
time) comes from this checkout: each code server's dbt parse is made before it starts, with its own
data folder, as the image build makes it with ``/data``.

Shortened for a test, and said here: the sensor and automation intervals (1 s, as in the daemon
test) and run monitoring's poll interval (2 s instead of 30 s).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mesh_orchestrator.core import names
from mesh_orchestrator.core.paths import REPO_ROOT
from tests.deploy.conftest import ObjectStore, PostgresServer, free_port

DOCKER = REPO_ROOT / "docker"
COMPOSE = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
LOCATIONS = ("hr", "inventory", "procurement", "sales", "finance", names.MESH_LOCATION)
#: The test's settings that production leaves at their defaults (see the module's docstring).
FAST = {
    "MESH_SENSOR_INTERVAL_SECONDS": "1",
    "MESH_AUTOMATION_INTERVAL_SECONDS": "1",
    "MESH_FILE_SETTLE_SECONDS": "1",
}
MONITORING_POLL_SECONDS = 2
_VARIABLE = re.compile(r"\$\{(\w+)(?::?\?[^}]*)?\}")
#: What the tests' parent environment may set that a service of the compose file does not have.
_NOT_INHERITED = ("MESH_", "PYICEBERG_", "DAGSTER_HOME", "AWS_")


def service_name(location: str) -> str:
    return f"code_{location}"


@dataclass
class Service:
    """One process of the topology: its compose service, folder, environment and command."""

    name: str
    folder: Path
    env: dict[str, str]
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def log(self) -> Path:
        return self.folder / "service.log"

    def start(self) -> None:
        self.started_at = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.folder,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a kill takes its runs with it
            )

    def kill(self) -> None:
        """As a container dies: the whole process group, at once."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@dataclass
class Topology:
    root: Path
    postgres: PostgresServer
    store: ObjectStore
    ports: dict[str, int] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    webserver_port: int = 0

    # -- configuration, from docker/ -------------------------------------------------------------

    def secrets(self) -> dict[str, str]:
        """Test values of every ``${VAR}`` the compose file requires (from docker/.env in production)."""
        values = {
            "POSTGRES_PASSWORD": self.postgres.password,
            "MESH_S3_ACCESS_KEY_ID": self.store.access_key,
            "MESH_S3_SECRET_ACCESS_KEY": self.store.secret_key,
            "MESH_ALERT_WEBHOOK_URL": "",
        }
        values.update({f"MESH_PII_KEY_{d.upper()}": f"topology-test-key-{d}" for d in LOCATIONS})
        return values

    def readdress(self, text: str, home: Path) -> str:
        """The compose file's host names, pointed at this machine's servers; the image's home folder."""
        pg = f"{self.postgres.host}:{self.postgres.port}"
        return (
            text.replace("@postgres:5432/", f"@{pg}/")
            .replace("http://minio:9000", self.store.endpoint)
            .replace("/opt/dagster/home/", f"{home}/")
        )

    def service(self, name: str) -> Service:
        spec = COMPOSE["services"][name]
        folder = self.root / name
        home, data, parse = folder / "home", folder / "data", folder / "dbt-parse"
        for path in (home, data, parse):
            path.mkdir(parents=True, exist_ok=True)
        secrets = self.secrets()
        env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
        # The image's own environment (docker/Dockerfile's ENV), in this service's folders.
        env.update(DAGSTER_HOME=str(home), MESH_DBT_PARSE_DIR=str(parse), PYTHONUNBUFFERED="1")
        for key, raw in (spec.get("environment") or {}).items():
            value = _VARIABLE.sub(lambda m: secrets[m.group(1)], str(raw))
            env[key] = (
                str(data) if (key, value) == ("MESH_DATA_DIR", "/data") else self.readdress(value, home)
            )
        if name.startswith("code_"):
            env.update(FAST)
        command = [self.readdress(part, home) for part in spec["command"]]
        command[0] = str(Path(sys.executable).with_name(command[0]))  # this environment's dagster
        return Service(name, folder, env, command)

    def instance_yaml(self) -> dict[str, Any]:
        config = yaml.safe_load((DOCKER / "dagster.yaml").read_text())
        database = config["storage"]["postgres"]["postgres_db"]
        assert (database["hostname"], database["port"]) == ("postgres", 5432)
        database.update(hostname=self.postgres.host, port=self.postgres.port)
        logs = config["compute_logs"]["config"]
        assert logs["endpoint_url"] == "http://minio:9000"
        logs["endpoint_url"] = self.store.endpoint
        config["run_monitoring"]["poll_interval_seconds"] = MONITORING_POLL_SECONDS
        return config

    def workspace_yaml(self) -> dict[str, Any]:
        workspace = yaml.safe_load((DOCKER / "workspace.yaml").read_text())
        for entry in workspace["load_from"]:
            server = entry["grpc_server"]
            assert server["host"] == service_name(server["location_name"]) and server["port"] == 4000
            server.update(host="127.0.0.1", port=self.ports[server["location_name"]])
        return workspace

    def build(self, landing: Path) -> None:
        """Every service's folder: its DAGSTER_HOME files, and for a domain its landing folder."""
        self.ports = {location: free_port() for location in LOCATIONS}
        self.webserver_port = free_port()
        instance, workspace = self.instance_yaml(), self.workspace_yaml()
        for location in LOCATIONS:
            service = self.service(service_name(location))
            service.command = [
                str(self.ports[location]) if part == "4000" else "127.0.0.1" if part == "0.0.0.0" else part
                for part in service.command
            ]
            self.services[service.name] = service
            if (landing / location).is_dir():
                shutil.copytree(landing / location, Path(service.env["MESH_DATA_DIR"]) / "landing" / location)
        web = self.service("webserver")
        web.command = [
            str(self.webserver_port) if part == "3000" else "127.0.0.1" if part == "0.0.0.0" else part
            for part in web.command
        ]
        self.services["webserver"] = web
        self.services["daemon"] = self.service("daemon")
        self.services["dagster-init"] = self.service("dagster-init")
        for service in self.services.values():
            home = Path(service.env["DAGSTER_HOME"])
            (home / "dagster.yaml").write_text(yaml.safe_dump(instance, sort_keys=False))
            (home / "workspace.yaml").write_text(yaml.safe_dump(workspace, sort_keys=False))

    # -- processes -------------------------------------------------------------------------------

    def init_dagster(self, timeout: float = 180) -> None:
        """The compose file's one-shot ``dagster-init``: Dagster's tables, before any code server."""
        init = self.services["dagster-init"]
        init.start()
        assert init.process is not None
        assert init.process.wait(timeout=timeout) == 0, f"dagster-init failed:\n{init.tail()}"

    def code_servers(self) -> list[Service]:
        return [self.services[service_name(location)] for location in LOCATIONS]

    def prepare_dbt(self) -> None:
        """Each domain's dbt parse, as docker/Dockerfile makes it when the image is built (there for
        every domain with ``MESH_DATA_DIR=/data``; here for the server's own domain and folder)."""
        dockerfile = (DOCKER / "Dockerfile").read_text()
        assert "dbt_project(load_domain_spec(domain))" in dockerfile
        parses = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from mesh_orchestrator.transformation.dbt import dbt_project; "
                    "from mesh_orchestrator.core.spec import load_domain_spec; "
                    f"dbt_project(load_domain_spec({location!r}))",
                ],
                cwd=REPO_ROOT,
                env=self.services[service_name(location)].env,
            )
            for location in LOCATIONS
            if location != names.MESH_LOCATION
        ]
        for parse in parses:
            assert parse.wait(timeout=600) == 0, "the image's dbt parse failed"

    def wait_loaded(self, services: list[Service], timeout: float = 180) -> dict[str, float]:
        """Wait for each code server to answer a health check; seconds from its start to its answer."""
        from dagster._grpc.client import DagsterGrpcClient

        loaded: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while len(loaded) < len(services):
            for service in services:
                if service.name in loaded:
                    continue
                assert service.process is not None and service.process.poll() is None, (
                    f"{service.name} exited:\n{service.tail()}"
                )
                port = int(service.command[service.command.index("-p") + 1])
                client = DagsterGrpcClient(port=port, host="127.0.0.1")
                try:
                    ready = client.ping("") is not None and _loaded(client)
                except Exception:
                    ready = False
                if ready:
                    loaded[service.name] = time.monotonic() - service.started_at
            if time.monotonic() > deadline:
                waiting = [s.name for s in services if s.name not in loaded]
                raise AssertionError(f"not loaded in {timeout:.0f}s: {waiting}\n{services[0].tail()}")
            time.sleep(0.2)
        return loaded

    def wait_webserver(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/server_info", timeout=5).read()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise AssertionError(f"webserver not up:\n{self.services['webserver'].tail()}") from None
                time.sleep(0.5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert "errors" not in answer, answer["errors"]
        return dict(answer["data"])

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()


def _loaded(client: Any) -> bool:
    """The code server has loaded its definitions (the proxy answers pings before that)."""
    from dagster._grpc.types import ListRepositoriesResponse
    from dagster._serdes import deserialize_value

    listed = deserialize_value(client.list_repositories())
    return isinstance(listed, ListRepositoriesResponse)
