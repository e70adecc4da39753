"""docker-compose.yml's `secure` profile: the same principals and rights as `onestop broker
start --secure`, from the apache/kafka image's settings (read, not run: no Docker)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from onestop.kafka.jars import KAFKA_VERSION
from onestop.paths import PROJECT_ROOT

SECURE = ("kafka-secure", "scram-users", "hub-secure", "nodes-secure")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return dict(loaded["services"])


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in service["environment"].items()}


def test_the_secure_services_start_only_with_their_profile(services: dict[str, Any]) -> None:
    assert {name for name, s in services.items() if "secure" in s.get("profiles", [])} == set(
        SECURE
    )
    assert not any(s.get("profiles") for n, s in services.items() if n not in SECURE)


def test_the_broker_authenticates_every_listener_and_authorises_by_acl(
    services: dict[str, Any],
) -> None:
    kafka = services["kafka-secure"]
    env = _env(kafka)
    assert kafka["image"] == f"apache/kafka:{KAFKA_VERSION}"
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}  # no listener without a login
    listeners = {item.split("://")[0] for item in env["KAFKA_LISTENERS"].split(",")}
    assert listeners == set(protocols)
    for name in ("CLIENT", "HOST"):
        assert env[f"KAFKA_LISTENER_NAME_{name}_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert not any("password" in value.lower() for value in env.values())  # from the file only


def test_every_onestop_service_logs_in_with_the_credentials_file(
    services: dict[str, Any],
) -> None:
    for name in ("hub-secure", "nodes-secure"):
        command = services[name]["command"]
        path = command[command.index("--credentials") + 1]
        assert f"./deploy/secure/credentials.json:{path}:ro" in services[name]["volumes"]
        assert command[command.index("--bootstrap") + 1] == "kafka-secure:9092"
    for name in ("kafka-secure", "scram-users"):
        mounts = services[name]["volumes"]
        assert "./deploy/secure/credentials.json:/etc/kafka/secrets/credentials.json:ro" in mounts
        script = services[name]["entrypoint"][-1].rsplit("/", 1)[-1]
        assert (PROJECT_ROOT / "deploy" / "secure" / script).is_file()


def test_the_credentials_file_is_never_committed() -> None:
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/secure/credentials.json" in ignored
