"""The ``server.properties`` of a local Kafka node and the arguments that format its storage
(pure, no I/O).

Every node is broker and controller in one JVM (KRaft combined mode) on 127.0.0.1. One node
is the plain single broker; three make a cluster whose topics get replication factor 3 and
``min.insync.replicas=2``.

Secure mode (``admin_password`` given):

- the client listener ``SASL_PLAINTEXT`` takes SCRAM-SHA-512 only; brokers also talk to
  each other on it, as the ``admin`` principal (one listener, so no second port accepts
  connections that skip authentication);
- the controller listener ``CONTROLLER`` is SASL_PLAINTEXT with PLAIN, its single user
  ``admin`` in the JAAS config. SCRAM cannot serve controllers: its credentials live in
  the metadata log that the controllers themselves provide. Authenticating the controller
  listener too keeps ``User:ANONYMOUS`` out of ``super.users`` (Kafka 3.7+ admin clients
  can talk to controllers directly);
- ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false`` and
  ``super.users=User:admin``: every other principal gets only what an ACL allows.

The file then holds the admin password; write it with mode 0600.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from onestop.kafka.probe import HOST
from schemas.access import ADMIN, SASL_MECHANISM

#: Name of the client (and, in a plain cluster, inter-broker) listener when plain.
PLAIN_LISTENER = "PLAINTEXT"
#: Name of the client and inter-broker listener when secure.
SECURE_LISTENER = "SASL_PLAINTEXT"
#: Name of the KRaft controller listener.
CONTROLLER_LISTENER = "CONTROLLER"


@dataclass(frozen=True)
class NodeAddress:
    """Where one node listens on 127.0.0.1.

    Attributes:
        node_id: KRaft ``node.id`` (1, 2, 3, ...).
        port: client listener port.
        controller_port: controller listener port.
        directory_id: Kafka Uuid of its metadata log directory (a cluster's dynamic quorum
            names each initial voter by id, endpoint and directory id); None for the
            single broker, whose ``--standalone`` format picks one.
    """

    node_id: int
    port: int
    controller_port: int
    directory_id: str | None = None

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:<port>``."""
        return f"{HOST}:{self.port}"

    @property
    def controller_endpoint(self) -> str:
        """``127.0.0.1:<controller port>``."""
        return f"{HOST}:{self.controller_port}"


def replication_for(brokers: int) -> tuple[int, int]:
    """Replication factor and ``min.insync.replicas`` for a cluster of ``brokers``:
    min(3, brokers), and 2 in-sync replicas once there are 3 (else 1, so that losing one of
    two brokers does not stop writes)."""
    factor = max(1, min(3, brokers))
    return factor, 2 if factor >= 3 else 1


def _jaas(module: str, password: str, *, plain_users: bool) -> str:
    entries = [f'username="{ADMIN}"', f'password="{password}"']
    if plain_users:
        entries.append(f'user_{ADMIN}="{password}"')
    return f"org.apache.kafka.common.security.{module} required {' '.join(entries)};"


def _security(admin_password: str | None) -> dict[str, str]:
    if admin_password is None:
        return {
            "listener.security.protocol.map": (
                f"{PLAIN_LISTENER}:PLAINTEXT,{CONTROLLER_LISTENER}:PLAINTEXT"
            ),
            "inter.broker.listener.name": PLAIN_LISTENER,
        }
    client = SECURE_LISTENER.lower()
    controller = CONTROLLER_LISTENER.lower()
    scram = SASL_MECHANISM.lower()
    return {
        "listener.security.protocol.map": (
            f"{SECURE_LISTENER}:SASL_PLAINTEXT,{CONTROLLER_LISTENER}:SASL_PLAINTEXT"
        ),
        "inter.broker.listener.name": SECURE_LISTENER,
        "sasl.enabled.mechanisms": SASL_MECHANISM,
        "sasl.mechanism.inter.broker.protocol": SASL_MECHANISM,
        "sasl.mechanism.controller.protocol": "PLAIN",
        f"listener.name.{client}.sasl.enabled.mechanisms": SASL_MECHANISM,
        f"listener.name.{client}.{scram}.sasl.jaas.config": _jaas(
            "scram.ScramLoginModule", admin_password, plain_users=False
        ),
        f"listener.name.{controller}.sasl.enabled.mechanisms": "PLAIN",
        f"listener.name.{controller}.plain.sasl.jaas.config": _jaas(
            "plain.PlainLoginModule", admin_password, plain_users=True
        ),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{ADMIN}",
    }


def server_properties(
    node: NodeAddress,
    quorum: Sequence[NodeAddress],
    log_dir: Path,
    *,
    admin_password: str | None = None,
) -> str:
    """The ``server.properties`` of ``node`` in a cluster whose controllers are ``quorum``
    (``[node]`` for the single broker).

    Args:
        node: the node this file is for; must be one of ``quorum``.
        quorum: every node of the cluster (each is a controller).
        log_dir: its ``log.dirs``.
        admin_password: secure mode (see the module docstring) when given.
    """
    if node not in quorum:
        raise ValueError(f"node {node.node_id} is not one of the quorum's nodes")
    listener = PLAIN_LISTENER if admin_password is None else SECURE_LISTENER
    factor, min_isr = replication_for(len(quorum))
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.bootstrap.servers": ",".join(n.controller_endpoint for n in quorum),
        "listeners": (
            f"{listener}://{node.bootstrap},{CONTROLLER_LISTENER}://{node.controller_endpoint}"
        ),
        "advertised.listeners": f"{listener}://{node.bootstrap}",
        "controller.listener.names": CONTROLLER_LISTENER,
        **_security(admin_password),
        "log.dirs": log_dir.as_posix(),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        "offsets.topic.replication.factor": str(factor),
        # Fewer partitions for __consumer_offsets: the first consumer group is ready sooner.
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": str(factor),
        "transaction.state.log.min.isr": str(min_isr),
        "share.coordinator.state.topic.replication.factor": str(factor),
        "share.coordinator.state.topic.min.isr": str(min_isr),
    }
    if len(quorum) > 1:
        settings["default.replication.factor"] = str(factor)
        settings["min.insync.replicas"] = str(min_isr)
    lines = ["# Generated by `onestop broker start` at every start; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def format_arguments(
    cluster_id: str, quorum: Sequence[NodeAddress], scram: Sequence[str] = ()
) -> list[str]:
    """Arguments after ``kafka-storage format -c server.properties`` for a node of
    ``quorum``: the cluster id, the initial controllers, and ``scram`` (``--add-scram``
    pairs from ``secure.scram_arguments``).

    One node formats ``--standalone``. Several are formatted as a dynamic quorum (KIP-853)
    with ``--initial-controllers``: every node gets the same list of voters (id, controller
    endpoint, directory id), so the quorum forms without a static
    ``controller.quorum.voters``, as with the single broker.
    """
    args = ["-t", cluster_id]
    if len(quorum) == 1:
        args.append("--standalone")
    else:
        missing = [n.node_id for n in quorum if not n.directory_id]
        if missing:
            raise ValueError(f"nodes {missing} have no directory id")
        voters = ",".join(f"{n.node_id}@{n.controller_endpoint}:{n.directory_id}" for n in quorum)
        args += ["--initial-controllers", voters]
    return [*args, *scram]
