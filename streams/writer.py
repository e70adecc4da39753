"""The hub's output writer: seals audit records into their chains and writes every output
through the hub's own producer, then waits for the broker's acknowledgements.

Outputs go through this producer rather than Faust's: it batches freely (Faust's send path
costs several times more per record), and the hub waits for every acknowledgement itself
before it stores state or lets Faust commit (`streams.core`). The producer and the audit
reader live from `start()` to `stop()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.topics import Topics
from streams.auditor import Auditor
from streams.effects import Effects
from streams.metrics import HubMetrics


class OutputWriter:
    """Writes a batch's effects and returns once all are acknowledged (an `OutputSink`)."""

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

    async def write(self, results: Sequence[Effects]) -> None:
        """Seal the audit records and send every output; return when all are acknowledged."""
        assert self._producer is not None, "OutputWriter.start() first"
        futures: list[Any] = []
        try:
            await self._send_all(results, futures)
        finally:
            # Every send settles before a failure is raised, so a retry never overtakes
            # a record still in flight (the audit chain would fork).
            outcomes = await asyncio.gather(*futures, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _send_all(self, results: Sequence[Effects], futures: list[Any]) -> None:
        assert self._producer is not None
        send = self._producer.send
        for effects in results:
            for out in effects.outputs:
                futures.append(
                    await send(
                        out.topic,
                        value=out.record.value,
                        key=out.record.key,
                        partition=out.partition,
                        headers=out.record.headers,
                        timestamp_ms=round(out.timestamp * 1000) if out.timestamp else None,
                    )
                )
            for record in effects.audit:
                sealed = await self.auditor.seal(record)
                self.metrics.observe_audit(record)
                futures.append(
                    await send(
                        self.topics.audit,
                        value=sealed,
                        key=(record.request_id or record.record_id).encode(),
                        partition=record.partition,
                        headers=[("onestop_record_id", record.record_id.encode())],
                    )
                )
