"""A local Apache Kafka cluster: several KRaft nodes (broker + controller in each JVM) on
127.0.0.1, from the same jars as the single broker (``broker.py``).

The controller quorum is bootstrapped dynamically (KIP-853): every node is formatted with
the same ``--initial-controllers`` list (node id, controller endpoint, directory id) and
finds the others through ``controller.quorum.bootstrap.servers``. Kafka 4.1.1 supports both
this and a static ``controller.quorum.voters``; the dynamic quorum is the one the single
broker already uses (``--standalone``), it is what Kafka 4 documents first, and it lets
controllers be added or removed later with ``kafka-metadata-quorum``. Its voters'
endpoints live in the metadata log, so the ports chosen at the first start are kept in
``cluster.json`` and reused at every start (a taken port is an error, not a reason to
move).

Layout of a cluster's data directory (default ``<user data dir>/cluster-<port>``, and
``cluster-<port>-secure`` for a secure one)::

    cluster.json        nodes (id, ports, directory id), cluster id, mode, Kafka version
    credentials.json    secure only: principal -> password (see ``secure.py``), mode 0600
    node-1/ node-2/ ... one node each: server.properties, broker.log, broker.pid, logs/

With three nodes, topics get replication factor 3 and ``min.insync.replicas=2``
(``properties.replication_for``), so one node may die without losing an acknowledged
write or stopping producers that use ``acks=all``. All methods block; call them outside a
running event loop.
"""

from __future__ import annotations

import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import platformdirs

from onestop.kafka.broker import CLUSTER_FILE, DEFAULT_PORT
from onestop.kafka.errors import BrokerError
from onestop.kafka.jars import KAFKA_VERSION, default_cache_dir, ensure_kafka_libs
from onestop.kafka.java import find_java
from onestop.kafka.jvm import KafkaProcess, new_kafka_uuid, read_json, write_json
from onestop.kafka.probe import HOST, free_port, port_free, wait_for_brokers
from onestop.kafka.properties import NodeAddress, format_arguments, server_properties
from onestop.kafka.secure import (
    CREDENTIALS_FILE,
    admin_password,
    check_mode,
    new_credentials,
    scram_arguments,
    write_credentials,
)
from schemas.access import ADMIN, CredentialsError, KafkaAccess, load_credentials

#: Nodes of ``onestop broker start --nodes`` when more than one is asked for.
CLUSTER_NODES: Final = 3
_NODE_HEAP = "-Xmx512m"

log = logging.getLogger(__name__)


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


