"""A local, single-node Apache Kafka broker (KRaft, broker + controller in one JVM).

This is the project's embedded Kafka: the real Apache Kafka server, run from jars that
Maven resolves once from the pinned pom in ``deploy/kafka/pom.xml`` into the user's cache
directory. Nothing is mocked.

Layout of a data directory (default ``<user data dir>/broker-<port>``)::

    server.properties   generated at every start
    broker.log          stdout + stderr of the JVM (truncated at every start)
    broker.pid          pid of the running JVM (removed by ``stop``)
    broker.json         port, controller port and Kafka version of the last start
    logs/               Kafka's log.dirs (KRaft metadata + topic data)

The lifecycle is synchronous and blocking. Call it outside an event loop (for example
from a CLI command or a sync pytest fixture): ``start`` blocks the calling thread until the
broker answers, which would stall a running loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import platformdirs

from onestop.paths import DEPLOY_DIR

__all__ = [
    "CACHE_DIR_ENV",
    "DEFAULT_PORT",
    "KAFKA_VERSION",
    "LOG4J_CONFIG_PATH",
    "MIN_JAVA_VERSION",
    "POM_PATH",
    "BrokerError",
    "BrokerStatus",
    "JavaMissingError",
    "LocalBroker",
    "MavenMissingError",
    "default_cache_dir",
    "default_data_dir",
    "ensure_kafka_libs",
    "find_java",
    "free_port",
    "java_major_version",
]

#: Apache Kafka version of the local broker; must equal ``kafka.version`` in the pom.
KAFKA_VERSION = "4.1.1"
#: Oldest Java feature release that runs Kafka 4.x brokers.
MIN_JAVA_VERSION = 17
#: Environment variable overriding the cache directory holding the Kafka jars.
CACHE_DIR_ENV = "ONESTOP_CACHE_DIR"
#: Port of the broker when none is given.
DEFAULT_PORT = 9092
#: The broker binds and advertises this address only.
HOST = "127.0.0.1"

_DEPLOY_DIR = DEPLOY_DIR / "kafka"
#: Maven pom pinning the Kafka server jars (found relative to the package, editable install).
POM_PATH = _DEPLOY_DIR / "pom.xml"
#: Log4j2 configuration handed to the JVM.
LOG4J_CONFIG_PATH = _DEPLOY_DIR / "log4j2.yaml"

_MARKER_NAME = "libs.complete.json"
_JVM_HEAP = "-Xmx1g"
_LOG_TAIL_LINES = 20
_POLL_INTERVAL_S = 0.5
_KILL_WAIT_S = 10.0
_ALTERNATIVES = (
    "run Kafka with Docker (`docker compose up kafka`), or point `--bootstrap` / "
    "`ONESTOP_BOOTSTRAP` at an existing Kafka cluster"
)

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# JVMs started by this Python process, by pid. Polling the Popen reaps the child (no zombie
# left behind) and keeps Python from warning that a subprocess is still running.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class BrokerError(RuntimeError):
    """The local broker could not be started, probed or stopped."""


class JavaMissingError(BrokerError):
    """No Java 17+ runtime was found (``JAVA_HOME/bin/java`` or ``java`` on PATH)."""


class MavenMissingError(BrokerError):
    """``mvn`` is needed to fetch the Kafka jars (empty cache) but is not on PATH."""


@dataclass(frozen=True)
class BrokerStatus:
    """What ``LocalBroker.status`` found.

    Attributes:
        running: a JVM started by OneStop for this data directory is alive.
        pid: its process id (None when not running).
        bootstrap: the ``host:port`` clients use (the port of the running broker, else the
            configured one).
        data_dir: the broker's data directory.
    """

    running: bool
    pid: int | None
    bootstrap: str
    data_dir: Path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def default_cache_dir() -> Path:
    """Return the cache directory for the Kafka jars: ``$ONESTOP_CACHE_DIR`` or the user's."""
    override = os.environ.get(CACHE_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser().absolute()
    return Path(platformdirs.user_cache_dir("onestop"))


def default_data_dir(port: int) -> Path:
    """Return the default data directory of the broker on ``port``."""
    return Path(platformdirs.user_data_dir("onestop")) / f"broker-{port}"


def _java_problem_message(problem: str) -> str:
    return (
        f"Java {MIN_JAVA_VERSION} or newer is needed to run the local Kafka broker, but "
        f"{problem}. Install it (for example `apt-get install openjdk-17-jre-headless`, then "
        f"make sure `java` is on PATH or JAVA_HOME points to a JDK {MIN_JAVA_VERSION}+), or "
        f"{_ALTERNATIVES}."
    )


def java_major_version(java: Path | str) -> int | None:
    """Return the feature release of ``java`` (8 for "1.8.0_x", 17 for "17.0.15"), or None.

    Parses the ``version "..."`` part that ``java -version`` prints on stderr; None when the
    command cannot run or prints no version.
    """
    try:
        result = subprocess.run(
            [str(java), "-version"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def find_java() -> Path:
    """Return a Java 17+ executable: ``$JAVA_HOME/bin/java`` when present, else ``java`` on PATH.

    Raises:
        JavaMissingError: none found, or the one found is older than Java 17.
    """
    java: Path | None = None
    java_home = os.environ.get("JAVA_HOME", "").strip()
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            java = candidate
    if java is None:
        on_path = shutil.which("java")
        if on_path is not None:
            java = Path(on_path)
    if java is None:
        raise JavaMissingError(
            _java_problem_message("no `java` was found on PATH nor in JAVA_HOME/bin")
        )
    version = java_major_version(java)
    if version is None:
        raise JavaMissingError(
            _java_problem_message(f"the version of `{java}` could not be determined")
        )
    if version < MIN_JAVA_VERSION:
        raise JavaMissingError(_java_problem_message(f"`{java}` is Java {version}"))
    return java


def _kafka_root(cache_dir: Path) -> Path:
    return cache_dir / f"kafka-{KAFKA_VERSION}"


def _libs_complete(libs: Path) -> bool:
    """True when the marker written after a successful copy lists jars that all exist."""
    try:
        names = json.loads((libs.parent / _MARKER_NAME).read_text())["jars"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not isinstance(names, list) or not names:
        return False
    return all(isinstance(name, str) and (libs / name).is_file() for name in names)


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def ensure_kafka_libs(cache_dir: Path | None = None) -> Path:
    """Return the directory with the Kafka server jars, running Maven once if needed.

    The jars go to ``<cache_dir>/kafka-<version>/libs``; a marker file written after a
    successful copy makes later calls return at once without Maven.

    Raises:
        MavenMissingError: the cache is empty and ``mvn`` is not on PATH.
        BrokerError: the pom is missing or Maven failed.
    """
    root = _kafka_root(cache_dir if cache_dir is not None else default_cache_dir())
    libs = root / "libs"
    if _libs_complete(libs):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenMissingError(
            f"Apache Maven is needed once to download the Apache Kafka {KAFKA_VERSION} jars "
            f"into {libs}, but `mvn` was not found on PATH. Install it (for example "
            f"`apt-get install maven`), or {_ALTERNATIVES}."
        )
    if not POM_PATH.is_file():
        raise BrokerError(
            f"The Kafka pom {POM_PATH} is missing; install OneStop from its source tree "
            f"(`pip install -e .`), or {_ALTERNATIVES}."
        )
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f"libs.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    log.info("Fetching Apache Kafka %s jars with Maven into %s", KAFKA_VERSION, libs)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM_PATH),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    jars = sorted(path.name for path in staging.glob("*.jar"))
    if result.returncode != 0 or f"kafka_2.13-{KAFKA_VERSION}.jar" not in jars:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(
            f"Maven could not fetch the Apache Kafka {KAFKA_VERSION} jars (exit code "
            f"{result.returncode}); is Maven Central reachable? Last lines of its output:\n"
            + _tail(result.stdout + result.stderr)
        )
    if _libs_complete(libs):  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
        return libs
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    marker_tmp = root / f"{_MARKER_NAME}.{os.getpid()}"
    marker_tmp.write_text(json.dumps({"kafka_version": KAFKA_VERSION, "jars": jars}, indent=1))
    os.replace(marker_tmp, root / _MARKER_NAME)
    return libs


def _new_cluster_id() -> str:
    """A random Kafka cluster id: 16 random bytes, base64url without padding (22 chars)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):  # Kafka avoids ids that look like CLI flags
            return cluster_id


def _port_free(port: int) -> bool:
    """True when ``port`` can be bound on 127.0.0.1 (SO_REUSEADDR, as the JVM does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _port_open(port: int, timeout_s: float = 1.0) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _run_in_thread(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` with ``asyncio.run`` in a fresh thread (works with or without a loop here)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="onestop-broker-probe", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: _T = box["value"]
    return value


@contextmanager
def _quiet_aiokafka() -> Iterator[None]:
    """Silence aiokafka's connection errors while a starting broker is being probed."""
    logger = logging.getLogger("aiokafka")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


async def _describe_cluster(bootstrap: str, timeout_s: float) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="onestop-broker-probe",
        request_timeout_ms=max(1000, int(timeout_s * 1000)),
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        info = await asyncio.wait_for(admin.describe_cluster(), timeout_s)
        return bool(info.get("brokers"))
    finally:
        await admin.close()


def _answers_metadata(bootstrap: str, timeout_s: float) -> bool:
    """True when a Kafka metadata request to ``bootstrap`` lists at least one broker."""
    with _quiet_aiokafka():
        try:
            return _run_in_thread(_describe_cluster(bootstrap, timeout_s))
        except Exception:
            return False


def _server_properties(*, port: int, controller_port: int, log_dir: Path) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": log_dir.as_posix(),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        "offsets.topic.replication.factor": "1",
        # Fewer partitions for __consumer_offsets: the first consumer group is ready sooner.
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
    }
    lines = ["# Generated by `onestop broker start` at every start; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _process_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` from /proc (None: no such process or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[0] if fields else None


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid`` (or to ``pid`` alone)."""
    with suppress(ProcessLookupError):
        try:
            leads_group = os.getpgid(pid) == pid
        except ProcessLookupError:
            return
        if leads_group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


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
    ) -> None:
        """Describe the broker on ``port`` keeping its state in ``data_dir``.

        Args:
            port: client (PLAINTEXT) port on 127.0.0.1.
            data_dir: state directory; default ``<user data dir>/onestop/broker-<port>``.
            cache_dir: where the Kafka jars are cached; default ``$ONESTOP_CACHE_DIR`` or
                the user's cache directory.
        """
        self.port = port
        chosen = data_dir if data_dir is not None else default_data_dir(port)
        self.data_dir = chosen.expanduser().resolve()
        self.cache_dir = (cache_dir if cache_dir is not None else default_cache_dir()).absolute()

    # -- paths ---------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """The bootstrap address clients use: ``127.0.0.1:<port>``."""
        return f"{HOST}:{self.port}"

    @property
    def pid_file(self) -> Path:
        """File holding the pid of the running JVM."""
        return self.data_dir / "broker.pid"

    @property
    def state_file(self) -> Path:
        """JSON file with the port, controller port and Kafka version of the last start."""
        return self.data_dir / "broker.json"

    @property
    def log_file(self) -> Path:
        """stdout + stderr of the JVM."""
        return self.data_dir / "broker.log"

    @property
    def properties_file(self) -> Path:
        """The generated ``server.properties``."""
        return self.data_dir / "server.properties"

    @property
    def log_dir(self) -> Path:
        """Kafka's ``log.dirs`` (KRaft metadata and topic data)."""
        return self.data_dir / "logs"

    # -- public lifecycle ----------------------------------------------------------------

    def status(self) -> BrokerStatus:
        """Report whether a broker started by OneStop for this data dir is alive.

        Only the process is checked, not whether it answers requests yet.
        """
        pid = self._running_pid()
        port = self.port
        if pid is not None:
            recorded = self._read_state().get("port")
            if isinstance(recorded, int):
                port = recorded
        return BrokerStatus(
            running=pid is not None, pid=pid, bootstrap=f"{HOST}:{port}", data_dir=self.data_dir
        )

    def start(self, timeout: float = 90.0) -> str:
        """Start the broker (or reuse the running one) and return its bootstrap address.

        Fetches the jars with Maven when the cache is empty, formats the KRaft storage when
        the data dir is new, launches the JVM detached (own session, output to
        ``broker.log``) and waits until it answers a metadata request.

        Args:
            timeout: seconds to wait for the broker to answer.

        Raises:
            JavaMissingError: no Java 17+.
            MavenMissingError: no Maven while the jar cache is empty.
            BrokerError: port taken, JVM died during startup, or no answer within
                ``timeout`` (the JVM is then stopped).
        """
        deadline = time.monotonic() + timeout
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
        if not _port_free(self.port):
            raise BrokerError(
                f"Port {self.port} on {HOST} is already in use by another process. Choose "
                f"another `--port`, or if a Kafka broker listens there, point `--bootstrap` / "
                f"`ONESTOP_BOOTSTRAP` at {self.bootstrap}."
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        controller_port = self._choose_controller_port()
        self.properties_file.write_text(
            _server_properties(
                port=self.port, controller_port=controller_port, log_dir=self.log_dir
            )
        )
        classpath = f"{libs}{os.sep}*"
        log4j = f"-Dlog4j2.configurationFile={LOG4J_CONFIG_PATH}"
        if not (self.log_dir / "meta.properties").is_file():
            self._format_storage(java, classpath, log4j)
        self._write_state(
            {"port": self.port, "controller_port": controller_port, "kafka_version": KAFKA_VERSION}
        )
        command = [
            str(java),
            _JVM_HEAP,
            "-cp",
            classpath,
            log4j,
            "kafka.Kafka",
            str(self.properties_file),
        ]
        with self.log_file.open("wb") as out:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
        _CHILDREN[proc.pid] = proc
        self.pid_file.write_text(f"{proc.pid}\n")
        log.info(
            "Started Apache Kafka %s (pid %d) at %s; log: %s",
            KAFKA_VERSION,
            proc.pid,
            self.bootstrap,
            self.log_file,
        )
        try:
            self._wait_ready(proc.pid, deadline, timeout)
        except BaseException:
            self._terminate(proc.pid, _KILL_WAIT_S)
            self.pid_file.unlink(missing_ok=True)
            raise
        return self.bootstrap

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker: SIGTERM to its process group, SIGKILL after ``timeout`` seconds.

        Returns:
            True if a running broker was stopped, False if none was running.
        """
        pid = self._running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        log.info("Stopping the Kafka broker at %s (pid %d)", self.status().bootstrap, pid)
        self._terminate(pid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return True

    # -- helpers -------------------------------------------------------------------------

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=1) + "\n")
        os.replace(tmp, self.state_file)

    def _running_pid(self) -> int | None:
        pid = self._read_pid()
        if pid is not None and self._is_ours(pid):
            return pid
        return None

    def _is_ours(self, pid: int) -> bool:
        """True when ``pid`` is alive and is the JVM of this data dir (not a reused pid)."""
        child = _CHILDREN.get(pid)
        if child is not None:
            # Our own child: poll() reaps it once it exits. Its /proc cmdline is not checked,
            # it may still show the Python parent between fork and exec.
            if child.poll() is None:
                return True
            del _CHILDREN[pid]
            return False
        if not Path("/proc/self/cmdline").exists():  # no procfs: trust the pid file
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        if _process_state(pid) in (None, "Z", "X"):
            return False
        return os.fsencode(str(self.properties_file)) in args

    def _choose_controller_port(self) -> int:
        remembered = self._read_state().get("controller_port")
        if isinstance(remembered, int) and remembered != self.port and _port_free(remembered):
            return remembered
        if self.port < 65535 and _port_free(self.port + 1):
            return self.port + 1
        while True:
            port = free_port()
            if port != self.port:
                return port

    def _format_storage(self, java: Path, classpath: str, log4j: str) -> None:
        cluster_id = _new_cluster_id()
        log.info("Formatting KRaft storage in %s (cluster id %s)", self.log_dir, cluster_id)
        command = [
            str(java),
            "-Xmx256m",
            "-cp",
            classpath,
            log4j,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(self.properties_file),
            "--standalone",
        ]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            cwd=self.data_dir,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(
                f"Formatting the Kafka storage in {self.log_dir} failed (exit code "
                f"{result.returncode}):\n" + _tail(result.stdout + result.stderr)
            )

    def _log_tail(self) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return _tail(text) or "(empty log)"

    def _wait_ready(self, pid: int, deadline: float, timeout: float) -> None:
        """Block until the broker answers a metadata request; raise if it dies or times out."""
        while True:
            if not self._is_ours(pid):
                raise BrokerError(
                    f"The Kafka broker (pid {pid}) exited during startup. Last lines of "
                    f"{self.log_file}:\n{self._log_tail()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if _port_open(self.port) and _answers_metadata(
                self.bootstrap, min(10.0, max(1.0, remaining))
            ):
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL_INTERVAL_S)
        raise BrokerError(
            f"The Kafka broker (pid {pid}) did not answer at {self.bootstrap} within "
            f"{timeout:g} s. Last lines of {self.log_file}:\n{self._log_tail()}"
        )

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._is_ours(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def _terminate(self, pid: int, timeout: float) -> None:
        _signal_group(pid, signal.SIGTERM)
        if self._wait_exit(pid, timeout):
            return
        log.warning("The Kafka broker (pid %d) ignored SIGTERM for %g s; killing it", pid, timeout)
        _signal_group(pid, signal.SIGKILL)
        if not self._wait_exit(pid, _KILL_WAIT_S):
            raise BrokerError(f"The Kafka broker (pid {pid}) survived SIGKILL.")
