"""The hub's output writer: seals audit records into their chains and sends every output
through the hub's own producer; the caller waits for the broker's acknowledgements.

Outputs go through this producer rather than Faust's: it batches freely (Faust's send path
costs several times more per record), and the hub waits for every acknowledgement itself
before it stores state or lets Faust commit (`streams.core`). A write fills one record
batch per topic and partition and hands each to the producer whole, so there is one
future to wait for per batch instead of one per record. The producer and the audit reader live from
`start()` to `stop()`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.topics import Topics, partition_for
from streams.auditor import Auditor
from streams.effects import Effects
from streams.metrics import HubMetrics
from streams.record_batches import PartitionBatches


class OutputWriter:
    """Sends a batch's effects, whose acknowledgements the caller waits for (an
    `OutputSink`)."""

    def __init__(
        self,
        bootstrap: str,
        topics: Topics,
        metrics: HubMetrics,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self.topics = topics
        self.metrics = metrics
        self.client_options = client_options or {"bootstrap_servers": bootstrap}
        self.auditor = Auditor(bootstrap, topics.audit, client_options=self.client_options)
        self._producer: AIOKafkaProducer | None = None
        self._partition_counts: dict[str, int] = {}

    async def start(self) -> None:
        """Open the producer and the reader of chain heads."""
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(
            **self.client_options,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            max_batch_size=256 * 1024,
        )
        try:
            await self.auditor.start()
            await producer.start()
        except Exception:
            await self.auditor.stop()
            await producer.stop()
            raise
        self._producer = producer

    async def stop(self) -> None:
        """Flush and close."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        await self.auditor.stop()

    def forget(self, partitions: set[int] | None = None) -> None:
        """Read the chain heads of `partitions` (default: all) again before their next
        record: after a rebalance or a failed batch, another writer may have moved on."""
        self.auditor.forget(partitions or set(range(self.topics.partitions)))

    async def send(self, results: Sequence[Effects]) -> PartitionBatches:
        """Seal the audit records and hand every output to the producer; the batches
        returned are acknowledged once their `wait()` returns."""
        assert self._producer is not None, "OutputWriter.start() first"
        batches = PartitionBatches(self._producer)
        try:
            await self._fill(results, batches)
            await batches.send_all()
        except BaseException:
            await batches.settled()  # a retry never overtakes a record still in flight
            raise
        return batches

    async def _fill(self, results: Sequence[Effects], batches: PartitionBatches) -> None:
        """Every record goes into the batch of its topic and partition, in order; a batch
        is sent when full and the rest at the end: one acknowledgement per batch, not one
        per record (about a third of the producer's cost per message)."""
        for effects in results:
            for out in effects.outputs:
                partition = out.partition
                if partition is None:
                    partition = await self._partition_of(out.topic, out.record.key)
                await batches.append(
                    out.topic,
                    partition,
                    key=out.record.key,
                    value=out.record.value,
                    headers=out.record.headers,
                    timestamp_ms=round(out.timestamp * 1000) if out.timestamp else None,
                )
            for record in effects.audit:
                sealed = await self.auditor.seal(record)
                self.metrics.observe_audit(record)
                await batches.append(
                    self.topics.audit,
                    record.partition,
                    key=(record.request_id or record.record_id).encode(),
                    value=sealed,
                    headers=[("onestop_record_id", record.record_id.encode())],
                )

    async def _partition_of(self, topic: str, key: bytes | None) -> int:
        """The partition the producer's default partitioner gives `key` (murmur2; a
        random one without a key)."""
        assert self._producer is not None
        count = self._partition_counts.get(topic)
        if count is None:
            count = len(await self._producer.partitions_for(topic))
            self._partition_counts[topic] = count
        return partition_for(key, count) if key is not None else random.randrange(count)
