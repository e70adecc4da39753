"""The benchmark behind `onestop bench`: one broker, one load generator, one service after
the other, each in a namespace of its own.

1. The hub on each input path asked for (`onestop hub --input batch|stream|pipelined`): its max
   rate, then runs at half that rate, each from an idle hub (its group's lag back to 0,
   then a settle period), for latency (median and spread of the runs) and the hub's CPU per message.
2. Scale-out: the hub's max rate with more workers in one namespace.
3. The plain Faust peer (`onestop.bench.faust_peer`) and 4. the raw passthrough
   (`onestop.bench.passthrough`): max rate, then one run from idle at half of it for CPU
   per message. Each service's CPU is read at half its own max, as the hub's: the same
   share of its capacity, and at a low rate the passthrough's fixed cost (a fetch every
   5 ms, busy or not) would make up most of its figure. The raw passthrough then runs as
   many times as the hub did at the hub's rate, from idle: the latency floor, what the
   generator, the broker and the machine take at that rate without the hub.
5. Memory per open request and the cost of finding due deadlines, in a fresh interpreter
   (`onestop.bench.capacity`).

The report is `onestop.bench.report.BenchReport`; `onestop.bench.render` prints it and
appends its row to BENCHMARKS.md. `onestop load` is `onestop.bench.load_run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from onestop.bench.capacity import DEFAULT_REQUESTS, CapacityReport
from onestop.bench.load_run import drive_load, run_load_against_hub
from onestop.bench.measure import Plan, Progress, half, measure_service
from onestop.bench.namespaces import (
    delete_namespace_topics,
    fresh_namespace,
    hub_is_running,
    kafka_version_for,
)
from onestop.bench.processes import (
    HUB_INPUTS,
    Processes,
    faust_peer_group,
    faust_peer_process,
    hub_workers,
    passthrough_group,
    passthrough_process,
    running,
)
from onestop.bench.render import write_json
from onestop.bench.report import BenchReport, Measured
from onestop.kafka.services import ServiceError
from onestop.kafka.topics import ensure_topics
from producers.load.machine import describe_machine
from producers.load.results import LoadStep
from producers.load.settings import LoadError, LoadSettings, load_nodes
from schemas.enums import Country
from schemas.topics import Topics

__all__ = [  # what other packages import from here
    "BenchOptions",
    "drive_load",
    "fresh_namespace",
    "hub_is_running",
    "run_bench",
    "run_load_against_hub",
    "write_json",
]

CAPACITY_SECONDS: Final = 600.0


@dataclass(frozen=True)
class BenchOptions:
    """What to measure and for how long (seconds): `runs` runs of `run_seconds` at half
    the hub's max, each after its backlog drained and `settle_seconds`; max-rate search
    steps of `step_seconds`; the hub on each of `hub_inputs`; its max with each of
    `workers` worker counts; memory over `capacity_requests` open requests."""

    run_seconds: float = 30.0
    runs: int = 3
    settle_seconds: float = 10.0
    step_seconds: float = 5.0
    nodes: int = 4
    hub_inputs: tuple[str, ...] = HUB_INPUTS
    workers: tuple[int, ...] = (1, 2)
    capacity_requests: int = DEFAULT_REQUESTS

    def __post_init__(self) -> None:
        unknown = [path for path in self.hub_inputs if path not in HUB_INPUTS]
        if unknown or not self.hub_inputs:
            raise LoadError(
                f"hub input {', '.join(unknown) or '(none)'}: give one or more of "
                f"{', '.join(HUB_INPUTS)}"
            )
        if not self.workers or min(self.workers) < 1:
            raise LoadError(f"workers {self.workers}: give counts of at least 1")
        if self.runs < 1:
            raise LoadError(f"runs {self.runs}: at least one latency run is needed")


def measure_capacity_subprocess(workdir: Path, requests: int = DEFAULT_REQUESTS) -> CapacityReport:
    """`python -m onestop.bench.capacity` in a fresh interpreter (clean RSS), parsed."""
    completed = subprocess.run(
        [sys.executable, "-m", "onestop.bench.capacity", "--requests", str(requests)],
        capture_output=True,
        timeout=CAPACITY_SECONDS,
        check=False,
        cwd=workdir,
    )
    if completed.returncode != 0:
        raise ServiceError(
            f"the capacity measurement failed with code {completed.returncode}:\n"
            f"{completed.stderr.decode(errors='replace')[-3000:]}"
        )
    return CapacityReport.from_json(json.loads(completed.stdout))


class _Bench:
    """One benchmark's shared settings; each method measures one service in a namespace
    of its own and deletes that namespace's topics afterwards."""

    def __init__(
        self,
        bootstrap: str,
        options: BenchOptions,
        work: Path,
        say: Progress,
        on_step: Callable[[LoadStep], None] | None,
    ) -> None:
        self.bootstrap = bootstrap
        self.options = options
        self.work = work
        self.say = say
        self.on_step = on_step
        self.parties = load_nodes(options.nodes)
        self.search = LoadSettings(
            rate="max", nodes=options.nodes, step_seconds=options.step_seconds
        )

    def plan(self, runs: int, rate: Callable[[float], float], members: int = 1) -> Plan:
        return Plan(
            self.search,
            runs=runs,
            run_seconds=self.options.run_seconds,
            settle_seconds=self.options.settle_seconds,
            run_rate=rate,
            members=members,
        )

    def namespace(self, prefix: str) -> Topics:
        topics = Topics(fresh_namespace(prefix))
        asyncio.run(ensure_topics(self.bootstrap, topics, tuple(Country)))
        return topics

    def hub(self, path: str, workers: int = 1) -> Measured:
        topics = self.namespace(f"bench-hub-{path}")
        runs = self.options.runs if workers == 1 else 0
        label = f"{workers} workers" if workers > 1 else "max rate, then runs at half of it"
        self.say(f"hub --input {path}, namespace {topics.namespace}: {label}")
        try:
            with hub_workers(
                self.bootstrap, topics, self.work, self.parties, count=workers, path=path
            ) as hubs:
                plan = self.plan(runs, half, workers)
                return self._measure(topics, hubs, topics.hub_group, plan)
        finally:
            asyncio.run(delete_namespace_topics(self.bootstrap, topics.namespace))

    def yardstick(self, which: str, floor_rate: float | None = None) -> Measured:
        """The Faust peer or the raw passthrough; the latter also at `floor_rate` (the
        hub's run rate) as many times as the hub ran, for the latency floor."""
        topics = self.namespace(f"bench-{which}")
        label = "max rate, then a run at half of it"
        if floor_rate is not None:
            label += f", then {self.options.runs} at the hub's {floor_rate:.0f} msg/s"
        self.say(f"{which}, namespace {topics.namespace}: {label}")
        plan = replace(
            self.plan(1, half),
            floor_rate=floor_rate,
            floor_runs=self.options.runs if floor_rate is not None else 0,
        )
        if which == "faust-peer":
            process = faust_peer_process(self.bootstrap, topics, self.work, self.parties)
            group = faust_peer_group(topics)
        else:
            process = passthrough_process(self.bootstrap, topics, self.work)
            group = passthrough_group(topics)
        try:
            with running(process) as service:
                return self._measure(topics, service, group, plan)
        finally:
            asyncio.run(delete_namespace_topics(self.bootstrap, topics.namespace))

    def _measure(self, topics: Topics, service: Processes, group: str, plan: Plan) -> Measured:
        return asyncio.run(
            measure_service(
                self.bootstrap,
                topics,
                service,
                group,
                plan,
                progress=self.say,
                on_step=self.on_step,
            )
        )


