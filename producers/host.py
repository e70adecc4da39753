"""Runs simulated nodes on Kafka: one producer for their outboxes, one consumer per inbox,
one exercise scheduler, all as asyncio tasks in one process. On a secure broker each node
logs in as its own party (`party_access`): a producer and a consumer of its own.

An inbox offset is committed only once everything the message caused has been sent, so a
node that crashes answers again after a restart (with the same message ids, which the hub
recognises) instead of forgetting a request.

The nodes play one exercise at a time: the one the clock's latest START names, or, when the
host is given an `exercise_id`, only that one (an exercise runner's own nodes). When a new
exercise starts, what was pending for the one before is dropped, and inbox messages the hub
received before the exercise started are passed over unanswered: an earlier run on the
same broker leaks nothing into the next. A message is sent stamped with the wall instant
of the exercise moment it is sent at (see `schemas.clock.ExerciseClock.wall_at`), so the
hub receives it at that very moment of exercise time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from producers.metrics import NodeMetrics
from producers.node import SimulatedNode
from producers.scheduler import ExerciseScheduler
from schemas.access import KafkaAccess, KafkaTarget, client_options
from schemas.clock import ClockCommand, ExerciseClock
from schemas.clock_feed import ClockFeed
from schemas.enums import Country
from schemas.envelope import EnvelopeError, decode, encode
from schemas.messages import MessageBase
from schemas.profiles import NodeProfile
from schemas.refusals import AccessRefused, explained
from schemas.topics import Topics, process_client_id

log = logging.getLogger(__name__)
COMMIT_SECONDS = 1.0


class OffsetTracker:
    """Which inbox offsets are finished, so that commits never pass an unfinished one."""

    def __init__(self) -> None:
        self._pending: dict[TopicPartition, set[int]] = {}
        self._next: dict[TopicPartition, int] = {}

    def taken(self, tp: TopicPartition, offset: int) -> None:
        """Offset `offset` was read and is being handled."""
        self._pending.setdefault(tp, set()).add(offset)
        self._next[tp] = max(self._next.get(tp, 0), offset + 1)

    def finished(self, tp: TopicPartition, offset: int) -> None:
        """Everything offset `offset` caused has been sent."""
        self._pending.get(tp, set()).discard(offset)

    def committable(self) -> dict[TopicPartition, int]:
        """Per partition, the offset to commit: the lowest unfinished one, or the next."""
        result = {}
        for tp, nxt in self._next.items():
            pending = self._pending.get(tp)
            result[tp] = min(pending) if pending else nxt
        return result


class NodeHost:
    """Simulated nodes of one process, connected to Kafka."""

    def __init__(
        self,
        bootstrap: KafkaTarget,
        topics: Topics,
        profiles: Mapping[Country, NodeProfile],
        *,
        seed: int = 0,
        registry: CollectorRegistry | None = None,
        clock: ExerciseClock | None = None,
        answering: set[Country] | None = None,
        exercise_id: str | None = None,
        party_access: Mapping[Country, KafkaAccess] | None = None,
    ) -> None:
        """`bootstrap`: the servers, or a `KafkaAccess` (the clock is read with it, and
        every node writes and reads with it unless `party_access` gives it its own).
        `answering`: the nodes that read and answer their inbox here (default: all);
        the others only send (their answers come from another process). `exercise_id`:
        play only that exercise (default: whichever the clock runs). `party_access`: on
        a secure broker, each node's own login, with a producer and a consumer of its
        own (default: one producer for all)."""
        self.bootstrap = bootstrap
        self.party_access = dict(party_access or {})
        self.topics = topics
        self.clock = clock or ExerciseClock()
        self.registry = registry or CollectorRegistry()
        self.metrics = NodeMetrics(self.registry)
        self.scheduler = ExerciseScheduler(self.clock)
        self.clock_feed = ClockFeed(bootstrap, topics.clock, self.clock)
        self.nodes = {
            country: SimulatedNode(
                country, profile, self.clock, self.scheduler, self.publish, self.metrics, seed
            )
            for country, profile in profiles.items()
        }
        self.answering = set(profiles) if answering is None else answering
        self.exercise_id = exercise_id
        self._playing: str | None = None  # the exercise the nodes' state belongs to
        self.clock.on_change(self._clock_changed)
        self._producers: dict[Country | None, AIOKafkaProducer] = {}
        self._consumers: dict[Country, AIOKafkaConsumer] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._trackers: dict[Country, OffsetTracker] = {}

    async def start(self) -> None:
        """Connect, follow the clock, and start answering."""
        async with explained(self.bootstrap, "read", self.topics.clock):
            await self.clock_feed.start()
        senders: list[Country | None] = [*self.nodes] if self.party_access else [None]
        for sender in senders:
            access = self.access(sender)
            producer = AIOKafkaProducer(
                **client_options(access), enable_idempotence=True, acks="all", linger_ms=1
            )
            self._producers[sender] = producer  # stopped by stop(), started or not
            async with explained(access, "write", self._outbox_of(sender)):
                await producer.start()
        for country, node in self.nodes.items():
            if country not in self.answering:
                continue
            access = self.access(country)
            consumer = AIOKafkaConsumer(
                self.topics.inbox(country),
                **client_options(access),
                group_id=f"{self.topics.namespace}-node-{country.value}",
                client_id=process_client_id("node"),
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            self._consumers[country] = consumer  # stopped by stop(), started or not
            async with explained(access, "read", self.topics.inbox(country)):
                await consumer.start()
            self._tasks.append(
                asyncio.create_task(self._consume(node, consumer), name=f"inbox-{country}")
            )
        await self._wait_for_assignments()
        self.scheduler.start()

    def access(self, party: Country | None) -> KafkaTarget:
        """How `party`'s node reaches Kafka (None: the shared login)."""
        if party is not None and party in self.party_access:
            return self.party_access[party]
        return self.bootstrap

    def _outbox_of(self, sender: Country | None) -> str | None:
        return self.topics.outbox(sender) if sender is not None else None

    def _check_inboxes(self) -> None:
        """Raise what ended an inbox task (a refusal of the broker, say), if one did."""
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                task.result()

    async def wait(self) -> None:
        """Return (or raise) when an inbox task ends: a node can no longer answer."""
        if self._tasks:
            await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            self._check_inboxes()

    async def _wait_for_assignments(self, wait_seconds: float = 60.0) -> None:
        """Return once every inbox consumer has its partitions: from then on nothing
        addressed to these nodes waits for a group rebalance. Raises what ended an inbox
        task meanwhile (a consumer group the broker refuses, say)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while any(not c.assignment() for c in self._consumers.values()):
            self._check_inboxes()
            if loop.time() > deadline:
                log.warning("inbox consumers still without partitions after %.0f s", wait_seconds)
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop answering, commit what is finished, disconnect."""
        await self.scheduler.stop()
        for task in self._tasks:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except AccessRefused as exc:
                log.warning("inbox task %s had ended: %s", task.get_name(), exc)
            except Exception:
                log.exception("inbox task %s had failed", task.get_name())
        self._tasks.clear()
        for country, consumer in self._consumers.items():
            tracker = self._trackers.get(country)
            if tracker is not None:
                await _commit(consumer, tracker)
            await consumer.stop()
        self._consumers.clear()
        for producer in self._producers.values():
            await producer.stop()
        self._producers.clear()
        await self.clock_feed.stop()

    async def publish(self, message: MessageBase, at: datetime | None = None) -> None:
        """Write `message` to its sender's outbox, sent at exercise time `at` (default:
        now), and wait for the broker's acknowledgement."""
        producer = self._producers.get(message.sender if self.party_access else None)
        assert producer is not None, "NodeHost.start() first"
        # Tells the hub which clock commands this message was sent under.
        record = encode(message, extensions={"clockoffset": str(self.clock_feed.position)})
        outbox = self.topics.outbox(message.sender)
        async with explained(self.access(message.sender), "write", outbox):
            await producer.send_and_wait(
                outbox,
                value=record.value,
                key=record.key,
                headers=record.headers,
                # Never before the instant (a jump, a START).
                timestamp_ms=self.clock.stamp_ms(at) if at is not None else None,
            )

    def playing(self) -> str | None:
        """The exercise the nodes play now, or None while they wait for theirs. A change
        of exercise drops what was pending for the one before."""
        current = self.clock.exercise_id
        if self.exercise_id is not None and current != self.exercise_id:
            current = None  # not (yet, or no longer) the exercise these nodes are for
        if self.clock.ended:
            current = None
        if current != self._playing:
            dropped = self.scheduler.clear()
            for node in self.nodes.values():
                node.forget()
            if dropped:
                log.info("exercise %s over: %d pending actions dropped", self._playing, dropped)
            self._playing = current
        return current

    def _trainee(self, party: Country) -> bool:
        setup = self.clock.setup
        return setup is not None and party in setup.trainees

    def _clock_changed(self, command: ClockCommand) -> None:
        self.playing()  # a START or END drops what was pending at once

    def belongs(self, received: float) -> bool:
        """Whether an inbox message the hub received at wall time `received` (epoch
        seconds) belongs to the exercise being played: it came after the exercise started.
        Waiting for an exercise, or after its end, nothing does; with no exercise at all
        (nodes with traffic of their own), everything does."""
        playing = self.playing()
        if self.clock.ended or (self.exercise_id is not None and playing is None):
            return False
        started = self.clock.run_started
        return started is None or received >= started

    async def _consume(self, node: SimulatedNode, consumer: AIOKafkaConsumer) -> None:
        tracker = self._trackers[node.country] = OffsetTracker()
        loop = asyncio.get_running_loop()
        last_commit = loop.time()
        access, inbox = self.access(node.country), self.topics.inbox(node.country)
        while True:
            async with explained(access, "read", inbox):
                batch = await consumer.getmany(timeout_ms=200)
            for tp, records in batch.items():
                for record in records:
                    tracker.taken(tp, record.offset)
                    try:
                        message = decode(record.value, record.headers)
                    except EnvelopeError as exc:
                        log.warning("%s inbox: unreadable record at %s: %s", node.country, tp, exc)
                        tracker.finished(tp, record.offset)
                        continue
                    if not self.belongs(record.timestamp / 1000) or self._trainee(node.country):
                        # An earlier exercise's message, or a party a person plays.
                        tracker.finished(tp, record.offset)
                        continue
                    # The hub delivers with the timestamp the message reached it with.
                    received_at = self.clock.at(record.timestamp / 1000)
                    node.receive(
                        message,
                        done=functools.partial(tracker.finished, tp, record.offset),
                        received_at=received_at,
                    )
            if loop.time() - last_commit >= COMMIT_SECONDS:
                await _commit(consumer, tracker)
                last_commit = loop.time()


async def _commit(consumer: AIOKafkaConsumer, tracker: OffsetTracker) -> None:
    """Commit the finished offsets of the partitions still assigned; a commit refused
    during a rebalance is only logged (the records come again and are recognised)."""
    assigned = consumer.assignment()
    offsets = {tp: o for tp, o in tracker.committable().items() if tp in assigned}
    if not offsets:
        return
    try:
        await consumer.commit(offsets)
    except KafkaError as exc:
        log.warning("inbox commit refused (%s); the records will be redelivered", exc)