class LocalCluster:
    """A local KRaft cluster of ``nodes`` broker+controller JVMs, managed through its data
    directory. Node ``i`` (1-based) listens for clients on ``port + i - 1`` at its first
    start, unless ``cluster.json`` already records the ports.
    """

    def __init__(
        self,
        nodes: int = CLUSTER_NODES,
        port: int = DEFAULT_PORT,
        data_dir: Path | None = None,
        cache_dir: Path | None = None,
        *,
        secure: bool = False,
    ) -> None:
        """Describe the cluster.

        Args:
            nodes: how many nodes (each is a broker and a controller).
            port: client port of node 1; the others follow it.
            data_dir: state directory; default ``<user data dir>/onestop/cluster-<port>``
                (``cluster-<port>-secure`` when secure).
            cache_dir: where the Kafka jars are cached (default as for ``LocalBroker``).
            secure: SASL_PLAINTEXT with SCRAM-SHA-512 and ACLs (see ``properties.py``).
        """
        if nodes < 2:
            raise ValueError("a local cluster has 2 nodes or more; use LocalBroker for one")
        self.size = nodes
        self.port = port
        self.secure = secure
        chosen = data_dir if data_dir is not None else default_cluster_dir(port, secure=secure)
        self.data_dir = chosen.expanduser().resolve()
        self.cache_dir = (cache_dir if cache_dir is not None else default_cache_dir()).absolute()

    # -- layout --------------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        """``cluster.json``: the nodes, their ports and directory ids, the mode."""
        return self.data_dir / CLUSTER_FILE

    @property
    def credentials_file(self) -> Path:
        """``credentials.json`` of a secure cluster (principal -> password)."""
        return self.data_dir / CREDENTIALS_FILE

    @property
    def nodes(self) -> list[NodeAddress]:
        """Every node's address: recorded in ``cluster.json``, else the planned ones."""
        recorded = read_json(self.state_file).get("nodes")
        if isinstance(recorded, list) and recorded:
            return [NodeAddress(**node) for node in recorded]
        return [
            NodeAddress(i, self.port + i - 1, self.port + self.size + i - 1)
            for i in range(1, self.size + 1)
        ]

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:p1,127.0.0.1:p2,...``: every node's client address."""
        return ",".join(node.bootstrap for node in self.nodes)

    def node_dir(self, node_id: int) -> Path:
        """The directory of node ``node_id``."""
        return self.data_dir / f"node-{node_id}"

    def access(self, principal: str = ADMIN) -> KafkaAccess:
        """How a client reaches this cluster as ``principal`` (plain: no principal).

        Raises:
            BrokerError: secure, and ``credentials.json`` is missing or malformed.
            schemas.access.CredentialsError: it names no such principal.
        """
        if not self.secure:
            return KafkaAccess(self.bootstrap)
        return KafkaAccess.for_principal(self.bootstrap, self._credentials(), principal)

    # -- lifecycle -----------------------------------------------------------------------

    def status(self) -> ClusterStatus:
        """Report which nodes' JVMs are alive (not whether they answer yet)."""
        recorded = read_json(self.state_file).get("secure")
        secure = recorded if isinstance(recorded, bool) else self.secure
        nodes = []
        for node in self.nodes:
            pid = self._jvm(node.node_id).running_pid()
            nodes.append(
                NodeStatus(
                    node.node_id, pid is not None, pid, node.bootstrap, self.node_dir(node.node_id)
                )
            )
        return ClusterStatus(
            nodes=tuple(nodes),
            bootstrap=self.bootstrap,
            data_dir=self.data_dir,
            secure=secure,
            credentials=self.credentials_file if secure else None,
        )

    def start(self, timeout: float = 120.0) -> str:
        """Start every node that is not running (reusing those that are), wait until the
        metadata lists them all, and return the bootstrap list.

        Formats the storage of every node at the first start (with the SCRAM users and
        ``credentials.json`` when secure).

        Raises:
            JavaMissingError, MavenMissingError: as for ``LocalBroker.start``.
            BrokerError: the data directory is another kind (single broker, other size,
                other mode), a port is taken, a JVM died during startup, or not every
                node was listed within ``timeout`` (the JVMs started here are stopped).
        """
        deadline = time.monotonic() + timeout
        state = self._check_data_dir()
        nodes = self.nodes
        waiting = [n for n in nodes if self._jvm(n.node_id).running_pid() is None]
        if not waiting:
            log.info("Reusing the Kafka cluster at %s", self.bootstrap)
            self._wait_listed(nodes, [], deadline, timeout)
            return self.bootstrap
        java = find_java()
        libs = ensure_kafka_libs(self.cache_dir)
        fresh = not state.get("formatted")
        nodes = self._plan(nodes, state)
        if fresh:
            waiting = nodes
        self._check_ports(waiting)
        credentials = new_credentials() if self.secure and fresh else None
        if self.secure and credentials is None:
            credentials = self._credentials()
        password = admin_password(credentials, self.credentials_file) if credentials else None
        for node in nodes:
            self._jvm(node.node_id).write_properties(
                server_properties(
                    node, nodes, self._jvm(node.node_id).log_dir, admin_password=password
                )
            )
        if fresh:
            self._format(java, libs, nodes, credentials)
        if self.secure:
            log.info("Credentials of the secure cluster: %s", self.credentials_file)
        launched: list[NodeAddress] = []
        try:
            for node in waiting:
                pid = self._jvm(node.node_id).launch(java, libs)
                launched.append(node)
                log.info("Started Kafka node %d (pid %d) at %s", node.node_id, pid, node.bootstrap)
            self._wait_listed(nodes, launched, deadline, timeout)
        except BaseException:
            self._stop_nodes(launched, 10.0)
            raise
        log.info(
            "Apache Kafka %s cluster of %d nodes at %s", KAFKA_VERSION, len(nodes), self.bootstrap
        )
        return self.bootstrap

    def stop(self, timeout: float = 30.0) -> dict[int, int]:
        """Stop every node: SIGTERM to all at once (one by one, the last would wait for a
        quorum that is gone), SIGKILL after ``timeout`` seconds.

        Returns:
            The pid of each node that was running, by node id (empty: none was).
        """
        running = {
            n.node_id: pid
            for n in self.nodes
            if (pid := self._jvm(n.node_id).running_pid()) is not None
        }
        self._stop_nodes([n for n in self.nodes if n.node_id in running], timeout)
        return running

    def kill_node(self, node_id: int) -> int:
        """SIGKILL the JVM of node ``node_id`` (a crash: no controlled shutdown) and wait
        until it is gone; return its pid.

        Raises:
            BrokerError: that node is not running.
        """
        self._node(node_id)  # raises for an unknown node
        jvm = self._jvm(node_id)
        pid = jvm.running_pid()
        if pid is None:
            raise BrokerError(f"Node {node_id} of the cluster in {self.data_dir} is not running.")
        jvm.kill(pid)
        jvm.pid_file.unlink(missing_ok=True)
        log.info("Killed Kafka node %d (pid %d)", node_id, pid)
        return pid

    def start_node(self, node_id: int, timeout: float = 90.0) -> int:
        """Start node ``node_id`` again (after ``kill_node`` or a crash) and wait until it
        answers on its own port; return its pid. A running node is left as it is.

        Raises:
            BrokerError: the cluster was never started, its port is taken, it died during
                startup, or it did not answer within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        node = self._node(node_id)
        jvm = self._jvm(node_id)
        running = jvm.running_pid()
        if running is not None:
            return running
        if not read_json(self.state_file).get("formatted"):
            raise BrokerError(f"The cluster in {self.data_dir} was never started; start it first.")
        self._check_ports([node])
        pid = jvm.launch(find_java(), ensure_kafka_libs(self.cache_dir))
        log.info("Restarted Kafka node %d (pid %d) at %s", node_id, pid, node.bootstrap)
        try:
            self._wait_listed([node], [node], deadline, timeout, via=node.bootstrap)
        except BaseException:
            self._stop_nodes([node], 10.0)
            raise
        return pid

    # -- helpers -------------------------------------------------------------------------

    def _jvm(self, node_id: int) -> KafkaProcess:
        return KafkaProcess(self.node_dir(node_id), heap=_NODE_HEAP)

    def _node(self, node_id: int) -> NodeAddress:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise BrokerError(f"The cluster in {self.data_dir} has no node {node_id}.")

    def _credentials(self) -> dict[str, str]:
        try:
            return load_credentials(self.credentials_file)
        except CredentialsError as exc:
            raise BrokerError(f"The secure cluster of {self.data_dir} cannot run: {exc}") from None

    def _check_data_dir(self) -> dict[str, Any]:
        """The recorded state, after refusing a data dir of another kind, size or mode."""
        if (self.data_dir / "broker.json").exists() or (self.data_dir / "logs").exists():
            raise BrokerError(
                f"The data directory {self.data_dir} belongs to a single local broker; a "
                f"cluster needs its own. Choose another `--data` directory."
            )
        state = read_json(self.state_file)
        recorded_nodes = state.get("nodes")
        if isinstance(recorded_nodes, list) and len(recorded_nodes) != self.size:
            raise BrokerError(
                f"The data directory {self.data_dir} holds a cluster of {len(recorded_nodes)} "
                f"nodes, not {self.size}; use `--nodes {len(recorded_nodes)}` or another "
                f"`--data` directory."
            )
        recorded = state.get("secure")
        if state.get("formatted"):
            check_mode(
                self.data_dir,
                recorded_secure=recorded if isinstance(recorded, bool) else None,
                wanted_secure=self.secure,
            )
            first = self.nodes[0].port
            if first != self.port:
                raise BrokerError(
                    f"The cluster in {self.data_dir} uses ports from {first}, not "
                    f"{self.port}; start it with `--port {first}`."
                )
        return state

    def _plan(self, nodes: list[NodeAddress], state: dict[str, Any]) -> list[NodeAddress]:
        """The nodes with directory ids and free controller ports, recorded in
        ``cluster.json`` (kept as they are once the storage is formatted)."""
        if state.get("formatted"):
            return nodes
        clients = {self.port + i for i in range(self.size)}
        planned = []
        for i in range(1, self.size + 1):
            node = NodeAddress(i, self.port + i - 1, self.port + self.size + i - 1)
            controller = node.controller_port
            if controller in clients or not port_free(controller):
                controller = free_port()
                while controller in clients:
                    controller = free_port()
            planned.append(NodeAddress(node.node_id, node.port, controller, new_kafka_uuid()))
        write_json(
            self.state_file,
            {
                "nodes": [vars(n) for n in planned],
                "kafka_version": KAFKA_VERSION,
                "secure": self.secure,
                "formatted": False,
            },
        )
        return planned

    def _check_ports(self, nodes: list[NodeAddress]) -> None:
        for node in nodes:
            for port in (node.port, node.controller_port):
                if not port_free(port):
                    raise BrokerError(
                        f"Port {port} on {HOST} (node {node.node_id} of the cluster in "
                        f"{self.data_dir}) is already in use by another process. Free it, "
                        f"or choose another `--port` and `--data` directory."
                    )

    def _format(
        self,
        java: Path,
        libs: Path,
        nodes: list[NodeAddress],
        credentials: dict[str, str] | None,
    ) -> None:
        cluster_id = new_kafka_uuid()
        scram = scram_arguments(credentials) if credentials else []
        log.info("Formatting the KRaft storage of %d nodes (cluster id %s)", len(nodes), cluster_id)

        def format_node(node: NodeAddress) -> None:
            jvm = self._jvm(node.node_id)
            shutil.rmtree(jvm.log_dir, ignore_errors=True)  # a half-formatted earlier try
            jvm.format_storage(java, libs, format_arguments(cluster_id, nodes, scram))

        # One JVM each, a few seconds apiece: side by side they take the time of one.
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            for done in [pool.submit(format_node, node) for node in nodes]:
                done.result()
        if credentials is not None:
            write_credentials(self.credentials_file, credentials)
        state = read_json(self.state_file)
        write_json(self.state_file, {**state, "cluster_id": cluster_id, "formatted": True})

    def _wait_listed(
        self,
        nodes: list[NodeAddress],
        launched: list[NodeAddress],
        deadline: float,
        timeout: float,
        via: str | None = None,
    ) -> None:
        pids = {n.node_id: self._jvm(n.node_id).running_pid() for n in launched}

        def died() -> str | None:
            for node_id, pid in pids.items():
                jvm = self._jvm(node_id)
                if pid is None or not jvm.is_alive(pid):
                    return (
                        f"Kafka node {node_id} (pid {pid}) exited during startup. Last lines "
                        f"of {jvm.log_file}:\n{jvm.logtail()}"
                    )
            return None

        options = self.access().client_options() if self.secure else {}
        bootstrap = via or self.bootstrap
        wanted = {n.node_id for n in nodes}
        if not wait_for_brokers(
            bootstrap, wanted, died=died, deadline=deadline, client_options=options
        ):
            logs = "\n".join(
                f"{self._jvm(n.node_id).log_file}:\n{self._jvm(n.node_id).logtail()}"
                for n in launched or nodes
            )
            raise BrokerError(
                f"The Kafka cluster did not list nodes {sorted(wanted)} at {bootstrap} within "
                f"{timeout:g} s. Last lines of the logs:\n{logs}"
            )

    def _stop_nodes(self, nodes: list[NodeAddress], timeout: float) -> None:
        pids = {}
        for node in nodes:
            jvm = self._jvm(node.node_id)
            pid = jvm.running_pid()
            if pid is not None:
                log.info("Stopping Kafka node %d (pid %d)", node.node_id, pid)
                jvm.signal_term(pid)
                pids[node.node_id] = pid
        deadline = time.monotonic() + timeout
        for node_id, pid in pids.items():
            jvm = self._jvm(node_id)
            if not jvm.wait_exit(pid, max(0.0, deadline - time.monotonic())):
                log.warning("Kafka node %d (pid %d) ignored SIGTERM; killing it", node_id, pid)
                jvm.kill(pid)
            jvm.pid_file.unlink(missing_ok=True)
        for node in nodes:
            self._jvm(node.node_id).pid_file.unlink(missing_ok=True)
