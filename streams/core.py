"""The hub's core: what it does with ordered input records and with time, free of Faust.

`HubCore` takes the records of a batch in order, decides on each with `Exchange`, hands
every output to its `OutputSink` and waits until the sink says they are acknowledged, and
only then stores the new request state and the next input offset of each partition. A crash
at any point therefore loses nothing: the input comes again, the same outputs (same ids)
are written again, and readers recognise them. `check_deadlines` finds due deadlines in a
heap and flags them the same way.

Pipelined (`pipelined=True`, the `pipelined` input path), the core decides a batch while
the batch before it waits for its acknowledgements, over that batch's state not stored
yet; it sends the new batch's outputs only once the one before is acknowledged and stored,
so one batch at a time is on its way to the broker and the rule above holds batch by
batch. Whatever reads the stored state (the deadline check, a rebalance, shutdown) first
calls `drain()`. If the acknowledgements fail, nothing of that batch is stored and
`on_lost` is told, so that the ledger judges its inputs against the stored positions
again and reads them back.

Its state sits behind small ports: a request store and a position store (mappings: Faust
tables in the worker, dicts in tests), an output sink, a clock source (the exercise clock
and its feed), a wall clock. Every time it reads comes from those clocks, so a test drives
it with a manual clock and no broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol

from schemas.clock import Clock, ClockCommand, ExerciseClock, ExerciseSetup, SystemClock
from schemas.enums import Channel
from streams.control import CONTROL_PARTITION, control_record
from streams.deadline_index import DeadlineIndex, DueEntry
from streams.effects import Effects, Inbound
from streams.exchange import Exchange
from streams.lifecycle import RequestEntry
from streams.metrics import HubMetrics
from streams.retention import Finished, RetentionQueue
from streams.routing import routing_for
from streams.settings import HubSettings

log = logging.getLogger(__name__)

#: No clock offset is known to be missing.
NO_OFFSET_MISSING: Final = 2**62


class Acknowledgements(Protocol):
    """The broker's answers to the outputs of one batch, still to come."""

    async def wait(self) -> None:
        """Return once every output is acknowledged; raise if any is not."""
        ...


class OutputSink(Protocol):
    """Where the effects of a batch go: sealed, sent, and acknowledged by the broker."""

    async def send(self, results: Sequence[Effects]) -> Acknowledgements:
        """Hand every output and audit record of `results` to the broker, in order; raise
        if any cannot be sent. What it returns says when they are acknowledged."""
        ...


class ClockSource(Protocol):
    """The exercise clock and the feed that keeps it up to date."""

    @property
    def position(self) -> int:
        """Offset after the last clock command applied."""
        ...

    async def wait_for(self, position: int, wait_seconds: float = 10.0) -> bool:
        """Wait until the commands before offset `position` are applied; False when that
        takes longer than `wait_seconds`."""
        ...

    def commands_since(self, offset: int) -> list[tuple[int, ClockCommand]]:
        """The commands applied at `offset` and after, with their offsets."""
        ...


def position_key(topic: str, partition: int) -> str:
    """The position store's key of an input partition."""
    return f"{topic}/{partition}"


class Overlay(MutableMapping[str, RequestEntry]):
    """Writes of the batch in flight, read through to the store; flushed once the batch's
    outputs are acknowledged."""

    def __init__(self, base: MutableMapping[str, RequestEntry]) -> None:
        self.base = base
        self.pending: dict[str, RequestEntry] = {}

    def __getitem__(self, key: str) -> RequestEntry:
        if key in self.pending:
            return self.pending[key]
        return self.base[key]

    def __setitem__(self, key: str, value: RequestEntry) -> None:
        self.pending[key] = value

    def __delitem__(self, key: str) -> None:
        raise NotImplementedError("requests are never deleted by the exchange")

    def __iter__(self) -> Iterator[str]:
        yield from self.pending
        yield from (k for k in self.base if k not in self.pending)

    def __len__(self) -> int:
        return len(set(self.pending) | set(self.base))

    def flush(self) -> list[RequestEntry]:
        """Write pending state to the store; return what was written."""
        written = list(self.pending.values())
        for key, value in self.pending.items():
            self.base[key] = value
        self.pending.clear()
        return written


@dataclass
class InFlight:
    """A batch decided, and once sent waiting for its acknowledgements to be stored."""

    inbounds: list[Inbound]
    results: list[Effects]
    overlay: Overlay
    count: int  # input records it stands for
    started: float  # perf_counter() times
    decided: float
    sending: float = 0.0  # its outputs handed to the sink
    acknowledged: float = 0.0
    acknowledgements: Acknowledgements | None = None


