"""The services a benchmark measures, each in processes of its own: the raw passthrough,
the plain Faust peer, and one or more hub workers on an input path."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Final

from onestop.bench import faust_peer
from onestop.bench.report import DEFAULT_PATH as DEFAULT_HUB_INPUT
from onestop.kafka.services import ServiceProcess, hub_process
from schemas.enums import Country
from schemas.topics import Topics

HUB_INPUTS: Final = (DEFAULT_HUB_INPUT, "batch")  # `onestop hub --input`, default first


def passthrough_process(bootstrap: str, topics: Topics, workdir: Path) -> ServiceProcess:
    """`python -m onestop.bench.passthrough` for `topics`."""
    argv = [
        sys.executable, "-m", "onestop.bench.passthrough",
        "--bootstrap", bootstrap,
        "--namespace", topics.namespace,
        "--partitions", str(topics.partitions),
    ]  # fmt: skip
    return ServiceProcess("passthrough", argv, workdir / f"passthrough-{topics.namespace}.log")


def faust_peer_process(
    bootstrap: str, topics: Topics, workdir: Path, parties: Sequence[Country]
) -> ServiceProcess:
    """`python -m onestop.bench.faust_peer` for `topics`, reading the outboxes of `parties`."""
    argv = [
        sys.executable, "-m", "onestop.bench.faust_peer",
        "--bootstrap", bootstrap,
        "--namespace", topics.namespace,
        "--partitions", str(topics.partitions),
        "--parties", ",".join(p.value for p in parties),
        "--data-dir", str(workdir / f"faust-peer-{topics.namespace}"),
    ]  # fmt: skip
    return ServiceProcess("Faust peer", argv, workdir / f"faust-peer-{topics.namespace}.log")


def faust_peer_group(topics: Topics) -> str:
    """The consumer group of the Faust peer for `topics`."""
    return faust_peer.group_id(topics)


def passthrough_group(topics: Topics) -> str:
    """The consumer group of the passthrough for `topics`."""
    return f"{topics.namespace}-passthrough"


@cache
def hub_inputs_available() -> tuple[str, ...]:
    """The input paths this checkout's `onestop hub` offers: ("stream",) until it has an
    `--input` option, then both."""
    completed = subprocess.run(
        [sys.executable, "-m", "onestop", "hub", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"},
    )
    return HUB_INPUTS if "--input" in completed.stdout else (DEFAULT_HUB_INPUT,)


def hub_input_arguments(path: str) -> list[str]:
    """The `onestop hub` arguments for input `path`: `--input PATH` (over whatever
    ONESTOP_HUB_INPUT says), or none for the default path of a hub without `--input`."""
    if len(hub_inputs_available()) == 1 and path == DEFAULT_HUB_INPUT:
        return []
    return ["--input", path]


@dataclass
class Processes:
    """The processes of one service under test (a hub's workers, or a single one)."""

    processes: list[ServiceProcess] = field(default_factory=list)

    @property
    def name(self) -> str:
        """What they are, e.g. "hub" or "hub (2 workers)"."""
        if len(self.processes) == 1:
            return self.processes[0].name
        return (
            f"{self.processes[0].name if self.processes else '?'} ({len(self.processes)} workers)"
        )

    def cpu_seconds(self) -> float | None:
        """CPU seconds of all workers so far; None when one is not running."""
        readings = [process.cpu_seconds() for process in self.processes]
        if not readings or any(reading is None for reading in readings):
            return None
        return sum(reading for reading in readings if reading is not None)

    def exited(self) -> ServiceProcess | None:
        """A worker that has ended, if any."""
        return next((p for p in self.processes if p.exit_code() is not None), None)


@contextmanager
def running(process: ServiceProcess) -> Iterator[Processes]:
    """Start `process`, stop it at the end."""
    with process:
        yield Processes([process])


@contextmanager
def hub_workers(
    bootstrap: str,
    topics: Topics,
    workdir: Path,
    parties: Sequence[Country],
    *,
    count: int = 1,
    path: str = DEFAULT_HUB_INPUT,
) -> Iterator[Processes]:
    """Start `count` hub workers for `topics` on input `path`, each with its own state
    directory and log under `workdir`; stop them all at the end."""
    workers = Processes()
    extra = hub_input_arguments(path)
    with ExitStack() as stack:
        for number in range(1, count + 1):
            made = hub_process(
                bootstrap, topics, workdir / f"hub-{path}-{number}", parties=parties, extra=extra
            )
            workers.processes.append(stack.enter_context(made))
        yield workers
