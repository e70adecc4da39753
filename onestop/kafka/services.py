"""OneStop services run as subprocesses (a hub, a passthrough), with their logs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Final

from onestop.kafka.probe import free_port
from schemas.enums import Country
from schemas.topics import Topics

STOP_SECONDS: Final = 30.0


class ServiceError(RuntimeError):
    """A hub or passthrough subprocess failed; the message ends with its log's tail."""


class ServiceProcess:
    """A OneStop service (hub or passthrough) in a subprocess, its output in a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> ServiceProcess:
        """Start it; returns at once."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return self

    def cpu_seconds(self) -> float | None:
        """User and system CPU seconds the process has used so far, all its threads
        (from /proc, so Linux only); None when it is not running or not on Linux."""
        if self.process is None or self.process.poll() is not None:
            return None
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def exit_code(self) -> int | None:
        """The exit code once it has ended, else None."""
        return self.process.poll() if self.process is not None else None

    def stop(self, wait_seconds: float = STOP_SECONDS) -> None:
        """SIGTERM, then SIGKILL after `wait_seconds`."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(wait_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 25) -> str:
        """The last `lines` lines it printed."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def hub_process(
    bootstrap: str,
    topics: Topics,
    workdir: Path,
    *,
    parties: Sequence[Country] | None = None,
    web_port: int | None = None,
    extra: Sequence[str] = (),
) -> ServiceProcess:
    """`onestop hub` for `topics` (and only `parties`' outboxes when given), web port
    chosen free unless given, state and log under `workdir`."""
    argv = [
        sys.executable, "-m", "onestop", "hub",
        "--bootstrap", bootstrap,
        "--namespace", topics.namespace,
        "--partitions", str(topics.partitions),
        "--web-port", str(web_port or free_port()),
        "--data-dir", str(workdir / "hub-data"),
        *(["--parties", ",".join(p.value for p in parties)] if parties else []),
        *extra,
    ]  # fmt: skip
    return ServiceProcess("hub", argv, workdir / f"hub-{topics.namespace}.log")
