"""The hub's table changelogs, written through a producer of its own instead of Faust's.

Faust sends each table write to the changelog on its own (`send_soon`: a FutureMessage, a
buffer, one producer call per record); at 1,500 msg/s that was about a tenth of the hub's
CPU. The hub's tables (`streams.worker`) hand each change to `ChangelogWriter` instead,
which packs the changes in record batches per changelog partition (`PartitionBatches`) and
sends them in the background. The records are the very ones Faust would write: the key
serialised by the table's changelog topic, the value as stored, a tombstone for a delete,
on the partition the table gives the key; Faust still reads them back to recover a table.

Order is what keeps a crash harmless. Each table has a stage: the request state is stage 0,
the input positions stage 1. The changes taken together are sent stage by stage, each stage
only once the one before is acknowledged, so a stored position is never on the changelog
before the state it stands for: a crash in between leaves the input below the stored
position, and it is processed again and recognised as a duplicate. The writer takes every
change made so far at once, and the core makes the changes of a batch with no await in
between, so a batch's state and its positions always travel in the same round.

A round that fails (the producer gave up after its own retries) calls `on_failure`: the
worker then ends the process, since a later round must never overtake a lost one; what was
not on the changelog is processed again after the restart. `flush()` waits until every
change made so far is acknowledged. The worker flushes before partitions move away, before
it commits an input offset (a worker that finds no stored position for a partition starts
at the committed offset, so nothing below it may lack its state), and when it stops, before
its consumer leaves the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer

from streams.record_batches import PartitionBatches

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """One changelog record: the new value of a key, or None for a delete."""

    topic: str
    partition: int
    key: bytes
    value: bytes | None


class ChangeBuffer:
    """Changes not yet sent, in the order they were made, per stage (pure: no I/O)."""

    def __init__(self) -> None:
        self.stages: dict[int, list[Change]] = {}

    def add(self, stage: int, change: Change) -> None:
        self.stages.setdefault(stage, []).append(change)

    def take(self) -> list[list[Change]]:
        """Every change so far, stage by stage (lowest first); the buffer is left empty."""
        taken = [self.stages[stage] for stage in sorted(self.stages)]
        self.stages = {}
        return taken

    def __len__(self) -> int:
        return sum(len(changes) for changes in self.stages.values())


class ChangelogWriter:
    """Sends the tables' changes in rounds, stage by stage (see the module text)."""

    def __init__(
        self,
        client_options: dict[str, Any],
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.client_options = client_options
        self.on_failure = on_failure
        self.buffer = ChangeBuffer()
        self.failure: BaseException | None = None
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        self._settled.set()

    def add(self, stage: int, change: Change) -> None:
        """A table changed: `change` is sent in the next round."""
        self.buffer.add(stage, change)
        self._settled.clear()
        self._wake.set()

    async def start(self) -> None:
        if self._producer is not None:
            return
        producer = self._new_producer()
        await producer.start()
        self._producer = producer
        self._task = asyncio.create_task(self._run(), name="hub-changelog")

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **self.client_options,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            max_batch_size=256 * 1024,
        )

    async def flush(self) -> None:
        """Return once every change made so far is acknowledged; raise if a round failed."""
        if self.failure is None:
            if self.buffer and self._task is None:
                raise RuntimeError("ChangelogWriter.start() first")
            await self._settled.wait()
        if self.failure is not None:
            raise self.failure

    async def stop(self) -> None:
        """Send what is left, then close."""
        if self._producer is None:
            return
        with contextlib.suppress(Exception):  # a failure was reported by the round
            await self.flush()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._producer.stop()
        self._producer = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.buffer:
                try:
                    await self._send(self.buffer.take())
                except Exception as exc:
                    log.critical("changelog round failed", exc_info=True)
                    self.failure = exc
                    self._settled.set()
                    if self.on_failure is not None:
                        self.on_failure(exc)
                    return
            self._settled.set()

    async def _send(self, stages: list[list[Change]]) -> None:
        """Each stage's changes, in order, once the stage before is acknowledged."""
        assert self._producer is not None
        for changes in stages:
            async with PartitionBatches(self._producer) as batches:
                for change in changes:
                    await batches.append(
                        change.topic,
                        change.partition,
                        key=change.key,
                        value=change.value,
                        headers=[],
                    )
