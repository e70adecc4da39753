"""A local Apache Kafka cluster: several KRaft nodes (broker + controller in each JVM) on
127.0.0.1, from the same jars as the single broker (``broker.py``).

The controller quorum is bootstrapped dynamically (KIP-853): every node is formatted with
the same ``--initial-controllers`` list (node id, controller endpoint, directory id) and
finds the others through ``controller.quorum.bootstrap.servers``. Kafka 4.1.1 supports both
this and a static ``controller.quorum.voters``; the dynamic quorum is the one the single
broker already uses (``--standalone``), it is what Kafka 4 documents first, and it lets
controllers be added or removed later with ``kafka-metadata-quorum``. The data directory
and its ``cluster.json`` are described in ``cluster_dir.py``.

With three nodes, topics get replication factor 3 and ``min.insync.replicas=2``
(``properties.replication_for``), so one node may die without losing an acknowledged
write or stopping producers that use ``acks=all``. ``kill_node`` and ``start_node`` let a
test crash one node and bring it back. All methods block; call them outside a running
event loop (from async code: ``asyncio.to_thread``).
"""

from __future__ import annotations

import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

from onestop.kafka.broker import DEFAULT_PORT
from onestop.kafka.cluster_dir import ClusterDir, ClusterStatus, NodeStatus, default_cluster_dir
from onestop.kafka.errors import BrokerError
from onestop.kafka.jars import KAFKA_VERSION, default_cache_dir, ensure_kafka_libs
from onestop.kafka.java import find_java
from onestop.kafka.jvm import KafkaProcess, new_kafka_uuid
from onestop.kafka.probe import wait_for_brokers
from onestop.kafka.properties import NodeAddress, format_arguments, server_properties
from onestop.kafka.secure import (
    admin_password,
    new_credentials,
    scram_arguments,
    write_credentials,
)
from schemas.access import ADMIN, CredentialsError, KafkaAccess, load_credentials

__all__ = ["CLUSTER_NODES", "ClusterStatus", "LocalCluster", "NodeStatus", "default_cluster_dir"]

#: Nodes of ``onestop broker start --nodes`` when more than one is asked for.
CLUSTER_NODES: Final = 3
_NODE_HEAP = "-Xmx512m"
_STOP_ON_FAILURE_S = 10.0

log = logging.getLogger(__name__)


class LocalCluster:
    """A local KRaft cluster of ``nodes`` broker+controller JVMs, managed through its data
    directory. Node ``i`` (1-based) listens for clients on ``port + i - 1`` from its first
    start on.
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
            nodes: how many nodes (each is a broker and a controller), 2 or more.
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
        self._dir = ClusterDir(self.data_dir, nodes, port)

    @property
    def nodes(self) -> list[NodeAddress]:
        """Every node's address (as recorded in ``cluster.json`` once started)."""
        return self._dir.nodes()

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:p1,127.0.0.1:p2,...``: every node's client address."""
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def credentials_file(self) -> Path:
        """``credentials.json`` of a secure cluster (principal -> password)."""
        return self._dir.credentials_file

    def node_dir(self, node_id: int) -> Path:
        """The directory of node ``node_id``."""
        return self._dir.node_dir(node_id)

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
        recorded = self._dir.recorded_secure()
        secure = self.secure if recorded is None else recorded
        nodes = []
        for node in self.nodes:
            pid = self._jvm(node.node_id).running_pid()
            running = pid is not None
            nodes.append(
                NodeStatus(node.node_id, running, pid, node.bootstrap, self.node_dir(node.node_id))
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
        self._dir.check(secure=self.secure)
        waiting = [n for n in self.nodes if self._jvm(n.node_id).running_pid() is None]
        if not waiting:
            log.info("Reusing the Kafka cluster at %s", self.bootstrap)
            self._wait_listed(self.nodes, [], deadline, timeout)
            return self.bootstrap
        java = find_java()
        libs = ensure_kafka_libs(self.cache_dir)
        fresh = not self._dir.formatted
        nodes = self._dir.plan(secure=self.secure)
        if fresh:
            waiting = nodes
        self._dir.check_ports(waiting)
        credentials = new_credentials() if self.secure and fresh else None
        if self.secure and credentials is None:
            credentials = self._credentials()
        password = admin_password(credentials, self.credentials_file) if credentials else None
        for node in nodes:
            jvm = self._jvm(node.node_id)
            jvm.write_properties(
                server_properties(node, nodes, jvm.log_dir, admin_password=password)
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
            self._stop_nodes(launched, _STOP_ON_FAILURE_S)
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
            BrokerError: no such node, or it is not running.
        """
        self._node(node_id)
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
            BrokerError: no such node, the cluster was never started, the node's port is
                taken, it died during startup, or it did not answer within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        node = self._node(node_id)
        jvm = self._jvm(node_id)
        running = jvm.running_pid()
        if running is not None:
            return running
        if not self._dir.formatted:
            raise BrokerError(f"The cluster in {self.data_dir} was never started; start it first.")
        self._dir.check_ports([node])
        pid = jvm.launch(find_java(), ensure_kafka_libs(self.cache_dir))
        log.info("Restarted Kafka node %d (pid %d) at %s", node_id, pid, node.bootstrap)
        try:
            self._wait_listed([node], [node], deadline, timeout, via=node.bootstrap)
        except BaseException:
            self._stop_nodes([node], _STOP_ON_FAILURE_S)
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
        self._dir.mark_formatted(cluster_id)

    def _wait_listed(
        self,
        nodes: list[NodeAddress],
        launched: list[NodeAddress],
        deadline: float,
        timeout: float,
        via: str | None = None,
    ) -> None:
        """Block until the metadata (from ``via``, default every node) lists ``nodes``;
        raise if one of ``launched`` dies or the deadline passes."""
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
        """SIGTERM every one of ``nodes`` at once, SIGKILL those still alive after
        ``timeout`` seconds."""
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
        for node in nodes:
            self._jvm(node.node_id).pid_file.unlink(missing_ok=True)