@dataclass
class ClockWait:
    """The clock offset senders said they saw, and one that never came (pure)."""

    unreachable: int = NO_OFFSET_MISSING

    def needed(self, inbounds: Sequence[Inbound], position: int) -> int | None:
        """The clock offset to wait for before deciding on `inbounds`, or None. A sender
        may claim an offset that never comes: it is waited for once, not every batch."""
        wanted = 0
        for inbound in inbounds:
            for name, value in inbound.headers:
                if name == "ce_clockoffset" and value.isdigit():
                    wanted = max(wanted, int(value))
        if position >= self.unreachable:
            self.unreachable = NO_OFFSET_MISSING
        return wanted if position < wanted < self.unreachable else None


class HubCore:
    """The hub's decisions, its deadline timing and its bookkeeping, over ports."""

    def __init__(
        self,
        settings: HubSettings,
        *,
        requests: MutableMapping[str, RequestEntry],
        positions: MutableMapping[str, int],
        sink: OutputSink,
        clock: ExerciseClock,
        clock_source: ClockSource,
        metrics: HubMetrics,
        wall: Clock | None = None,
        pipelined: bool = False,
        on_lost: Callable[[], None] | None = None,
        on_stored: Callable[[Mapping[tuple[str, int], int]], None] | None = None,
    ) -> None:
        """`pipelined`: decide each batch while the one before waits for its
        acknowledgements (see `process`). `on_lost`: told when a batch sent is not
        acknowledged; `on_stored`: given the next offset per (topic, partition) of each
        batch stored."""
        self.settings = settings
        self.topics = settings.topics
        self.requests = requests
        self.positions = positions
        self.sink = sink
        self.clock = clock
        self.clock_source = clock_source
        self.metrics = metrics
        self.wall = wall or SystemClock()
        self.index = DeadlineIndex()
        self.retention = RetentionQueue(settings.settled_retention)
        self.lock = asyncio.Lock()  # one batch, deadline check or read-back at a time
        self.exchange = Exchange(
            self.topics, settings.rules, settings.routing, requests, frozenset(settings.parties)
        )
        self.owned: set[int] = set(range(self.topics.partitions))
        self.index_stale = True
        self.pipelined = pipelined
        self.on_lost = on_lost
        self.on_stored = on_stored
        self._in_flight: InFlight | None = None
        self._store_tasks: set[asyncio.Task[None]] = set()
        self._clock_wait = ClockWait()
        self._configured_for: tuple[ExerciseSetup | None, frozenset[Channel] | None] = (
            None,
            None,
        )

    # ---- partitions ----------------------------------------------------------------------

    def assign(self, partitions: set[int]) -> None:
        """The input partitions this worker owns now (after a rebalance)."""
        self.owned = set(partitions)
        self.index_stale = True

    def revoke(self) -> None:
        """Partitions were taken away: the deadline heap is rebuilt before its next use."""
        self.index_stale = True

    # ---- input ---------------------------------------------------------------------------

    async def process(self, inbounds: list[Inbound], count: int = 0) -> None:
        """Decide on `inbounds` (in order), write every output and wait for the broker's
        acknowledgements, then store the new state and the input positions. `count` is
        the number of input records this stands for, for the processing-time metric.
        Call it holding `lock`.

        Pipelined, a batch is decided while the one before still waits for its
        acknowledgements (over that one's state, not yet stored), and its outputs are
        sent only once those are in and that batch is stored: one batch at a time is on
        its way to the broker, in order, as without the pipeline. The call returns with
        its own batch in flight; the next call, `drain()`, or its own acknowledgements
        (whichever comes first) store it."""
        try:
            batch = await self._decide(inbounds, count)
        finally:
            await self.drain()  # a failure leaves nothing half-stored behind it
        batch.overlay.base = self.requests
        batch.sending = time.perf_counter()
        batch.acknowledgements = await self.sink.send(batch.results)
        self._in_flight = batch
        if self.pipelined:
            task = asyncio.create_task(self._store_when_acknowledged(batch))
            self._store_tasks.add(task)
            task.add_done_callback(self._store_tasks.discard)
        else:
            await self.drain()

    async def drain(self) -> None:
        """Wait for the acknowledgements of the batch in flight, if there is one, and
        store it. If they fail, nothing of it is stored, `on_lost` is told (its inputs are
        to be processed again), and the failure is raised. Call it holding `lock`."""
        batch, self._in_flight = self._in_flight, None
        if batch is None or batch.acknowledgements is None:
            return
        try:
            await batch.acknowledgements.wait()
        except BaseException:
            if self.on_lost is not None:
                self.on_lost()
            raise
        batch.acknowledged = batch.acknowledged or time.perf_counter()
        self._store(batch)

    def close(self) -> None:
        """Stop waiting in the background for a batch's acknowledgements (at shutdown,
        after `drain()`)."""
        for task in list(self._store_tasks):
            task.cancel()

    async def _decide(self, inbounds: list[Inbound], count: int) -> InFlight:
        started = time.perf_counter()
        await self._catch_up_clock(inbounds)
        wall = self.wall.now()
        before = self._in_flight
        overlay = Overlay(before.overlay if before is not None else self.requests)
        results: list[Effects] = []
        self.exchange.store = overlay
        try:
            for inbound in inbounds:
                now = self.clock.at(inbound.timestamp)
                self.configure(now)
                results.append(self.exchange.receive(inbound, now, wall))
        finally:
            self.exchange.store = self.requests
        return InFlight(inbounds, results, overlay, count, started, time.perf_counter())

    def _store(self, batch: InFlight) -> None:
        storing = time.perf_counter()
        written = batch.overlay.flush()
        last = {(i.topic, i.partition): i.offset + 1 for i in batch.inbounds}
        self.positions.update({position_key(*key): offset for key, offset in last.items()})
        if self.on_stored is not None:
            self.on_stored(last)
        self.account(batch.results, written, time.perf_counter() - batch.started, batch.count)
        phases = self.metrics.batch_phases
        phases.labels("decide").observe(batch.decided - batch.started)
        phases.labels("write").observe(batch.acknowledged - batch.sending)
        phases.labels("store").observe(time.perf_counter() - storing)

    async def _store_when_acknowledged(self, batch: InFlight) -> None:
        """Store `batch` as soon as it is acknowledged, unless a later call did first."""
        assert batch.acknowledgements is not None
        with contextlib.suppress(Exception):  # drain() raises it and tells on_lost
            await batch.acknowledgements.wait()
            batch.acknowledged = time.perf_counter()
        if self._in_flight is not batch:
            return
        async with self.lock:
            if self._in_flight is batch:
                try:
                    await self.drain()
                except Exception:
                    log.warning("a batch was not acknowledged; its inputs come again")

    async def _catch_up_clock(self, inbounds: Sequence[Inbound]) -> None:
        """Apply every clock command the senders had seen before timing their messages."""
        needed = self._clock_wait.needed(inbounds, self.clock_source.position)
        if needed is not None and not await self.clock_source.wait_for(needed, 2.0):
            self._clock_wait.unreachable = needed

    def configure(self, now: datetime) -> None:
        """Rules and routing of the running exercise, as of exercise time `now` (rebuilt
        only when the exercise or the set of channels down changes)."""
        setup = self.clock.setup
        down = setup.down_at(now) if setup else frozenset()
        seen_setup, seen_down = self._configured_for
        if self.exchange.exercise_id != self.clock.exercise_id:
            # A new exercise: requests of the one before no longer fall due.
            self.exchange.exercise_id = self.clock.exercise_id
            self.index_stale = True
        if setup is not seen_setup or down != seen_down:
            self._configured_for = (setup, down)  # holding it keeps the identity check sound
            self.exchange.routing = routing_for(setup, now, self.settings.routing)
            self.exchange.rules = (setup.rules if setup else None) or self.settings.rules

    async def _write(self, results: Sequence[Effects]) -> None:
        """Send `results` and wait until they are acknowledged (nothing is in flight)."""
        await (await self.sink.send(results)).wait()

    # ---- time ----------------------------------------------------------------------------

    async def check_deadlines(self) -> None:
        """Flag the requests whose deadline has passed in exercise time (looking back by
        the settings' `lateness`, so that an answer sent in time is not beaten by the
        check). Call it holding `lock`, not while tables are being recovered."""
        await self.drain()  # what is flagged below is judged on stored state
        now = self.clock.before(self.settings.lateness)
        self.configure(now)
        if self.index_stale:
            self.rebuild_index()
        self.let_go_of_finished()
        await self.record_exercise_control()
        due = self.index.due(now)
        if not due:
            return
        overlay = Overlay(self.requests)
        self.exchange.store = overlay
        wall = self.wall.now()
        try:
            results = [self.exchange.deadline_due(e.request_id, now, wall) for e in due]
        finally:
            self.exchange.store = self.requests
        await self._write(results)
        written = overlay.flush()
        self.account(results, written, 0.0, 0)

    async def record_exercise_control(self) -> None:
        """Audit the clock commands not audited yet, once each: the owner of the audit's
        partition 0 writes them there, and remembers where it got to with its positions."""
        if CONTROL_PARTITION not in self.owned:
            return
        key = position_key(self.topics.clock, 0)
        commands = self.clock_source.commands_since(self.positions.get(key, 0))
        if not commands:
            return
        wall = self.wall.now()
        records = [
            control_record(offset, command, self.clock.at(command.issued_at.timestamp()), wall)
            for offset, command in commands
        ]
        await self._write([Effects(audit=records)])
        self.positions[key] = commands[-1][0] + 1

    def let_go_of_finished(self) -> None:
        """Remove from the store the finished requests kept past their retention."""
        for finished in self.retention.expired(self.wall.now().timestamp()):
            if finished.partition in self.owned and finished.request_id in self.requests:
                del self.requests[finished.request_id]  # a tombstone on the changelog

    def rebuild_index(self) -> None:
        """Rebuild the deadline heap, the retention queue and the gauges from the store
        (after a restart, a rebalance or a new exercise). Finished requests, and those of
        an exercise that is over, get their retention anew."""
        entries = []
        finished = []
        now_wall = self.wall.now().timestamp()
        self.metrics.open_requests.clear()
        self.metrics.overdue_requests.clear()
        for key in list(self.requests):
            request = self.requests[key]
            if request.partition not in self.owned:
                continue
            over = request.exercise_id != self.exchange.exercise_id
            if request.one_way or request.settled or over:
                finished.append(Finished(now_wall, request.request_id, request.partition))
                continue
            self.metrics.open_requests.labels(*_labels(request)).inc()
            if request.overdue:
                self.metrics.overdue_requests.labels(*_labels(request)).inc()
            elif request.deadline is not None:
                entries.append(
                    DueEntry(request.deadline.timestamp(), request.request_id, request.partition)
                )
        self.index.rebuild(entries)
        self.retention.rebuild(finished)
        self.index_stale = False

    # ---- bookkeeping ---------------------------------------------------------------------

    def account(
        self, results: list[Effects], written: list[RequestEntry], seconds: float, count: int
    ) -> None:
        """Deadlines, retention and metrics of what was written."""
        # Deadlines first: nothing below may cost a request its place in the index.
        now_wall = self.wall.now().timestamp()
        for stored in written:
            if stored.deadline is not None and not stored.overdue:
                self.index.schedule(stored.request_id, stored.deadline, stored.partition)
            elif stored.settled or stored.one_way:
                self.retention.add(stored.request_id, stored.partition, now_wall)
        for effects in results:
            if effects.duplicate:
                self.metrics.duplicate(effects.kind.value if effects.kind else "unknown")
            for request, delta in ((effects.opened, 1), (effects.settled, -1)):
                if request is not None:
                    self.metrics.open_requests.labels(*_labels(request)).inc(delta)
            if effects.overdue is not None:
                self.metrics.overdue_requests.labels(*_labels(effects.overdue)).inc()
            if effects.settled is not None and effects.settled.overdue:
                self.metrics.overdue_requests.labels(*_labels(effects.settled)).dec()
            for out in effects.outputs:
                if out.topic == self.topics.deadletter:
                    continue
                sent = _epoch(out.record.header_text("ce_time"))
                if sent is not None:
                    self.metrics.transit.labels(
                        out.record.header_text("ce_channel") or "none", _urgency_of(effects)
                    ).observe(max(now_wall - sent, 0.0))
        if count:
            per_message = seconds / count
            for _ in range(count):
                self.metrics.processing.observe(per_message)


def _labels(request: RequestEntry) -> tuple[str, str]:
    return request.channel.value, (request.urgency.value if request.urgency else "non_urgent")


def _urgency_of(effects: Effects) -> str:
    for request in (effects.opened, effects.settled, effects.overdue):
        if request is not None and request.urgency is not None:
            return request.urgency.value
    return "non_urgent"


def _epoch(text: str | None) -> float | None:
    """Epoch seconds of an ISO 8601 time, or None when absent or unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC).timestamp()
    except ValueError:
        return None
