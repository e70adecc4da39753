"""Record batches filled per topic and partition and handed to an aiokafka producer whole:
one acknowledgement to wait for per batch instead of one per record."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer


class PartitionBatches:
    """Record batches being filled, one per topic and partition, for `producer`; each
    batch sent adds its future to `futures`."""

    def __init__(self, producer: AIOKafkaProducer, futures: list[Any]) -> None:
        self.producer = producer
        self.futures = futures
        self._open: dict[tuple[str, int], Any] = {}

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
