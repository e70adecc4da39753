"""Measuring one service under test with the open-loop load generator: wait until it
delivers a probe, search its max rate, then do fixed-rate runs that each start from an
idle service (its consumer group's lag back to 0 or every outbox record's copy written,
then a settle period), reading the CPU
its processes use during each run; optionally more such runs at a rate given from outside
(the raw passthrough at the hub's rate)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from aiokafka import TopicPartition

from onestop.bench.namespaces import (
    kafka_version_for,
    partitions_of,
    wait_for_members,
    wait_until_drained,
)
from onestop.bench.processes import Processes
from onestop.bench.report import Measured
from onestop.kafka.services import ServiceError
from producers.load.generator import LoadGenerator
from producers.load.results import LoadResult, LoadStep
from producers.load.settings import LoadError, LoadSettings, load_nodes
from schemas.topics import Topics

PROBE_SECONDS: Final = 120.0
DRAIN_WAIT_SECONDS: Final = 300.0

Progress = Callable[[str], None]


def half(max_rate: float) -> float:
    """The rate of the runs after a max search: half the max (at least 1 msg/s)."""
    return max(max_rate / 2, 1.0)


@dataclass(frozen=True)
class Plan:
    """How to measure a service. `search`: the max-rate search (its nodes, step seconds,
    start rate); then `runs` runs of `run_seconds` seconds each at `run_rate(max rate)`
    messages/s, each after the service's backlog drained and `settle_seconds` more.
    `members`: wait for this many members of the service's group before the probe (more
    than one hub worker: so that no rebalance falls into the search). `floor_runs` runs
    more at `floor_rate` (the raw passthrough at the hub's run rate: the latency the
    generator, the broker and the machine take without the hub)."""

    search: LoadSettings
    runs: int = 0
    run_seconds: float = 30.0
    settle_seconds: float = 10.0
    run_rate: Callable[[float], float] = half
    members: int = 1
    floor_rate: float | None = None
    floor_runs: int = 0


async def probe_ready(
    generator: LoadGenerator,
    service: Processes | None,
    progress: Progress,
    wait_seconds: float = PROBE_SECONDS,
) -> float:
    """Send a probe and wait for its delivery; return the seconds it took. A process of
    `service` that exits meanwhile ends the wait with a ServiceError carrying its log."""
    probe = asyncio.create_task(generator.probe(wait_seconds))
    try:
        while not probe.done():
            await asyncio.wait({probe}, timeout=0.5)
            gone = service.exited() if service is not None else None
            if gone is not None:
                raise ServiceError(
                    f"the {gone.name} exited with code {gone.exit_code()} before it was "
                    f"ready; its log ({gone.log_path}) ends:\n{gone.log_tail()}"
                )
        waited = probe.result()
    finally:
        if not probe.done():
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
    progress(f"probe delivered after {waited:.1f} s")
    return waited


async def measure_service(
    bootstrap: str,
    topics: Topics,
    service: Processes,
    group: str,
    plan: Plan,
    *,
    progress: Progress,
    on_step: Callable[[LoadStep], None] | None = None,
) -> Measured:
    """Measure `service` (consumer group `group`) on `topics` as `plan` says."""
    version = kafka_version_for(bootstrap)
    nodes = plan.search.nodes
    parties = load_nodes(nodes)
    outboxes = partitions_of([topics.outbox(p) for p in parties], topics.partitions)
    outputs = partitions_of(
        [topics.inbox(p) for p in parties] + [topics.deadletter], topics.partitions
    )
    if plan.members > 1 and not await wait_for_members(bootstrap, group, plan.members):
        raise ServiceError(f"the {service.name} did not form one stable group of {group}")
    async with LoadGenerator(bootstrap, topics, nodes) as generator:
        await probe_ready(generator, service, progress)
        search = await generator.load(replace(plan.search, rate="max"), None, on_step, version)
        progress(f"{service.name} sustains {search.max_rate or 0:.0f} msg/s")
        under = _UnderTest(bootstrap, service, group, outboxes, outputs, generator, progress)
        rate = plan.run_rate(search.max_rate or 0.0)
        runs, drained, cpu = await under.runs_from_idle(plan, rate, plan.runs)

        def measured(
            runs: list[LoadResult],
            drained: list[float | None],
            cpu: float | None,
            floor: Measured | None = None,
        ) -> Measured:
            return Measured(
                name=service.name,
                search=search,
                runs=runs,
                cpu_seconds=cpu,
                workers=len(service.processes),
                drained_seconds=drained,
                floor=floor,
            )

        floor: Measured | None = None
        if plan.floor_rate is not None and plan.floor_runs:
            floor = measured(*await under.runs_from_idle(plan, plan.floor_rate, plan.floor_runs))
    return measured(runs, drained, cpu, floor)


@dataclass(frozen=True)
class _UnderTest:
    """A service under test on its topics, with the generator that drives it."""

    bootstrap: str
    service: Processes
    group: str
    outboxes: list[TopicPartition]
    outputs: list[TopicPartition]
    generator: LoadGenerator
    progress: Progress

    async def runs_from_idle(
        self, plan: Plan, rate: float, count: int
    ) -> tuple[list[LoadResult], list[float | None], float | None]:
        """`count` runs at `rate`, each from idle: the runs, how long each waited for the
        backlog to drain, and the CPU seconds the service used in them (None if unknown)."""
        service = self.service
        version = kafka_version_for(self.bootstrap)
        runs: list[LoadResult] = []
        drained: list[float | None] = []
        cpu: float | None = 0.0
        for number in range(1, count + 1):
            waited = await wait_until_drained(
                self.bootstrap, self.group, self.outboxes, self.outputs, DRAIN_WAIT_SECONDS
            )
            if waited is None:
                raise LoadError(
                    f"the {service.name} still had a backlog {DRAIN_WAIT_SECONDS:.0f} s "
                    f"after the last run (group {self.group}): no run can start from idle"
                )
            drained.append(waited)
            await asyncio.sleep(plan.settle_seconds)
            before = service.cpu_seconds()
            settings = replace(plan.search, rate=rate, duration=plan.run_seconds)
            result = await self.generator.load(settings, None, None, version)
            after = service.cpu_seconds()
            if cpu is not None and before is not None and after is not None:
                cpu += after - before
            else:
                cpu = None
            runs.append(result)
            latency = result.latency_ms
            self.progress(
                f"{service.name} run {number}/{count} at {rate:.0f} msg/s (idle after "
                f"{waited:.1f} s + {plan.settle_seconds:.0f} s): p50 {latency['p50']:.1f} "
                f"ms, p99 {latency['p99']:.1f} ms, p99.9 {latency['p99_9']:.1f} ms, "
                f"{result.delivered} of {result.sent} delivered"
            )
        return runs, drained, cpu if runs else None
