"""The hub's core without Faust or a broker: a batch is written before anything is stored,
a failed write stores nothing, clock offsets senders saw are waited for once, deadlines
fall due from the heap, an earlier exercise's requests never do, and finished requests are
let go after their retention."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from schemas.audit import AuditEvent
from schemas.clock import ClockAction, ClockCommand, ExerciseClock, ManualClock
from schemas.enums import Channel, Country, MessageKind, RequestState
from schemas.topics import Topics
from streams.core import ClockWait, HubCore, Overlay, position_key
from streams.effects import Effects, Inbound
from streams.lifecycle import RequestEntry
from streams.metrics import HubMetrics
from streams.settings import HubSettings
from tests.factories import REQUEST_ID, make_inbound, make_message

TOPICS = Topics("t")
WALL = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DAY = 24 * 3600


class Acknowledgements:
    def __init__(self, answer: asyncio.Future[None]) -> None:
        self.answer = answer

    async def wait(self) -> None:
        await asyncio.shield(self.answer)


class Sink:
    """Collects what the core sends, and as written what was acknowledged; the
    acknowledgements can be made to fail, to take their time, or to wait for `gate`."""

    def __init__(self) -> None:
        self.sent: list[list[Effects]] = []
        self.written: list[Effects] = []
        self.fail = False
        self.delay = 0.0  # seconds each acknowledgement takes
        self.gate: asyncio.Event | None = None  # set: the broker answers

    async def send(self, results: Sequence[Effects]) -> Acknowledgements:
        self.sent.append(list(results))
        return Acknowledgements(
            asyncio.ensure_future(self._acknowledge(list(results), self.fail, self.gate))
        )

    async def _acknowledge(
        self, results: list[Effects], fail: bool, gate: asyncio.Event | None
    ) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if gate is not None:
            await gate.wait()
        if fail:
            raise ConnectionError("broker gone")
        self.written.extend(results)

    def events(self) -> list[AuditEvent]:
        return [record.event for effects in self.written for record in effects.audit]


class Feed:
    """A clock feed at a given position; waiting succeeds only up to `reachable`."""

    def __init__(self, position: int = 1, reachable: int = 1) -> None:
        self.position = position
        self.reachable = reachable
        self.waits: list[int] = []
        self.commands: list[tuple[int, ClockCommand]] = []

    async def wait_for(self, position: int, wait_seconds: float = 10.0) -> bool:
        self.waits.append(position)
        if position <= self.reachable:
            self.position = position
            return True
        return False

    def commands_since(self, offset: int) -> list[tuple[int, ClockCommand]]:
        return [(at, command) for at, command in self.commands if at >= offset]


class World:
    """A core over dicts, with a wall clock moved by hand and an exercise at speed 1."""

    def __init__(self, retention: float = 60.0, pipelined: bool = False) -> None:
        self.wall = ManualClock(WALL)
        self.clock = ExerciseClock(self.wall)
        self.start_exercise("drill-1")
        self.requests: dict[str, RequestEntry] = {}
        self.positions: dict[str, int] = {}
        self.sink = Sink()
        self.feed = Feed()
        self.losses: list[int] = []  # batches sent when a loss was told
        self.stored: list[Mapping[tuple[str, int], int]] = []
        self.registry = CollectorRegistry()
        self.core = HubCore(
            HubSettings(bootstrap="unused", topics=TOPICS, settled_retention=retention),
            requests=self.requests,
            positions=self.positions,
            sink=self.sink,
            clock=self.clock,
            clock_source=self.feed,
            metrics=HubMetrics(self.registry),
            wall=self.wall,
            pipelined=pipelined,
            on_lost=lambda: self.losses.append(len(self.sink.sent)),
            on_stored=self.stored.append,
        )

    def start_exercise(self, exercise_id: str) -> None:
        self.clock.apply(
            ClockCommand(
                exercise_id=exercise_id,
                action=ClockAction.START,
                issued_at=self.wall.now(),
                exercise_start=START,
                speed=1,
            )
        )

    def inbound(self, kind: MessageKind, offset: int = 0, **fields: object) -> Inbound:
        """A record of `kind`, received now (wall time)."""
        record = make_inbound(make_message(kind, **fields), TOPICS, offset)
        return Inbound(
            record.topic,
            record.partition,
            record.offset,
            record.key,
            record.value,
            record.headers,
            self.wall.now().timestamp(),
        )

    def gauge(self, name: str) -> float:
        labels = {"channel": "siena", "urgency": "non_urgent"}
        return self.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def world() -> World:
    return World()


async def test_a_batch_is_stored_only_after_its_outputs_are_written(world: World) -> None:
    request = world.inbound(MessageKind.REQUEST, offset=7)

    await world.core.process([request], 1)

    assert world.sink.events() == [AuditEvent.RECEIVED]
    assert world.requests[REQUEST_ID].received_at == START
    assert world.positions == {position_key(request.topic, request.partition): 8}
    assert world.gauge("onestop_hub_open_requests") == 1


async def test_a_failed_write_stores_nothing(world: World) -> None:
    world.sink.fail = True

    with pytest.raises(ConnectionError):
        await world.core.process([world.inbound(MessageKind.REQUEST)], 1)

    assert world.requests == {} and world.positions == {}
    assert world.core.exchange.store is world.requests  # the overlay is gone


async def test_a_redelivered_batch_is_recognised(world: World) -> None:
    batch = [world.inbound(MessageKind.REQUEST)]
    await world.core.process(batch, 1)
    await world.core.process(batch, 1)

    assert world.sink.written[1].duplicate
    assert world.sink.events().count(AuditEvent.RECEIVED) == 1


async def test_answered_and_settled_the_open_gauge_goes_back(world: World) -> None:
    await world.core.process([world.inbound(MessageKind.REQUEST)], 1)
    world.wall.advance(3600)
    await world.core.process([world.inbound(MessageKind.REPLY, offset=1)], 1)

    assert world.gauge("onestop_hub_open_requests") == 0
    assert world.requests[REQUEST_ID].settled


class TestClockOffsets:
    def test_a_sender_ahead_of_the_feed_is_waited_for(self, world: World) -> None:
        assert ClockWait().needed([self.claiming(world, 5)], position=1) == 5
        assert ClockWait().needed([self.claiming(world, 1)], position=1) is None

    def test_an_offset_that_never_comes_is_waited_for_once(self, world: World) -> None:
        wait = ClockWait(unreachable=5)
        assert wait.needed([self.claiming(world, 5)], position=1) is None
        assert wait.needed([self.claiming(world, 6)], position=5) == 6  # it came meanwhile

    async def test_the_core_waits_and_remembers_what_never_came(self, world: World) -> None:
        batch = [self.claiming(world, 9)]
        await world.core.process(batch, 1)
        await world.core.process([self.claiming(world, 9, offset=1)], 1)

        assert world.feed.waits == [9]

    @staticmethod
    def claiming(world: World, clock_offset: int, offset: int = 0) -> Inbound:
        inbound = world.inbound(MessageKind.REQUEST, offset=offset)
        headers = [*inbound.headers, ("ce_clockoffset", str(clock_offset).encode())]
        return Inbound(
            inbound.topic,
            inbound.partition,
            inbound.offset,
            inbound.key,
            inbound.value,
            headers,
            inbound.timestamp,
        )


class TestDeadlines:
    async def test_a_deadline_falls_due_from_the_heap(self, world: World) -> None:
        await world.core.process([world.inbound(MessageKind.REQUEST)], 1)
        world.wall.advance(7 * DAY - 1)
        await world.core.check_deadlines()
        assert AuditEvent.OVERDUE not in world.sink.events()

        world.wall.advance(1 + world.core.settings.lateness)
        await world.core.check_deadlines()

        assert world.sink.events()[-1] is AuditEvent.OVERDUE
        assert world.requests[REQUEST_ID].overdue
        assert world.gauge("onestop_hub_overdue_requests") == 1

    async def test_the_check_looks_back_by_its_lateness(self, world: World) -> None:
        await world.core.process([world.inbound(MessageKind.REQUEST)], 1)
        world.wall.advance(7 * DAY + world.core.settings.lateness / 2)

        await world.core.check_deadlines()

        assert AuditEvent.OVERDUE not in world.sink.events()

    async def test_requests_of_an_earlier_exercise_never_fall_due(self, world: World) -> None:
        await world.core.process([world.inbound(MessageKind.REQUEST)], 1)
        world.start_exercise("drill-2")
        world.wall.advance(30 * DAY)

        await world.core.check_deadlines()

        assert AuditEvent.OVERDUE not in world.sink.events()
        assert len(world.core.retention) == 1  # let go after its retention

    async def test_only_owned_partitions_are_indexed(self, world: World) -> None:
        await world.core.process([world.inbound(MessageKind.REQUEST)], 1)
        partition = world.requests[REQUEST_ID].partition
        world.core.assign(set(range(TOPICS.partitions)) - {partition})

        world.core.rebuild_index()

        assert len(world.core.index) == 0
        assert world.gauge("onestop_hub_open_requests") == 0


async def test_finished_requests_are_let_go_after_their_retention() -> None:
    world = World(retention=60.0)
    await world.core.process([world.inbound(MessageKind.SPONTANEOUS_INFORMATION)], 1)
    assert REQUEST_ID in world.requests

    world.wall.advance(59)
    world.core.let_go_of_finished()
    assert REQUEST_ID in world.requests
    world.wall.advance(1)
    world.core.let_go_of_finished()

    assert REQUEST_ID not in world.requests


def test_the_overlay_reads_through_and_flushes_once() -> None:
    base: dict[str, RequestEntry] = {}
    overlay = Overlay(base)
    request = RequestEntry(
        request_id="R1",
        case_id="C1",
        kind=MessageKind.REQUEST,
        opened_by="R1",
        requester=Country.PL,
        requested=Country.DE,
        language="en",
        channel=Channel.SIENA,
        partition=0,
        state=RequestState.DELIVERED,
        received_at=START,
    )
    overlay["R1"] = request
    assert overlay["R1"] is request and "R1" not in base
    assert list(overlay) == ["R1"] and len(overlay) == 1

    assert overlay.flush() == [request]
    assert base == {"R1": request} and overlay.pending == {}


def test_received_time_is_the_records_timestamp_in_exercise_time(world: World) -> None:
    world.wall.advance(3600)
    inbound = world.inbound(MessageKind.REQUEST)
    assert world.clock.at(inbound.timestamp) == START + timedelta(hours=1)


class TestExerciseControl:
    def pause(self, world: World, offset: int, reason: str) -> None:
        command = ClockCommand(
            exercise_id="drill-1",
            action=ClockAction.PAUSE,
            issued_at=world.wall.now(),
            reason=reason,
            actor="trainer",
        )
        world.clock.apply(command)
        world.feed.commands.append((offset, command))

    async def test_each_clock_command_is_audited_once_with_its_reason(self, world: World) -> None:
        self.pause(world, 3, "briefing before phase two")
        await world.core.check_deadlines()
        await world.core.check_deadlines()

        records = [r for e in world.sink.written for r in e.audit]
        assert [r.event for r in records] == [AuditEvent.EXERCISE_CONTROL]
        assert records[0].record_id == "clock/3/exercise_control"
        assert records[0].actor == "trainer" and records[0].partition == 0
        assert records[0].details.wire()["reason"] == "briefing before phase two"
        assert world.positions[position_key(TOPICS.clock, 0)] == 4

    async def test_only_the_owner_of_partition_0_writes_them(self, world: World) -> None:
        world.core.assign({1, 2, 3})
        self.pause(world, 0, "lunch")

        await world.core.check_deadlines()

        assert world.sink.events() == []


async def test_each_batch_is_timed_by_phase(world: World) -> None:
    world.sink.delay = 0.05  # the broker takes its time to acknowledge
    await world.core.process([world.inbound(MessageKind.REQUEST, offset=1)], 1)
    await world.core.process([world.inbound(MessageKind.REQUEST, offset=2)], 1)

    name = "onestop_hub_batch_phase_seconds"
    for phase in ("decide", "write", "store"):
        assert world.registry.get_sample_value(f"{name}_count", {"phase": phase}) == 2
        assert (world.registry.get_sample_value(f"{name}_sum", {"phase": phase}) or 0) > 0
    # The wait for the acknowledgements is counted in the write phase.
    assert (world.registry.get_sample_value(f"{name}_sum", {"phase": "write"}) or 0) >= 0.1


class TestPipeline:
    """Pipelined: a batch is decided while the one before waits for its acknowledgements,
    and sent only once that one is stored."""

    @pytest.fixture
    def piped(self) -> World:
        piped = World(pipelined=True)
        piped.sink.gate = asyncio.Event()  # the broker answers when the test says so
        return piped

    async def test_a_batch_is_decided_over_the_state_of_the_one_in_flight(
        self, piped: World
    ) -> None:
        request = piped.inbound(MessageKind.REQUEST, offset=0)
        await piped.core.process([request], 1)
        assert piped.requests == {} and len(piped.sink.sent) == 1  # sent, not stored
        gate, piped.sink.gate = piped.sink.gate, asyncio.Event()

        reply = piped.inbound(MessageKind.REPLY, offset=1)
        second = asyncio.create_task(piped.core.process([reply], 1))
        await asyncio.sleep(0.01)
        assert not second.done() and len(piped.sink.sent) == 1  # waits for the first
        assert gate is not None
        gate.set()
        await asyncio.wait_for(second, 5)

        # The reply found the request the first batch opened, before it was stored.
        assert [e.kind for e in piped.sink.sent[1]] == [MessageKind.REPLY]
        assert not piped.sink.sent[1][0].duplicate
        assert not piped.requests[REQUEST_ID].settled  # stored: the first batch only
        assert piped.stored == [{(request.topic, request.partition): 1}]
        assert piped.sink.gate is not None
        piped.sink.gate.set()
        async with piped.core.lock:
            await piped.core.drain()
        assert piped.requests[REQUEST_ID].settled
        assert piped.positions == {
            position_key(request.topic, request.partition): 1,
            position_key(reply.topic, reply.partition): 2,
        }
        assert piped.gauge("onestop_hub_open_requests") == 0

    async def test_a_batch_alone_is_stored_once_acknowledged(self, piped: World) -> None:
        await piped.core.process([piped.inbound(MessageKind.REQUEST, offset=4)], 1)
        assert piped.sink.gate is not None
        piped.sink.gate.set()
        for _ in range(100):
            if piped.positions:
                break
            await asyncio.sleep(0.01)
        assert REQUEST_ID in piped.requests and list(piped.positions.values()) == [5]

    async def test_acknowledgements_that_fail_store_nothing_of_either_batch(
        self, piped: World
    ) -> None:
        piped.sink.fail = True
        await piped.core.process([piped.inbound(MessageKind.REQUEST, offset=0)], 1)
        piped.sink.fail = False
        assert piped.sink.gate is not None
        piped.sink.gate.set()

        with pytest.raises(ConnectionError):
            await piped.core.process([piped.inbound(MessageKind.REPLY, offset=1)], 1)

        assert piped.requests == {} and piped.positions == {} and piped.stored == []
        assert piped.losses == [1]  # told, and the second batch never sent
        assert piped.core.exchange.store is piped.requests

    async def test_the_deadline_check_stores_the_batch_in_flight_first(self, piped: World) -> None:
        await piped.core.process([piped.inbound(MessageKind.REQUEST, offset=0)], 1)
        piped.wall.advance(8 * DAY)  # well past the request's deadline
        assert piped.sink.gate is not None
        piped.sink.gate.set()

        await piped.core.check_deadlines()

        assert piped.requests[REQUEST_ID].overdue
        assert AuditEvent.OVERDUE in piped.sink.events()

    async def test_closing_stops_waiting_in_the_background(self, piped: World) -> None:
        await piped.core.process([piped.inbound(MessageKind.REQUEST, offset=0)], 1)
        tasks = set(piped.core._store_tasks)
        assert tasks
        piped.core.close()
        await asyncio.sleep(0)
        assert all(task.done() for task in tasks) and piped.requests == {}
