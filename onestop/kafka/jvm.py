"""One Kafka server JVM run from a directory: its ``server.properties``, log and pid file.

Both the single local broker (``broker.py``) and each node of the local cluster
(``cluster.py``) are one of these. A directory holds::

    server.properties   written by the owner before every start
    broker.log          stdout + stderr of the JVM (truncated at every start)
    broker.pid          pid of the running JVM (removed by ``stop``)
    logs/               Kafka's log.dirs (KRaft metadata + topic data)

All methods block; call them outside a running event loop.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, Final

from onestop.kafka.errors import BrokerError, tail
from onestop.kafka.jars import LOG4J_CONFIG_PATH

#: Heap of one JVM when nothing else is asked for.
DEFAULT_HEAP: Final = "-Xmx1g"
_TOOL_HEAP = "-Xmx256m"
_KILL_WAIT_S = 10.0

log = logging.getLogger(__name__)

# JVMs started by this Python process, by pid. Polling the Popen reaps the child (no zombie
# left behind) and keeps Python from warning that a subprocess is still running.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def new_kafka_uuid() -> str:
    """A random Kafka Uuid (cluster id, directory id): 16 random bytes, base64url without
    padding (22 chars)."""
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not value.startswith("-"):  # Kafka avoids ids that look like CLI flags
            return value


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or {} when it is missing or not an object."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_json(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=1) + "\n")
    os.replace(tmp, path)


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


class KafkaProcess:
    """The Kafka JVM of one directory (``home``), identified by its pid file and by the
    ``server.properties`` path on its command line (so a reused pid is not mistaken for it).
    """

    def __init__(self, home: Path, heap: str = DEFAULT_HEAP) -> None:
        self.home = home
        self.heap = heap

    @property
    def pid_file(self) -> Path:
        """File holding the pid of the running JVM."""
        return self.home / "broker.pid"

    @property
    def log_file(self) -> Path:
        """stdout + stderr of the JVM."""
        return self.home / "broker.log"

    @property
    def properties_file(self) -> Path:
        """The generated ``server.properties``."""
        return self.home / "server.properties"

    @property
    def log_dir(self) -> Path:
        """Kafka's ``log.dirs`` (KRaft metadata and topic data)."""
        return self.home / "logs"

    @property
    def formatted(self) -> bool:
        """True once ``kafka-storage format`` has prepared ``log_dir``."""
        return (self.log_dir / "meta.properties").is_file()

    def write_properties(self, text: str) -> None:
        """Write ``server.properties`` readable by the owner only (it may hold a password)."""
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.properties_file.with_suffix(".properties.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.properties_file)

    def running_pid(self) -> int | None:
        """The pid of this directory's live JVM, or None."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if self.is_alive(pid) else None

    def is_alive(self, pid: int) -> bool:
        """True when ``pid`` is alive and is the JVM of this directory (not a reused pid)."""
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

    def format_storage(self, java: Path, libs: Path, args: Sequence[str]) -> None:
        """Run ``kafka.tools.StorageTool format -c server.properties <args>``.

        Raises:
            BrokerError: the tool failed; the message ends with its output.
        """
        command = [
            *self._java_command(java, libs, _TOOL_HEAP),
            "kafka.tools.StorageTool",
            "format",
            "-c",
            str(self.properties_file),
            *args,
        ]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            cwd=self.home,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(
                f"Formatting the Kafka storage in {self.log_dir} failed (exit code "
                f"{result.returncode}):\n" + tail(result.stdout + result.stderr)
            )

    def launch(self, java: Path, libs: Path) -> int:
        """Start the JVM detached (own session, output to ``broker.log``); return its pid."""
        command = [*self._java_command(java, libs, self.heap), "kafka.Kafka"]
        command.append(str(self.properties_file))
        with self.log_file.open("wb") as out:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                start_new_session=True,
            )
        _CHILDREN[proc.pid] = proc
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def terminate(self, pid: int, timeout: float) -> None:
        """SIGTERM to the JVM's process group, SIGKILL after ``timeout`` seconds.

        Raises:
            BrokerError: it survived SIGKILL.
        """
        _signal_group(pid, signal.SIGTERM)
        if self.wait_exit(pid, timeout):
            return
        log.warning("The Kafka broker (pid %d) ignored SIGTERM for %g s; killing it", pid, timeout)
        self.kill(pid)

    def kill(self, pid: int) -> None:
        """SIGKILL the JVM's process group and wait until it is gone.

        Raises:
            BrokerError: it survived SIGKILL.
        """
        _signal_group(pid, signal.SIGKILL)
        if not self.wait_exit(pid, _KILL_WAIT_S):
            raise BrokerError(f"The Kafka broker (pid {pid}) survived SIGKILL.")

    def signal_term(self, pid: int) -> None:
        """Send SIGTERM and return at once (to stop several JVMs together)."""
        _signal_group(pid, signal.SIGTERM)

    def wait_exit(self, pid: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the JVM to exit; True once it has."""
        deadline = time.monotonic() + timeout
        while self.is_alive(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def logtail(self) -> str:
        """The last lines of ``broker.log``, for an error message."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return tail(text) or "(empty log)"

    def _java_command(self, java: Path, libs: Path, heap: str) -> list[str]:
        return [
            str(java),
            heap,
            "-cp",
            f"{libs}{os.sep}*",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG_PATH}",
        ]
