"""A raw Kafka passthrough, the yardstick of the hub's throughput.

It reads every outbox and writes each record, unchanged (key, value, headers, partition),
to the inbox topic of the same party: a topic-name rewrite with no decoding, validation,
routing, state or audit. It keeps the hub's Kafka contract otherwise: batches of up to 500
records or 5 ms, acks from all replicas awaited per batch, offsets committed once written
(at-least-once). Driven by the load generator at `--rate max`, it measures what this
machine, broker and Python client can move at all, so the hub's figure can be read as a
share of it.

Run it as `python -m onestop.bench.passthrough --bootstrap HOST:PORT --namespace NS`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Iterable, Sequence
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.enums import Country
from schemas.topics import DEFAULT_PARTITIONS, Topics

BATCH_RECORDS: Final = 500
BATCH_WAIT_MS: Final = 5
COMMIT_SECONDS: Final = 1.0
MAX_SECONDS: Final = 3600.0


def inbox_for(topics: Topics, outbox_topic: str) -> str | None:
    """The inbox of the party whose outbox `outbox_topic` is, or None for another topic."""
    party = topics.party_of(outbox_topic)
    if party is None or outbox_topic != topics.outbox(party):
        return None
    return topics.inbox(party)


class Passthrough:
    """Copies outbox records to inboxes, nothing else."""

    def __init__(
        self, bootstrap: str, topics: Topics, parties: Iterable[Country] = tuple(Country)
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.parties = tuple(parties)
        self.copied = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None

    @property
    def group_id(self) -> str:
        """The consumer group of the passthrough."""
        return f"{self.topics.namespace}-passthrough"

    async def start(self) -> None:
        """Connect and join the group on every outbox."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=2, max_batch_size=256 * 1024
        )
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            *(self.topics.outbox(p) for p in self.parties),
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=20,
        )
        await self._consumer.start()

    async def stop(self) -> None:
        """Disconnect (what was written is committed first)."""
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.commit()
            await self._consumer.stop()
            self._consumer = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def run(self, stopping: asyncio.Event, max_seconds: float = MAX_SECONDS) -> None:
        """Copy batches until `stopping` is set or `max_seconds` (wall) have passed."""
        assert self._consumer is not None and self._producer is not None, "start() first"
        loop = asyncio.get_running_loop()
        give_up = loop.time() + max_seconds
        last_commit = loop.time()
        while not stopping.is_set() and loop.time() < give_up:
            batch = await self._consumer.getmany(
                timeout_ms=BATCH_WAIT_MS, max_records=BATCH_RECORDS
            )
            if batch:
                await self.copy(batch)
            if loop.time() - last_commit >= COMMIT_SECONDS:
                await self._consumer.commit()
                last_commit = loop.time()

    async def copy(self, batch: dict[TopicPartition, Sequence[Any]]) -> None:
        """Write every record of `batch` to its inbox and wait for the acknowledgements."""
        assert self._producer is not None
        futures = []
        for tp, records in batch.items():
            target = inbox_for(self.topics, tp.topic)
            if target is None:
                continue
            for record in records:
                futures.append(
                    await self._producer.send(
                        target,
                        value=record.value,
                        key=record.key,
                        headers=list(record.headers),
                        partition=tp.partition,
                    )
                )
        if futures:
            await asyncio.gather(*futures)
            self.copied += len(futures)


async def serve(bootstrap: str, topics: Topics, max_seconds: float = MAX_SECONDS) -> None:
    """Run a passthrough until SIGTERM or SIGINT (or `max_seconds`)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    passthrough = Passthrough(bootstrap, topics)
    await passthrough.start()
    try:
        await passthrough.run(stopping, max_seconds)
    finally:
        await passthrough.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m onestop.bench.passthrough`: parse the options and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m onestop.bench.passthrough",
        description="Copy outbox records unchanged to inboxes: the hub's raw yardstick",
    )
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--namespace", required=True, help="topic prefix")
    parser.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS)
    parser.add_argument(
        "--max-seconds", type=float, default=MAX_SECONDS, help="stop after this many seconds"
    )
    options = parser.parse_args(argv)
    topics = Topics(options.namespace, options.partitions)
    asyncio.run(serve(options.bootstrap, topics, options.max_seconds))


if __name__ == "__main__":
    main()
