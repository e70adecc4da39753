"""Seals audit records into per-partition hash chains.

A chain's head is read back from the audit topic itself the first time a partition is
written after start-up or a rebalance, so a restarted hub continues the chain exactly
where the topic ends, whatever it had written before it died.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.audit import AuditRecord, ChainHead
from streams.settings import READER_FETCH_WAIT_MS

READ_ATTEMPTS = 15  # of 2 s each


class AuditTailError(RuntimeError):
    """The chain head of a partition could not be read back from the audit topic."""


class Auditor:
    """Chain heads for the audit partitions this worker writes."""

    def __init__(
        self, bootstrap: str, topic: str, client_options: dict[str, Any] | None = None
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.client_options = client_options or {"bootstrap_servers": bootstrap}
        self._heads: dict[int, ChainHead] = {}
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Open the reader used to find chain heads."""
        if self._consumer is not None:
            return
        self._consumer = AIOKafkaConsumer(
            **self.client_options,
            enable_auto_commit=False,
            group_id=None,
            fetch_max_wait_ms=READER_FETCH_WAIT_MS,
        )
        await self._consumer.start()

    async def stop(self) -> None:
        """Close the reader."""
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    def forget(self, partitions: set[int]) -> None:
        """Drop the heads of partitions this worker no longer writes."""
        for partition in partitions:
            self._heads.pop(partition, None)

    async def seal(self, record: AuditRecord) -> bytes:
        """`record` chained at the head of its partition, as JSON for the audit topic."""
        head = self._heads.get(record.partition)
        if head is None:
            head = await self._read_head(record.partition)
            self._heads[record.partition] = head
        return head.seal_json(record)

    async def _read_head(self, partition: int) -> ChainHead:
        assert self._consumer is not None, "Auditor.start() first"
        tp = TopicPartition(self.topic, partition)
        end = (await self._consumer.end_offsets([tp]))[tp]  # before a fetch is in flight
        if end == 0:
            return ChainHead()
        self._consumer.assign([tp])
        self._consumer.seek(tp, end - 1)
        for _ in range(READ_ATTEMPTS):
            batch = await self._consumer.getmany(tp, timeout_ms=2000)
            records = batch.get(tp, [])
            if records:
                self._consumer.pause(tp)  # read: no more fetches until the next head
                last = AuditRecord.model_validate_json(records[-1].value)
                return ChainHead(seq=last.seq + 1, last_hash=last.hash)
        raise AuditTailError(
            f"could not read the last record of {self.topic}[{partition}] (offset {end - 1})"
        )
