"""The services a benchmark measures, each in processes of its own: the raw passthrough,
the plain Faust peer, and one or more hub workers on an input path."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from onestop.bench import faust_peer
from onestop.kafka.services import ServiceProcess, hub_process
from schemas.enums import Country
from schemas.topics import Topics
from streams.settings import DEFAULT_INPUT, InputPath

# `onestop hub --input`, the default first.
HUB_INPUTS: Final = (DEFAULT_INPUT, *(path for path in InputPath if path is not DEFAULT_INPUT))


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


def hub_input_arguments(path: str) -> list[str]:
    """The `onestop hub` arguments for input `path` (over whatever ONESTOP_HUB_INPUT says)."""
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
    path: str = DEFAULT_INPUT.value,
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
