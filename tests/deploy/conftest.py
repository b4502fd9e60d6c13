"""The deploy tests' servers: PostgreSQL, and S3-compatible object storage (``object_store``, moto's
server in its own process: no MinIO binary installs here).

A throwaway PostgreSQL server: one per test session, on 127.0.0.1 and a free
port, its cluster in a temporary folder, stopped and removed at the end of the session.

It uses the server binaries of Debian's `postgresql` package (`/usr/lib/postgresql/<version>/bin`),
or `pg_ctl` on PATH elsewhere. They refuse to run as root, so as root they run as the `postgres` user.
Without them the tests skip and say how to install them, except under CI (`CI=true`), where they fail:
`.ci/run` installs the package, so a CI run can never skip them silently.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

INSTALL = "apt-get install -y postgresql"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    db_name: str
    folder: Path  # the cluster (data/), its log and its socket


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> NoReturn:
    if _under_ci():
        pytest.fail(f"{reason}. CI must run the deploy tests: .ci/run installs them with `{INSTALL}`.")
    pytest.skip(f"{reason}: install them with `sudo {INSTALL}` (Debian/Ubuntu) to run the deploy tests")


def _version(bin_dir: Path) -> tuple[int, ...]:
    name = bin_dir.parent.name
    return tuple(int(part) for part in name.split(".")) if name.replace(".", "").isdigit() else (0,)


def server_binaries() -> Path | None:
    """The folder of `initdb` and `pg_ctl`: Debian's newest version, else the one on PATH."""
    found = sorted((p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")), key=_version)
    if found:
        return found[-1]
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server() -> Iterator[PostgresServer]:
    """Start a server in a fresh temporary folder; stop it and remove the folder on exit."""
    bin_dir = server_binaries()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")
    as_server_user: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("no `postgres` user to run the server as (it refuses root)")
        as_server_user = ["runuser", "-u", "postgres", "--"]

    folder = Path(tempfile.mkdtemp(prefix="mesh-postgres-"))
    server = PostgresServer("127.0.0.1", free_port(), "dagster", "dagster-test", "dagster", folder)
    data, log = folder / "data", folder / "server.log"
    password_file = folder / "password"
    password_file.write_text(server.password + "\n")
    if as_server_user:
        for path in (folder, password_file):
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def run(*command: str) -> None:
        done = subprocess.run(
            [*as_server_user, *command], cwd=folder, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}{tail}")

    try:
        # TCP needs the password (as in production); the socket, in the private folder, is trusted.
        run(
            str(bin_dir / "initdb"), "-D", str(data), "-U", server.user, f"--pwfile={password_file}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=UTF8", "--locale=C",
            "--no-sync",
        )  # fmt: skip
        # A throwaway cluster: no fsync, nothing has to survive a crash.
        options = f"-h {server.host} -p {server.port} -k {folder} -F -c full_page_writes=off"
        pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
        run(*pg_ctl, "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        try:
            run(str(bin_dir / "createdb"), "-h", str(folder), "-p", str(server.port), "-U", server.user,
                server.db_name)  # fmt: skip
            yield server
        finally:
            run(*pg_ctl, "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_server() as server:
        yield server


@dataclass(frozen=True)
class ObjectStore:
    """An S3-compatible endpoint (moto's server, standing in for MinIO) with one bucket."""

    endpoint: str
    bucket: str
    access_key: str = "mesh-test"
    secret_key: str = "mesh-test-secret"
    region: str = "us-east-1"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@contextmanager
def running_object_store(bucket: str = "mesh-warehouse") -> Iterator[ObjectStore]:
    """moto's S3 server in its own process on a free port, with ``bucket`` created."""
    store = ObjectStore(f"http://127.0.0.1:{free_port()}", bucket)
    port = store.endpoint.rsplit(":", 1)[1]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", port],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    store.client().create_bucket(Bucket=bucket)
                    break
                except Exception as error:  # not listening yet
                    if server.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        said = log.read().decode(errors="replace")
                        raise RuntimeError(f"moto's S3 server did not start: {error}\n{said}") from error
                    time.sleep(0.2)
            yield store
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture(scope="session")
def object_store() -> Iterator[ObjectStore]:
    with running_object_store() as store:
        yield store
