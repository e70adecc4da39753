"""What every fault case shares: real processes (hub workers, node processes) in a
throw-away namespace, the open-loop load generator, faults struck at chosen moments of the
load, and the verdict: every message sent was delivered exactly once in effect or
dead-lettered, the audit chain verifies, and the Art. 18 counts match what was sent."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from onestop.audit.source import combined_report, load_audit, verify_trail
from onestop.audit.statistics import art18_statistics
from onestop.bench.run import fresh_namespace
from onestop.kafka.groups import wait_until_stable
from onestop.kafka.services import ServiceProcess, hub_process
from onestop.kafka.topics import ensure_topics
from producers.load.generator import LoadGenerator
from producers.load.results import LoadTick
from producers.load.run import LoadRun
from schemas.audit import AuditEvent
from schemas.enums import Country
from schemas.topics import Topics
from streams.settings import DEFAULT_INPUT, InputPath

Fault = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class CaseResult:
    """One run of one fault case. `lost` = sent and neither delivered nor dead-lettered;
    `duplicates` = deliveries seen again (recognised by id); `refused` = records the broker
    never took (the producer gave up on them: never accepted, so never owed);
    `recovery_seconds` = from the end of the fault (the broker or worker back) until
    deliveries flowed at half the offered rate again (None: not measured)."""

    case: str
    sent: int
    delivered: int
    deadlettered: int
    duplicates: int
    lost: int
    recovery_seconds: float | None
    chain_intact: bool
    art18_matches: bool
    notes: str = ""

    @property
    def passed(self) -> bool:
        """Nothing lost, the chain intact, the statistics right."""
        return self.lost == 0 and self.chain_intact and self.art18_matches


@dataclass
class Timeline:
    """When each fault was over and how deliveries went, tick by tick (seconds since the
    load started)."""

    faults: list[float] = field(default_factory=list)
    ticks: list[LoadTick] = field(default_factory=list)
    settled_at: float | None = None  # every outcome in (None: the run gave up waiting)

    def recovery_after(self, fault_at: float, rate: float) -> float | None:
        """Seconds from `fault_at` (the fault over) until a tick delivered at half `rate`
        or more, or until every outcome was in if the run settled before such a tick."""
        for tick in self.ticks:
            if tick.elapsed > fault_at and tick.delivered_per_s >= rate / 2:
                return round(tick.elapsed - fault_at, 1)
        if self.settled_at is not None and self.settled_at > fault_at:
            return round(self.settled_at - fault_at, 1)
        return None


class FaultBench:
    """A namespace of its own on `bootstrap`, hub workers for its load nodes, and the
    load generator."""

    def __init__(
        self,
        bootstrap: str,
        workdir: Path,
        *,
        nodes: int = 4,
        partitions: int = 4,
        hub_input: InputPath = DEFAULT_INPUT,
    ) -> None:
        self.bootstrap = bootstrap
        self.hub_input = hub_input
        self.workdir = workdir
        self.topics = Topics(fresh_namespace("fault"), partitions)
        self.nodes = nodes
        self.hubs: list[ServiceProcess] = []
        self.timeline = Timeline()
        self._started = 0.0

    @property
    def parties(self) -> list[Country]:
        """The load's nodes."""
        from producers.load.settings import load_nodes

        return load_nodes(self.nodes)

    async def prepare(self) -> None:
        """The namespace's topics."""
        await ensure_topics(self.bootstrap, self.topics, self.parties)

    def start_hub(self) -> ServiceProcess:
        """One more hub worker in the namespace's group."""
        number = len(self.hubs) + 1
        made = hub_process(
            self.bootstrap, self.topics, self.workdir / f"hub-{number}", parties=self.parties,
            extra=("--log-level", "info", "--input", self.hub_input.value),
        )  # fmt: skip
        self.hubs.append(made.start())
        return made

    async def wait_for_hubs(self) -> None:
        """Until the hub group is stable with its members."""
        if not await wait_until_stable(self.bootstrap, self.topics_group):
            raise TimeoutError("the hub workers did not form a stable group")

    @property
    def topics_group(self) -> str:
        return f"{self.topics.namespace}-hub"

    def kill_hub(self, index: int) -> None:
        """SIGKILL hub worker `index`: a crash, nothing flushed."""
        process = self.hubs[index].process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)
        self.hubs[index].stop()

    def stop(self) -> None:
        """Stop every process left."""
        for hub in self.hubs:
            hub.stop()

    def now(self) -> float:
        """Seconds since the load started."""
        return time.monotonic() - self._started

    async def load(
        self,
        rate: float,
        seconds: float,
        faults: Sequence[tuple[float, Fault]] = (),
        drain_seconds: float = 90.0,
    ) -> LoadRun:
        """Offer `rate` messages a second for `seconds`, striking each fault at its time
        (seconds after the start), then wait for every outcome."""
        async with LoadGenerator(self.bootstrap, self.topics, self.nodes) as generator:
            await generator.probe(120.0)
            self._started = time.monotonic()
            strikes = [asyncio.create_task(self._strike(at, fault)) for at, fault in faults]
            try:
                run = await generator.run(
                    rate,
                    seconds,
                    drain_seconds=drain_seconds,
                    tick_seconds=1.0,
                    on_tick=self.timeline.ticks.append,
                )
                if run.missing == 0:
                    self.timeline.settled_at = self.now()
                return run
            finally:
                for strike in strikes:
                    if not strike.done():
                        strike.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await strike

    async def _strike(self, at: float, fault: Fault) -> None:
        await asyncio.sleep(max(at - self.now(), 0.0))
        await fault()
        self.timeline.faults.append(self.now())

    async def verdict(self, case: str, run: LoadRun, rate: float, notes: str = "") -> CaseResult:
        """Judge a load run: deliveries from the generator, the chain and the Art. 18
        counts from the audit trail."""
        trail = await load_audit(self.topics.audit, self.bootstrap)
        chain = combined_report(verify_trail(trail))
        records = trail.records()
        opened = {r.request_id for r in records if r.event is AuditEvent.RECEIVED}
        stats = art18_statistics(records)
        # The probe is one request more than the run's own.
        expected = run.sent - run.deadlettered + 1
        recovery = [self.timeline.recovery_after(at, rate) for at in self.timeline.faults]
        measured = [r for r in recovery if r is not None]
        return CaseResult(
            case=case,
            sent=run.sent,
            delivered=run.delivered,
            deadlettered=run.deadlettered,
            duplicates=run.duplicates,
            lost=run.missing,
            recovery_seconds=max(measured) if measured else None,
            chain_intact=chain.intact,
            art18_matches=len(opened) == expected == stats.totals.requests_sent,
            notes=notes,
        )
