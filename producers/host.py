"""Runs simulated nodes on Kafka: one producer for their outboxes, one consumer per inbox,
one exercise scheduler, all as asyncio tasks in one process.

An inbox offset is committed only once everything the message caused has been sent, so a
node that crashes answers again after a restart (with the same message ids, which the hub
recognises) instead of forgetting a request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from producers.metrics import NodeMetrics
from producers.node import SimulatedNode
from producers.profile import NodeProfile
from producers.scheduler import ExerciseScheduler
from schemas.clock import ExerciseClock
from schemas.clock_feed import ClockFeed
from schemas.enums import Country
from schemas.envelope import EnvelopeError, decode, encode
from schemas.messages import MessageBase
from schemas.topics import Topics

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
        bootstrap: str,
        topics: Topics,
        profiles: Mapping[Country, NodeProfile],
        *,
        seed: int = 0,
        registry: CollectorRegistry | None = None,
        clock: ExerciseClock | None = None,
        answering: set[Country] | None = None,
    ) -> None:
        """`answering`: the nodes that read and answer their inbox here (default: all);
        the others only send (their answers come from another process)."""
        self.bootstrap = bootstrap
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
        self._producer: AIOKafkaProducer | None = None
        self._consumers: dict[Country, AIOKafkaConsumer] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._trackers: dict[Country, OffsetTracker] = {}

    async def start(self) -> None:
        """Connect, follow the clock, and start answering."""
        await self.clock_feed.start()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, enable_idempotence=True, acks="all", linger_ms=1
        )
        await self._producer.start()
        for country, node in self.nodes.items():
            if country not in self.answering:
                continue
            consumer = AIOKafkaConsumer(
                self.topics.inbox(country),
                bootstrap_servers=self.bootstrap,
                group_id=f"{self.topics.namespace}-node-{country.value}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            await consumer.start()
            self._consumers[country] = consumer
            self._tasks.append(
                asyncio.create_task(self._consume(node, consumer), name=f"inbox-{country}")
            )
        await self._wait_for_assignments()
        self.scheduler.start()

    async def _wait_for_assignments(self, wait_seconds: float = 60.0) -> None:
        """Return once every inbox consumer has its partitions: from then on nothing
        addressed to these nodes waits for a group rebalance."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while any(not c.assignment() for c in self._consumers.values()):
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
            except Exception:
                log.exception("inbox task %s had failed", task.get_name())
        self._tasks.clear()
        for country, consumer in self._consumers.items():
            await _commit(consumer, self._trackers[country])
            await consumer.stop()
        self._consumers.clear()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        await self.clock_feed.stop()

    async def publish(self, message: MessageBase) -> None:
        """Write `message` to its sender's outbox and wait for the broker's acknowledgement."""
        assert self._producer is not None, "NodeHost.start() first"
        # Tells the hub which clock commands this message was sent under.
        record = encode(message, extensions={"clockoffset": str(self.clock_feed.position)})
        await self._producer.send_and_wait(
            self.topics.outbox(message.sender),
            value=record.value,
            key=record.key,
            headers=record.headers,
        )

    async def _consume(self, node: SimulatedNode, consumer: AIOKafkaConsumer) -> None:
        tracker = self._trackers[node.country] = OffsetTracker()
        loop = asyncio.get_running_loop()
        last_commit = loop.time()
        while True:
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
                    node.receive(
                        message, done=functools.partial(tracker.finished, tp, record.offset)
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