def cores_note(workers: Sequence[int], cpus: int | None) -> str | None:
    """What bounds the scale-out figure on a small machine, or None when nothing does."""
    most = max(workers, default=1)
    if most <= 1 or (cpus is not None and cpus >= most + 2):
        return None
    return (
        f"this machine has {cpus or '?'} CPUs, shared by the load generator, the broker and "
        f"up to {most} hub workers: the max rate with more workers is bounded by the cores "
        "here, not by the hub (each worker needs a core of its own to add throughput)"
    )


def run_bench(
    bootstrap: str,
    options: BenchOptions | None = None,
    *,
    workdir: Path | None = None,
    progress: Progress | None = None,
    on_step: Callable[[LoadStep], None] | None = None,
) -> BenchReport:
    """The whole benchmark on `bootstrap` (see the module's docstring). Blocking; call
    outside an event loop."""
    chosen = options or BenchOptions()
    say = progress or (lambda _text: None)
    paths = list(chosen.hub_inputs)
    notes: list[str] = []
    with _workdir(workdir) as work:
        bench = _Bench(bootstrap, chosen, work, say, on_step)
        hubs = {path: bench.hub(path) for path in paths}
        first = hubs[paths[0]]
        scale_out = {
            count: first if count == 1 else bench.hub(paths[0], workers=count)
            for count in sorted(set(chosen.workers))
        }
        note = cores_note(chosen.workers, os.cpu_count())
        if note is not None:
            say(note)
            notes.append(note)
        faust_peer = bench.yardstick("faust-peer")
        raw = bench.yardstick("raw-passthrough", floor_rate=first.run_rate)
        say("memory per open request and deadline lookup cost")
        capacity = measure_capacity_subprocess(work, chosen.capacity_requests)
    return BenchReport(
        date=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        machine=describe_machine(kafka_version_for(bootstrap)),
        raw=raw,
        faust_peer=faust_peer,
        hubs=hubs,
        capacity=capacity,
        scale_out=scale_out,
        notes=notes,
    )


@contextlib.contextmanager
def _workdir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="onestop-bench-") as made:
        yield Path(made)
