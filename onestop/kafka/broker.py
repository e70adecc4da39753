"""A local, single-node Apache Kafka broker (KRaft, broker + controller in one JVM).

This is the project's embedded Kafka: the real Apache Kafka server, run from jars that
Maven resolves once from the pinned pom in ``deploy/kafka/pom.xml`` into the user's cache
directory. Nothing is mocked. Three of them make the local cluster (``cluster.py``).

Layout of a data directory (default ``<user data dir>/broker-<port>``, and
``broker-<port>-secure`` for a secure one)::

    server.properties   generated at every start (mode 0600: a secure one holds a password)
    broker.log          stdout + stderr of the JVM (truncated at every start)
    broker.pid          pid of the running JVM (removed by ``stop``)
    broker.json         port, controller port, Kafka version and mode of the last start
    credentials.json    secure only: principal -> password (see ``secure.py``), mode 0600
    logs/               Kafka's log.dirs (KRaft metadata + topic data)

The lifecycle is synchronous and blocking. Call it outside an event loop (for example
from a CLI command or a sync pytest fixture): ``start`` blocks the calling thread until the
broker answers, which would stall a running loop.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import platformdirs

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

#: Port of the broker when none is given.
DEFAULT_PORT: Final = 9092
#: File describing a local cluster in its data directory (``cluster.py``); its presence
#: marks a directory a single broker must not use.
CLUSTER_FILE: Final = "cluster.json"

_KILL_WAIT_S = 10.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerStatus:
    """What ``LocalBroker.status`` found.

    Attributes:
        running: a JVM started by OneStop for this data directory is alive.
        pid: its process id (None when not running).
        bootstrap: the ``host:port`` clients use (the port of the running broker, else the
            configured one).
        data_dir: the broker's data directory.
        secure: the data directory is (or will be, when new) a secure one.
        credentials: its ``credentials.json`` when secure, else None.
    """

    running: bool
    pid: int | None
    bootstrap: str
    data_dir: Path
    secure: bool = False
    credentials: Path | None = None


def default_data_dir(port: int, *, secure: bool = False) -> Path:
    """Return the default data directory of the broker on ``port``."""
    suffix = "-secure" if secure else ""
    return Path(platformdirs.user_data_dir("onestop")) / f"broker-{port}{suffix}"


class LocalBroker:
    """One local Kafka broker+controller bound to 127.0.0.1, managed through its data dir.

    Several instances for the same data directory see the same broker: the pid file and the
    JVM's command line (which names this directory's ``server.properties``) identify it.
    All methods block; call them outside a running event loop.
    """

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        data_dir: Path | None = None,
        cache_dir: Path | None = None,
        *,
        secure: bool = False,
    ) -> None:
        """Describe the broker on ``port`` keeping its state in ``data_dir``.

        Args:
            port: client port on 127.0.0.1.
            data_dir: state directory; default ``<user data dir>/onestop/broker-<port>``
                (``broker-<port>-secure`` when secure).
            cache_dir: where the Kafka jars are cached; default ``$ONESTOP_CACHE_DIR`` or
                the user's cache directory.
            secure: SASL_PLAINTEXT with SCRAM-SHA-512 and ACLs (see ``properties.py``).
        """
        self.port = port
        self.secure = secure
        chosen = data_dir if data_dir is not None else default_data_dir(port, secure=secure)
        self.data_dir = chosen.expanduser().resolve()
        self.cache_dir = (cache_dir if cache_dir is not None else default_cache_dir()).absolute()
        self._jvm = KafkaProcess(self.data_dir)

    # -- paths ---------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """The bootstrap address clients use: ``127.0.0.1:<port>``."""
        return f"{HOST}:{self.port}"

    @property
    def pid_file(self) -> Path:
        """File holding the pid of the running JVM."""
        return self._jvm.pid_file

    @property
    def state_file(self) -> Path:
        """JSON file with the port, controller port, Kafka version and mode of the last
        start."""
        return self.data_dir / "broker.json"

    @property
    def log_file(self) -> Path:
        """stdout + stderr of the JVM."""
        return self._jvm.log_file

    @property
    def properties_file(self) -> Path:
        """The generated ``server.properties``."""
        return self._jvm.properties_file

    @property
    def log_dir(self) -> Path:
        """Kafka's ``log.dirs`` (KRaft metadata and topic data)."""
        return self._jvm.log_dir

    @property
    def credentials_file(self) -> Path:
        """``credentials.json`` of a secure broker (principal -> password)."""
        return self.data_dir / CREDENTIALS_FILE

    def access(self, principal: str = ADMIN) -> KafkaAccess:
        """How a client reaches this broker as ``principal`` (plain: no principal).

        Raises:
            BrokerError: secure, and ``credentials.json`` is missing or malformed.
            schemas.access.CredentialsError: it names no such principal.
        """
        if not self.secure:
            return KafkaAccess(self.bootstrap)
        return KafkaAccess.for_principal(self.bootstrap, self._credentials(), principal)

    # -- public lifecycle ----------------------------------------------------------------

    def status(self) -> BrokerStatus:
        """Report whether a broker started by OneStop for this data dir is alive.

        Only the process is checked, not whether it answers requests yet.
        """
        pid = self._jvm.running_pid()
        port = self.port
        state = read_json(self.state_file)
        if pid is not None and isinstance(state.get("port"), int):
            port = state["port"]
        recorded = state.get("secure")
        secure = recorded if isinstance(recorded, bool) else self.secure
        return BrokerStatus(
            running=pid is not None,
            pid=pid,
            bootstrap=f"{HOST}:{port}",
            data_dir=self.data_dir,
            secure=secure,
            credentials=self.credentials_file if secure else None,
        )

    def start(self, timeout: float = 90.0) -> str:
        """Start the broker (or reuse the running one) and return its bootstrap address.

        Fetches the jars with Maven when the cache is empty, formats the KRaft storage when
        the data dir is new (creating the SCRAM users and ``credentials.json`` when
        secure), launches the JVM detached (own session, output to ``broker.log``) and
        waits until it answers a metadata request.

        Args:
            timeout: seconds to wait for the broker to answer.

        Raises:
            JavaMissingError: no Java 17+.
            MavenMissingError: no Maven while the jar cache is empty.
            BrokerError: port taken, data dir of the other mode (secure or plain), JVM died
                during startup, or no answer within ``timeout`` (the JVM is then stopped).
        """
        deadline = time.monotonic() + timeout
        if (self.data_dir / CLUSTER_FILE).exists():
            raise BrokerError(
                f"The data directory {self.data_dir} belongs to a local cluster (`--nodes`); "
                f"a single broker needs its own. Choose another `--data` directory."
            )
        state = read_json(self.state_file)
        recorded = state.get("secure")
        if self._jvm.formatted or recorded is not None:
            check_mode(
                self.data_dir,
                recorded_secure=recorded if isinstance(recorded, bool) else None,
                wanted_secure=self.secure,
            )
        current = self.status()
        if current.running and current.pid is not None:
            if current.bootstrap != self.bootstrap:
                raise BrokerError(
                    f"The local Kafka broker for {self.data_dir} already runs at "
                    f"{current.bootstrap} (pid {current.pid}); use that address or stop it "
                    f"first (`onestop broker stop --data {self.data_dir}`)."
                )
            log.info("Reusing the Kafka broker at %s (pid %d)", self.bootstrap, current.pid)
            self._wait_ready(current.pid, deadline, timeout)
            return self.bootstrap
        self.pid_file.unlink(missing_ok=True)

        java = find_java()
        libs = ensure_kafka_libs(self.cache_dir)
        if not port_free(self.port):
            raise BrokerError(
                f"Port {self.port} on {HOST} is already in use by another process. Choose "
                f"another `--port`, or if a Kafka broker listens there, point `--bootstrap` / "
                f"`ONESTOP_BOOTSTRAP` at {self.bootstrap}."
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        node = NodeAddress(1, self.port, self._choose_controller_port())
        fresh = not self._jvm.formatted
        credentials = new_credentials() if self.secure and fresh else None
        if self.secure and credentials is None:
            credentials = self._credentials()
        password = admin_password(credentials, self.credentials_file) if credentials else None
        self._jvm.write_properties(
            server_properties(node, [node], self.log_dir, admin_password=password)
        )
        if fresh:
            cluster_id = new_kafka_uuid()
            log.info("Formatting KRaft storage in %s (cluster id %s)", self.log_dir, cluster_id)
            scram = scram_arguments(credentials) if credentials else []
            self._jvm.format_storage(java, libs, format_arguments(cluster_id, [node], scram))
            if credentials is not None:
                write_credentials(self.credentials_file, credentials)
        if self.secure:
            log.info("Credentials of the secure broker: %s", self.credentials_file)
        write_json(
            self.state_file,
            {
                "port": self.port,
                "controller_port": node.controller_port,
                "kafka_version": KAFKA_VERSION,
                "secure": self.secure,
            },
        )
        pid = self._jvm.launch(java, libs)
        log.info(
            "Started Apache Kafka %s (pid %d) at %s; log: %s",
            KAFKA_VERSION,
            pid,
            self.bootstrap,
            self.log_file,
        )
        try:
            self._wait_ready(pid, deadline, timeout)
        except BaseException:
            self._jvm.terminate(pid, _KILL_WAIT_S)
            self.pid_file.unlink(missing_ok=True)
            raise
        return self.bootstrap

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker: SIGTERM to its process group, SIGKILL after ``timeout`` seconds.

        Returns:
            True if a running broker was stopped, False if none was running.
        """
        pid = self._jvm.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        log.info("Stopping the Kafka broker at %s (pid %d)", self.status().bootstrap, pid)
        self._jvm.terminate(pid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return True

    # -- helpers -------------------------------------------------------------------------

    def _choose_controller_port(self) -> int:
        remembered = read_json(self.state_file).get("controller_port")
        if isinstance(remembered, int) and remembered != self.port and port_free(remembered):
            return remembered
        if self.port < 65535 and port_free(self.port + 1):
            return self.port + 1
        while True:
            port = free_port()
            if port != self.port:
                return port

    def _credentials(self) -> dict[str, str]:
        try:
            return load_credentials(self.credentials_file)
        except CredentialsError as exc:
            raise BrokerError(f"The secure broker of {self.data_dir} cannot run: {exc}") from None

    def _client_options(self) -> dict[str, Any]:
        return self.access().client_options() if self.secure else {}

    def _wait_ready(self, pid: int, deadline: float, timeout: float) -> None:
        """Block until the broker answers a metadata request; raise if it dies or times out."""

        def died() -> str | None:
            if self._jvm.is_alive(pid):
                return None
            return (
                f"The Kafka broker (pid {pid}) exited during startup. Last lines of "
                f"{self.log_file}:\n{self._jvm.logtail()}"
            )

        ready = wait_for_brokers(
            self.bootstrap,
            {1},
            died=died,
            deadline=deadline,
            client_options=self._client_options(),
        )
        if not ready:
            raise BrokerError(
                f"The Kafka broker (pid {pid}) did not answer at {self.bootstrap} within "
                f"{timeout:g} s. Last lines of {self.log_file}:\n{self._jvm.logtail()}"
            )
