"""An exercise played in memory: the hub's core, the simulated nodes and the exercise plan
wired through lists instead of Kafka topics, on a wall clock moved by hand from one event
to the next. Nothing sleeps and nothing is left to timing: a scenario plays in a fraction of
a second, and two plays with one seed give exactly the same trail.

    played = await play_in_memory(load_scenario(path), seed=7)
    report = build_report(played.records)

The real broker is kept for what only it shows (rebalances, crashes, the wire).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from onestop.exercise.plan import ExercisePlan, Send
from onestop.exercise.progress import ExerciseProgress
from onestop.exercise.runner import exercise_setup
from onestop.exercise.scenario import Scenario
from producers.metrics import NodeMetrics
from producers.node import SimulatedNode
from producers.scheduler import ExerciseScheduler
from schemas.audit import AuditRecord, ChainHead
from schemas.clock import ClockAction, ClockCommand, ExerciseClock, ManualClock
from schemas.enums import Country, Outcome
from schemas.envelope import decode, encode
from schemas.messages import MessageBase
from schemas.topics import Topics, partition_for
from streams.core import HubCore
from streams.effects import Effects, Inbound
from streams.metrics import HubMetrics
from streams.settings import HubSettings

WALL_START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TOPICS = Topics("memory")


class AlwaysCaughtUp:
    """A clock source that has every command already: in memory they apply at once."""

    position = 1 << 30

    async def wait_for(self, position: int, wait_seconds: float = 10.0) -> bool:
        return True

    def commands_since(self, offset: int) -> list[tuple[int, ClockCommand]]:
        return []


class Acknowledged:
    """Acknowledgements already in: what an in-memory sink returns."""

    async def wait(self) -> None:
        return None


ACKNOWLEDGED = Acknowledged()


@dataclass
class MemorySink:
    """The hub's output writer in memory: audit records sealed into chains as written,
    inbox copies kept for delivery."""

    records: list[AuditRecord] = field(default_factory=list)
    inbox: list[tuple[Country, Inbound]] = field(default_factory=list)
    heads: dict[int, ChainHead] = field(default_factory=dict)

    async def send(self, results: Sequence[Effects]) -> Acknowledged:
        for effects in results:
            for out in effects.outputs:
                party = TOPICS.party_of(out.topic)
                if party is not None and out.topic == TOPICS.inbox(party):
                    copy = out.record
                    stamp = out.timestamp
                    assert stamp is not None or copy.header("ce_source") == b"/hub"
                    self.inbox.append(
                        (party, Inbound(out.topic, 0, 0, copy.key, copy.value, copy.headers,
                                        stamp or 0.0))
                    )  # fmt: skip
            for audit in effects.audit:
                head = self.heads.setdefault(audit.partition, ChainHead())
                self.records.append(head.seal(audit))
        return ACKNOWLEDGED


@dataclass
class Played:
    """What an in-memory play produced."""

    records: list[AuditRecord]
    progress: ExerciseProgress
    plan: ExercisePlan
    ended_by: str


class MemoryExchange:
    """One exercise in memory (see the module text)."""

    def __init__(self, scenario: Scenario, *, seed: int | None = None, run_id: str = "run"):
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.speed = scenario.clock.speed
        self.wall = ManualClock(WALL_START)
        self.clock = ExerciseClock(self.wall)
        self.clock.apply(
            ClockCommand(
                exercise_id=run_id,
                action=ClockAction.START,
                issued_at=WALL_START,
                exercise_start=scenario.clock.start,
                speed=self.speed,
                setup=exercise_setup(scenario, self.seed),
            )
        )
        self.sink = MemorySink()
        self.core = HubCore(
            HubSettings(bootstrap="memory", topics=TOPICS, lateness=0.0),
            requests={},
            positions={},
            sink=self.sink,
            clock=self.clock,
            clock_source=AlwaysCaughtUp(),
            metrics=HubMetrics(CollectorRegistry()),
            wall=self.wall,
        )
        self.scheduler = ExerciseScheduler(self.clock)
        metrics = NodeMetrics(CollectorRegistry())
        self.nodes = {
            party: SimulatedNode(
                party, spec.profile, self.clock, self.scheduler, self._publish, metrics
            )
            for party, spec in scenario.nodes.items()
        }
        self.outbox: list[Inbound] = []
        self._offsets: dict[tuple[str, int], int] = {}
        self.plan = ExercisePlan(scenario, run_id, self.seed)
        self.progress = ExerciseProgress(on_outcome=self._on_outcome)
        self.seen: set[str] = set()
        self._audited = 0

    # ---- the wires -------------------------------------------------------------------------

    async def _publish(self, message: MessageBase, at: datetime) -> None:
        record = encode(message, wall_time=self.wall.now())
        assert record.key is not None
        stamp_ms = self.clock.stamp_ms(at)
        stamp = stamp_ms / 1000 if stamp_ms is not None else self.wall.now().timestamp()
        topic = TOPICS.outbox(message.sender)
        partition = partition_for(record.key, TOPICS.partitions)
        offset = self._offsets.get((topic, partition), 0)
        self._offsets[(topic, partition)] = offset + 1
        self.outbox.append(
            Inbound(topic, partition, offset, record.key, record.value, record.headers, stamp)
        )

    def _schedule(self, send: Send) -> None:
        async def deliver(moment: datetime) -> None:
            message = self.plan.message(send, moment)
            if message is not None:
                await self.nodes[send.sender].send(message)

        self.scheduler.at(send.at, deliver)

    def _on_outcome(self, request_id: str, outcome: Outcome, moment: datetime) -> None:
        for send in self.plan.on_outcome(request_id, outcome, moment):
            self._schedule(send)

    async def _settle_instant(self) -> None:
        """Everything that happens at the current instant, until nothing does."""
        while True:
            await self.scheduler.run_due()
            if self.outbox:
                batch, self.outbox = self.outbox, []
                await self.core.process(batch, len(batch))
            await self.core.check_deadlines()
            delivered = self.sink.inbox
            self.sink.inbox = []
            for party, inbound in delivered:
                node = self.nodes.get(party)
                if node is not None and party not in self.scenario.trainee_parties:
                    received = self.clock.at(inbound.timestamp) if inbound.timestamp else None
                    node.receive(decode(inbound.value, inbound.headers), received_at=received)
            for record in self.sink.records[self._audited :]:
                if record.request_id:
                    self.seen.add(record.request_id)
                self.progress.observe(record)
            self._audited = len(self.sink.records)
            if not self.outbox and not self.sink.inbox and not self._due_now():
                return

    def _due_now(self) -> bool:
        nxt = self.scheduler.next_at()
        return nxt is not None and nxt <= self.clock.now().timestamp()

    def _advance(self, limit: datetime) -> bool:
        """Move the wall clock to the next event (a planned send or a deadline), but not
        past exercise time `limit`; False when there is nothing before it."""
        candidates = [self.scheduler.next_at(), self.core.index.next_deadline()]
        upcoming = min((c for c in candidates if c is not None), default=None)
        now = self.clock.now().timestamp()
        target = min(upcoming, limit.timestamp()) if upcoming is not None else limit.timestamp()
        if target <= now and upcoming is None:
            return False
        self.wall.advance(max(target - now, 0.0) / self.speed + 1e-6)
        return True

    # ---- the play --------------------------------------------------------------------------

    async def play(self) -> Played:
        """Play the scenario as the exercise runner does, to its end and its settling."""
        for send in self.plan.initial():
            self._schedule(send)
        end = self.plan.end
        ended_by = "end time"
        while self.clock.now() < end:
            await self._settle_instant()
            if self.plan.over(self.progress, self.seen):
                ended_by = "settled"
                break
            if not self._advance(end):
                break
        await self._settle_instant()
        limit = max(self.clock.now(), end) + self.scenario.clock.grace
        while not self.plan.settled(self.progress, self.seen) and self.clock.now() < limit:
            if not self._advance(limit):
                break
            await self._settle_instant()
        return Played(self.sink.records, self.progress, self.plan, ended_by)


async def play_in_memory(
    scenario: Scenario, *, seed: int | None = None, run_id: str = "run"
) -> Played:
    """Play `scenario` in memory (see `MemoryExchange`)."""
    return await MemoryExchange(scenario, seed=seed, run_id=run_id).play()
