"""docker-compose.cluster.yml: three KRaft brokers that agree on their quorum (no Docker)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from onestop.kafka.jars import KAFKA_VERSION
from onestop.paths import PROJECT_ROOT

BROKERS = ("kafka-1", "kafka-2", "kafka-3")


def _compose(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / name).read_text())
    return loaded


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    services: dict[str, Any] = _compose("docker-compose.cluster.yml")["services"]
    return services


def _env(services: dict[str, Any], name: str) -> dict[str, str]:
    return {key: str(value) for key, value in services[name]["environment"].items()}


def _listener_ports(spec: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` -> {NAME: (host, port)}."""
    found = {}
    for item in spec.split(","):
        name, _, address = item.partition("://")
        host, _, port = address.rpartition(":")
        found[name] = (host, int(port))
    return found


def test_three_brokers_of_the_pinned_kafka(services: dict[str, Any]) -> None:
    assert {name for name in services if name.startswith("kafka")} == set(BROKERS)
    for name in BROKERS:
        assert services[name]["image"] == f"apache/kafka:{KAFKA_VERSION}"
        assert services[name]["hostname"] == name
        assert _env(services, name)["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert sorted(_env(services, name)["KAFKA_NODE_ID"] for name in BROKERS) == ["1", "2", "3"]


def test_every_broker_names_the_same_voters_at_their_controller_listeners(
    services: dict[str, Any],
) -> None:
    voters = {_env(services, name)["KAFKA_CONTROLLER_QUORUM_VOTERS"] for name in BROKERS}
    assert len(voters) == 1
    by_id = dict(voter.split("@") for voter in voters.pop().split(","))
    for name in BROKERS:
        env = _env(services, name)
        _, port = _listener_ports(env["KAFKA_LISTENERS"])[env["KAFKA_CONTROLLER_LISTENER_NAMES"]]
        assert by_id[env["KAFKA_NODE_ID"]] == f"{name}:{port}"
    assert len({_env(services, name)["CLUSTER_ID"] for name in BROKERS}) == 1


def test_the_cluster_id_is_a_kafka_uuid(services: dict[str, Any]) -> None:
    cluster_id = _env(services, "kafka-1")["CLUSTER_ID"]
    raw = base64.urlsafe_b64decode(cluster_id + "==")
    assert len(raw) == 16
    assert base64.urlsafe_b64encode(raw).decode().rstrip("=") == cluster_id


def test_replication_three_with_two_in_sync(services: dict[str, Any]) -> None:
    for name in BROKERS:
        env = _env(services, name)
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_each_broker_sets_every_setting_of_the_single_node_file(
    services: dict[str, Any],
) -> None:
    # Any KAFKA_* variable replaces the image's defaults: nothing the single broker needs
    # may be missing from a cluster broker.
    single = _compose("docker-compose.yml")["services"]["kafka"]["environment"]
    for name in BROKERS:
        assert set(single) <= set(_env(services, name)), name


def test_advertised_listeners_are_reachable_and_host_ports_distinct(
    services: dict[str, Any],
) -> None:
    host_ports = []
    for name in BROKERS:
        env = _env(services, name)
        listeners = _listener_ports(env["KAFKA_LISTENERS"])
        advertised = _listener_ports(env["KAFKA_ADVERTISED_LISTENERS"])
        assert advertised["PLAINTEXT"] == (name, listeners["PLAINTEXT"][1])
        host, port = advertised["PLAINTEXT_HOST"]
        assert host == "localhost"
        assert f"{port}:{listeners['PLAINTEXT_HOST'][1]}" in services[name]["ports"]
        host_ports.append(port)
    assert len(set(host_ports)) == 3


@pytest.mark.parametrize("client", ["hub", "nodes"])
def test_clients_bootstrap_from_every_broker_once_all_are_healthy(
    services: dict[str, Any], client: str
) -> None:
    command = services[client]["command"]
    bootstrap = command[command.index("--bootstrap") + 1]
    assert bootstrap == ",".join(f"{name}:9092" for name in BROKERS)
    for name in BROKERS:
        assert services[client]["depends_on"][name] == {"condition": "service_healthy"}


def test_a_project_of_its_own_with_volumes_per_broker() -> None:
    compose = _compose("docker-compose.cluster.yml")
    assert compose["name"] == "onestop-cluster"
    assert {f"{name}-data" for name in BROKERS} <= set(compose["volumes"])
    assert Path(PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml").is_file()
