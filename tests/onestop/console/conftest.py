"""A real console for the tests of this package: `onestop console` in a subprocess on a
free port, in the test's namespace, with the codes it printed."""

from __future__ import annotations

import re
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from onestop.kafka.probe import free_port
from onestop.kafka.services import ServiceProcess

CODE = re.compile(r"(trainer|observer) code:\s+(\S+)")


@dataclass
class RunningConsole:
    """A console subprocess, where it listens and the codes it printed."""

    url: str
    trainer_code: str
    observer_code: str
    process: ServiceProcess
    reports: Path

    def log(self) -> str:
        return self.process.log_tail(200)


def start_console(bootstrap: str, namespace: str, workdir: Path, *extra: str) -> RunningConsole:
    """Start `onestop console` (with `extra` arguments) and wait until it answers."""
    port = free_port()
    reports = workdir / "reports"
    argv = [
        sys.executable, "-m", "onestop", "console",
        "--bootstrap", bootstrap,
        "--namespace", namespace,
        "--port", str(port),
        "--reports", str(reports),
        *extra,
    ]  # fmt: skip
    process = ServiceProcess("console", argv, workdir / "console.log").start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/openapi.json", timeout=2):
                break
        except OSError:
            if process.exit_code() is not None or time.monotonic() > deadline:
                process.stop()
                raise RuntimeError(f"the console did not start:\n{process.log_tail(50)}") from None
            time.sleep(0.2)
    codes = dict(CODE.findall(process.log_path.read_text()))
    return RunningConsole(url, codes["trainer"], codes["observer"], process, reports)


@pytest.fixture
def console(bootstrap: str, namespace: str, tmp_path: Path) -> Iterator[RunningConsole]:
    """A console in the test's namespace, stopped at the end."""
    running = start_console(bootstrap, namespace, tmp_path)
    try:
        yield running
    finally:
        running.process.stop()
