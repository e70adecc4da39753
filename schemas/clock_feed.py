"""Follows the clock topic into an ExerciseClock.

The one piece of Kafka I/O in the contract: the hub and the nodes must read exercise time
the same way, and they may not import each other, so both use this reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from schemas.access import KafkaTarget, client_options
from schemas.clock import ClockCommand, ExerciseClock

log = logging.getLogger(__name__)


class ClockFeed:
    """Reads every command on the clock topic, from the beginning, into `clock`.

    `start()` returns once the commands already on the topic are applied, so a component
    starts with the right exercise time."""

    def __init__(self, bootstrap: KafkaTarget, topic: str, clock: ExerciseClock) -> None:
        """`bootstrap`: the servers, or a `KafkaAccess` on a secure broker."""
        self.bootstrap = bootstrap
        self.topic = topic
        self.clock = clock
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self.position = 0  # offset after the last command read (the topic has one partition)
        self.applied: list[tuple[int, ClockCommand]] = []  # every command read, with offset
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        """Connect, catch up with the topic, then follow it in the background."""
        if self._consumer is not None:
            return
        consumer = AIOKafkaConsumer(
            **client_options(self.bootstrap), enable_auto_commit=False, group_id=None
        )
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()  # a refused login: nothing left open
            raise
        self._consumer = consumer
        partitions = consumer.partitions_for_topic(self.topic) or {0}
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        # The ends first: once assigned, the consumer's fetch waits on the broker for new
        # records (half a second), and a question asked behind it waits as long.
        ends = await consumer.end_offsets(tps)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while not await self._caught_up(consumer, ends):
            await self._apply_batch(await consumer.getmany(timeout_ms=500))
        self._task = asyncio.create_task(self._follow(), name=f"clock-feed:{self.topic}")

    @staticmethod
    async def _caught_up(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return False
        return True

    async def _follow(self) -> None:
        assert self._consumer is not None
        while True:
            await self._apply_batch(await self._consumer.getmany(timeout_ms=1000))

    async def _apply_batch(self, batch: dict[TopicPartition, list[object]]) -> None:
        if not batch:
            return
        for records in batch.values():
            for record in records:
                value = getattr(record, "value", None)
                self.position = max(self.position, int(getattr(record, "offset", 0)) + 1)
                try:
                    command = ClockCommand.model_validate_json(value or b"")
                except ValidationError as exc:
                    log.warning("ignoring invalid clock command at %s: %s", record, exc)
                    continue
                self.clock.apply(command)
                self.applied.append((int(getattr(record, "offset", 0)), command))
        async with self._changed:
            self._changed.notify_all()

    def commands_since(self, offset: int) -> list[tuple[int, ClockCommand]]:
        """The commands read at `offset` and after, with their offsets."""
        return [(at, command) for at, command in self.applied if at >= offset]

    async def wait_for(self, position: int, wait_seconds: float = 10.0) -> bool:
        """Wait until the commands before offset `position` are applied (a sender said its
        message was written after them); False if that takes longer than `wait_seconds`."""
        if self.position >= position:
            return True
        try:
            async with asyncio.timeout(wait_seconds), self._changed:
                await self._changed.wait_for(lambda: self.position >= position)
        except TimeoutError:
            log.warning("clock topic did not reach offset %d in %.0f s", position, wait_seconds)
            return False
        return True

    async def stop(self) -> None:
        """Stop following and disconnect."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
