"""The data directory of a local cluster (``cluster.py``): what it records and the rules
for reusing it.

Layout (default ``<user data dir>/cluster-<port>``, and ``cluster-<port>-secure`` for a
secure one)::

    cluster.json        nodes (id, ports, directory id), cluster id, mode, Kafka version
    credentials.json    secure only: principal -> password (see ``secure.py``), mode 0600
    node-1/ node-2/ ... one node each: server.properties, broker.log, broker.pid, logs/

The ports chosen at the first start are kept in ``cluster.json`` and reused at every start
(a taken port is an error, not a reason to move): the dynamic quorum's voter endpoints live
in the metadata log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from onestop.kafka.broker import CLUSTER_FILE
from onestop.kafka.errors import BrokerError
from onestop.kafka.jars import KAFKA_VERSION
from onestop.kafka.jvm import new_kafka_uuid, read_json, write_json
from onestop.kafka.probe import HOST, free_port, port_free
from onestop.kafka.properties import NodeAddress
from onestop.kafka.secure import CREDENTIALS_FILE, check_mode


def default_cluster_dir(port: int, *, secure: bool = False) -> Path:
    """Return the default data directory of the local cluster whose first node is on
    ``port``."""
    suffix = "-secure" if secure else ""
    return Path(platformdirs.user_data_dir("onestop")) / f"cluster-{port}{suffix}"


@dataclass(frozen=True)
class NodeStatus:
    """One node of a ``ClusterStatus``.

    Attributes:
        node_id: KRaft node id.
        running: its JVM is alive (not whether it answers yet).
        pid: its process id (None when not running).
        bootstrap: its own ``host:port``.
        data_dir: its directory.
    """

    node_id: int
    running: bool
    pid: int | None
    bootstrap: str
    data_dir: Path


@dataclass(frozen=True)
class ClusterStatus:
    """What ``LocalCluster.status`` found.

    Attributes:
        nodes: every node, by id.
        bootstrap: ``host:port,host:port,...`` of all nodes.
        data_dir: the cluster's data directory.
        secure: the cluster is (or will be, when new) a secure one.
        credentials: its ``credentials.json`` when secure, else None.
    """

    nodes: tuple[NodeStatus, ...]
    bootstrap: str
    data_dir: Path
    secure: bool
    credentials: Path | None

    @property
    def running(self) -> bool:
        """Every node's JVM is alive."""
        return all(node.running for node in self.nodes)


class ClusterDir:
    """The data directory of a cluster of ``size`` nodes whose node 1 listens on ``port``."""

    def __init__(self, data_dir: Path, size: int, port: int) -> None:
        self.path = data_dir
        self.size = size
        self.port = port

    @property
    def state_file(self) -> Path:
        """``cluster.json``: the nodes, their ports and directory ids, the mode."""
        return self.path / CLUSTER_FILE

    @property
    def credentials_file(self) -> Path:
        """``credentials.json`` of a secure cluster (principal -> password)."""
        return self.path / CREDENTIALS_FILE

    def node_dir(self, node_id: int) -> Path:
        """The directory of node ``node_id``."""
        return self.path / f"node-{node_id}"

    def state(self) -> dict[str, Any]:
        """What ``cluster.json`` holds ({} before the first start)."""
        return read_json(self.state_file)

    @property
    def formatted(self) -> bool:
        """True once every node's storage was formatted."""
        return bool(self.state().get("formatted"))

    def recorded_secure(self) -> bool | None:
        """The mode ``cluster.json`` records (None: none recorded)."""
        recorded = self.state().get("secure")
        return recorded if isinstance(recorded, bool) else None

    def nodes(self) -> list[NodeAddress]:
        """Every node's address: as recorded, else as planned from ``port``."""
        recorded = self.state().get("nodes")
        if isinstance(recorded, list) and recorded:
            return [NodeAddress(**node) for node in recorded]
        return [
            NodeAddress(i, self.port + i - 1, self.port + self.size + i - 1)
            for i in range(1, self.size + 1)
        ]

    def check(self, *, secure: bool) -> None:
        """Refuse a data directory of another kind, size, mode or first port.

        Raises:
            BrokerError: it belongs to a single broker, to a cluster of another size, to
                one of the other mode (secure or plain), or to one on other ports.
        """
        if (self.path / "broker.json").exists() or (self.path / "logs").exists():
            raise BrokerError(
                f"The data directory {self.path} belongs to a single local broker; a "
                f"cluster needs its own. Choose another `--data` directory."
            )
        recorded_nodes = self.state().get("nodes")
        if isinstance(recorded_nodes, list) and len(recorded_nodes) != self.size:
            raise BrokerError(
                f"The data directory {self.path} holds a cluster of {len(recorded_nodes)} "
                f"nodes, not {self.size}; use `--nodes {len(recorded_nodes)}` or another "
                f"`--data` directory."
            )
        if not self.formatted:
            return
        check_mode(self.path, recorded_secure=self.recorded_secure(), wanted_secure=secure)
        first = self.nodes()[0].port
        if first != self.port:
            raise BrokerError(
                f"The cluster in {self.path} uses ports from {first}, not {self.port}; "
                f"start it with `--port {first}`."
            )

    def plan(self, *, secure: bool) -> list[NodeAddress]:
        """Before the first (formatted) start: the nodes on consecutive client ports from
        ``port``, controller ports after them (or free ones where taken), new directory
        ids; recorded in ``cluster.json``. Once formatted: the recorded nodes."""
        if self.formatted:
            return self.nodes()
        clients = {self.port + i for i in range(self.size)}
        planned = []
        for i in range(1, self.size + 1):
            controller = self.port + self.size + i - 1
            while controller in clients or not port_free(controller):
                controller = free_port()
            planned.append(NodeAddress(i, self.port + i - 1, controller, new_kafka_uuid()))
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(
            self.state_file,
            {
                "nodes": [vars(n) for n in planned],
                "kafka_version": KAFKA_VERSION,
                "secure": secure,
                "formatted": False,
            },
        )
        return planned

    def mark_formatted(self, cluster_id: str) -> None:
        """Record that every node's storage is formatted for ``cluster_id``."""
        write_json(self.state_file, {**self.state(), "cluster_id": cluster_id, "formatted": True})

    def check_ports(self, nodes: list[NodeAddress]) -> None:
        """Raise BrokerError when a client or controller port of ``nodes`` is taken."""
        for node in nodes:
            for port in (node.port, node.controller_port):
                if not port_free(port):
                    raise BrokerError(
                        f"Port {port} on {HOST} (node {node.node_id} of the cluster in "
                        f"{self.path}) is already in use by another process. Free it, "
                        f"or choose another `--port` and `--data` directory."
                    )
