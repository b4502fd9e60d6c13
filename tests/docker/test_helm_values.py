"""docker/helm/values.yaml, for the official Dagster chart, checked as data (no cluster here): one
user deployment per code location of workspace.yaml, the compose file's image and environment, a
volume of its own per location, and only secrets that the README's Production section creates.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import yaml

from mesh_orchestrator.core.paths import DATA_DIR_ENV, REPO_ROOT
from tests.docker.test_docker_config import (
    IMAGE,
    SECRET_NAME,
    code_servers,
    environment,
    locations,
    production_config,
    services,
    strings,
)

HELM = REPO_ROOT / "docker" / "helm"
VALUES = HELM / "values.yaml"
PVCS = HELM / "pvcs.yaml"
README = REPO_ROOT / "README.md"
#: The mesh's own variables, set the same way in both topologies (Dagster's storage settings differ:
#: the chart writes its own instance, with the password in global.postgresqlSecretName).
MESH_VARIABLE = re.compile(r"^(MESH_|PYICEBERG_|AWS_)")
#: A Kubernetes Service name (RFC 1035 label): the deployment name is its Service's host.
SERVICE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def values() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(VALUES.read_text())
    return parsed


def deployments() -> dict[str, dict[str, Any]]:
    found = values()["dagster-user-deployments"]["deployments"]
    by_name = {d["name"]: d for d in found}
    assert len(by_name) == len(found), "two deployments share a name"
    return by_name


def deployment_of_location() -> dict[str, dict[str, Any]]:
    """Each location's deployment: the webserver's workspace maps location names to Service hosts."""
    servers = values()["dagsterWebserver"]["workspace"]["servers"]
    by_name = deployments()
    return {server["name"]: by_name[server["host"]] for server in servers}


def readme_secrets() -> dict[str, set[str]]:
    """Secrets the README tells the operator to create (`kubectl create secret generic NAME
    --from-literal=KEY=...`), with their keys."""
    text = README.read_text().replace("\\\n", " ")
    found: dict[str, set[str]] = {}
    for line in text.splitlines():
        match = re.search(r"create secret generic ([a-z0-9][-a-z0-9.]*)", line)
        if match:
            found[match[1]] = set(re.findall(r"--from-literal=\"?([A-Za-z0-9_.-]+)=", line))
    return found


def secret_names(section: dict[str, Any]) -> list[str]:
    return [secret["name"] for secret in section.get("envSecrets") or []]


def test_values_parse_and_configure_the_mesh_instance() -> None:
    chart = values()
    instance = production_config()
    assert chart["runLauncher"]["type"] == "K8sRunLauncher"
    assert chart["postgresql"]["enabled"] is False, "an external PostgreSQL, as in docker/"
    assert chart["generatePostgresqlPasswordSecret"] is False, "the password is a Secret, not a value"
    assert "postgresqlPassword" not in chart["postgresql"]
    assert chart["postgresql"]["postgresqlScheme"] == instance["storage"]["postgres"]["postgres_db"]["scheme"]
    assert chart["telemetry"]["enabled"] is False
    assert chart["dagster-user-deployments"]["enabled"] is True
    assert chart["dagster-user-deployments"]["enableSubchart"] is True
    logs = chart["computeLogManager"]
    s3 = logs["config"]["s3ComputeLogManager"]
    assert logs["type"] == "S3ComputeLogManager"
    assert s3["bucket"] == instance["compute_logs"]["config"]["bucket"]
    assert s3["prefix"] == instance["compute_logs"]["config"]["prefix"]
    assert urlsplit(s3["endpointUrl"]).scheme in {"http", "https"}
    daemon = chart["dagsterDaemon"]
    assert daemon["runCoordinator"] == {"enabled": True, "type": "QueuedRunCoordinator"}
    assert daemon["runMonitoring"]["enabled"] is True
    free_after = instance["run_monitoring"]["free_slots_after_run_end_seconds"]
    assert daemon["runMonitoring"]["freeSlotsAfterRunEndSeconds"] == free_after
    assert daemon["runRetries"] == {
        "enabled": True,
        "maxRetries": instance["run_retries"]["max_retries"],
        "retryOnAssetOrOpFailure": False,
    }
    assert chart["concurrency"]["enabled"] is True
    assert chart["concurrency"]["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]


def test_one_deployment_per_location_with_its_module() -> None:
    servers = values()["dagsterWebserver"]["workspace"]
    assert servers["enabled"] is True
    by_location = deployment_of_location()
    assert set(by_location) == set(locations())
    assert len(deployments()) == len(locations()), "a deployment no workspace server names"
    ports = {server["name"]: server["port"] for server in servers["servers"]}
    for location, module in locations().items():
        deployment = by_location[location]
        args = deployment["dagsterApiGrpcArgs"]
        assert args[args.index("-m") + 1] == module, location
        assert deployment["port"] == ports[location]
        assert SERVICE_NAME.match(deployment["name"]), deployment["name"]
        assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}, "runs get its volume and keys"


def test_deployments_run_the_compose_image() -> None:
    compose_images = {services()[host]["image"] for host in code_servers().values()}
    assert compose_images == {IMAGE}
    for name, deployment in deployments().items():
        repository = deployment["image"]["repository"]
        assert repository.rsplit("/", 1)[-1] == IMAGE, f"{name} runs {repository}, not the compose image"
        assert deployment["image"]["tag"], name


def test_every_secret_is_one_the_readme_creates() -> None:
    chart = values()
    created = readme_secrets()
    used = {chart["global"]["postgresqlSecretName"]}
    for section in (
        chart["dagsterWebserver"],
        chart["dagsterDaemon"],
        chart["runLauncher"]["config"]["k8sRunLauncher"],
    ):
        used |= set(secret_names(section))
    for deployment in deployments().values():
        used |= set(secret_names(deployment))
    missing = used - set(created)
    assert not missing, f"the README's Production section creates no secret {sorted(missing)}"
    assert created[chart["global"]["postgresqlSecretName"]] == {"postgresql-password"}, "the chart's key"


def test_environment_matches_the_compose_file() -> None:
    """A location sees the same variables under both topologies: values in `env`, secrets by name."""
    created = readme_secrets()
    compose_services = services()
    hosts = code_servers()
    for location, deployment in deployment_of_location().items():
        compose_env = environment(compose_services[hosts[location]])
        helm_names = set(deployment["env"]) | {
            key for name in secret_names(deployment) for key in created.get(name, set())
        }
        wanted = {name for name in compose_env if MESH_VARIABLE.match(name)}
        assert {name for name in helm_names if MESH_VARIABLE.match(name)} == wanted, location
        for name, value in deployment["env"].items():
            assert not SECRET_NAME.search(name), f"{location}: {name} belongs in a Secret"
            if name in {DATA_DIR_ENV, "PYICEBERG_CATALOG__MESH__TYPE", "PYICEBERG_CATALOG__MESH__WAREHOUSE"}:
                assert value == compose_env[name], f"{location}: {name}"


def test_each_location_has_its_own_volume_at_the_data_folder() -> None:
    claims = []
    for deployment in deployment_of_location().values():
        volumes = {v["name"]: v for v in deployment["volumes"]}
        (mount,) = [
            m for m in deployment["volumeMounts"] if m["mountPath"] == deployment["env"][DATA_DIR_ENV]
        ]
        claims.append(volumes[mount["name"]]["persistentVolumeClaim"]["claimName"])
    assert len(set(claims)) == len(claims), "two locations share a volume"
    documents = [d for d in yaml.safe_load_all(PVCS.read_text()) if d]
    for document in documents:
        assert (document["apiVersion"], document["kind"]) == ("v1", "PersistentVolumeClaim")
        assert document["spec"]["accessModes"] and document["spec"]["resources"]["requests"]["storage"]
    assert sorted(d["metadata"]["name"] for d in documents) == sorted(claims)


def test_no_secret_literal_in_the_values() -> None:
    chart = values()
    sections = [chart["dagsterWebserver"], chart["dagsterDaemon"], *deployments().values()]
    for section in sections:
        for name in section.get("env") or {}:
            assert not SECRET_NAME.search(name), f"{name} is a secret: put it in a Kubernetes Secret"
    for text in strings(chart):
        if "://" in text:
            assert urlsplit(text).password is None, f"a password in {text!r}"
