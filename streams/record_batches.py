"""Record batches filled per topic and partition and handed to an aiokafka producer whole:
one acknowledgement to wait for per batch instead of one per record."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Self

from aiokafka import AIOKafkaProducer


class PartitionBatches:
    """Record batches being filled, one per topic and partition, for `producer`. Used as
    `async with`: on leaving, the batches still open are sent and every batch sent is
    waited for; the first failure is raised once all have settled, so a retry never
    overtakes a record still in flight (an audit chain would fork)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.futures: list[Any] = []  # one acknowledgement per batch sent
        self._open: dict[tuple[str, int], Any] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                await self.send_all()
        except BaseException:
            await self.settled()
            raise
        if exc_type is None:
            await self.wait()
        else:
            await self.settled()  # the failure that ended the block is the one raised

    async def settled(self) -> list[Any]:
        """Wait until every batch sent is acknowledged or failed; their outcomes."""
        return await asyncio.gather(*self.futures, return_exceptions=True)

    async def wait(self) -> None:
        """Wait for every batch sent; raise the first failure once all have settled."""
        for outcome in await self.settled():
            if isinstance(outcome, asyncio.CancelledError):  # not the caller's own
                raise RuntimeError("a record batch was cancelled") from outcome
            if isinstance(outcome, BaseException):
                raise outcome

    async def append(
        self,
        topic: str,
        partition: int,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        timestamp_ms: int | None = None,
    ) -> None:
        """Add a record (a full batch is sent first and a new one begun)."""
        where = (topic, partition)
        batch = self._open.get(where)
        if batch is None:
            batch = self._open[where] = self.producer.create_batch()
        if batch.append(key=key, value=value, timestamp=timestamp_ms, headers=headers) is None:
            await self._send(where, batch)
            batch = self._open[where] = self.producer.create_batch()
            # A fresh batch takes its first record whatever its size; never drop one.
            if batch.append(key=key, value=value, timestamp=timestamp_ms, headers=headers) is None:
                raise RuntimeError(f"a record for {topic}[{partition}] fits no batch")

    async def send_all(self) -> None:
        """Send every batch still open."""
        for where, batch in list(self._open.items()):
            await self._send(where, batch)

    async def _send(self, where: tuple[str, int], batch: Any) -> None:
        self._open.pop(where, None)
        batch.close()
        topic, partition = where
        self.futures.append(await self.producer.send_batch(batch, topic, partition=partition))
