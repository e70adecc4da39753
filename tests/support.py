"""Helpers for tests against a real broker: a hub worker in a subprocess, topic readers."""

from __future__ import annotations

import asyncio
import signal
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Self, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from onestop.exercise.clock_control import publish_clock
from onestop.kafka.groups import wait_until_stable
from onestop.kafka.probe import free_port
from onestop.kafka.services import ServiceProcess, hub_process
from onestop.kafka.topics import ensure_topics
from schemas.access import KafkaTarget
from schemas.audit import AuditRecord
from schemas.clock import ClockAction, ClockCommand, ExerciseSetup
from schemas.enums import Country
from schemas.envelope import encode
from schemas.messages import MessageBase
from schemas.topics import Topics

Record: TypeAlias = ConsumerRecord[bytes, bytes]


class HubProcess(ServiceProcess):
    """`onestop hub` in a subprocess, for one test namespace."""

    def __init__(self, bootstrap: str, topics: Topics, workdir: Path, *extra: str) -> None:
        self.web_port = free_port()
        made = hub_process(bootstrap, topics, workdir, web_port=self.web_port, extra=extra)
        super().__init__(made.name, made.argv, made.log_path)

    def start(self) -> Self:
        """Start it; returns at once (typed as the hub, for its helpers below)."""
        super().start()
        return self

    def __enter__(self) -> Self:
        return self.start()

    def metrics(self, wait_seconds: float = 30.0) -> str:
        """The text of /metrics, waiting until the web port answers."""
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.web_port}/metrics", timeout=2
                ) as response:
                    return str(response.read().decode())
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.stop()

    def log(self) -> str:
        """What the worker printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def create_topics(bootstrap: str, topics: Topics, parties: list[Country]) -> None:
    """The installation's topics for `parties` (the hub also creates them for everyone)."""
    await ensure_topics(bootstrap, topics, parties)


async def read_until(
    bootstrap: str,
    topic: str,
    done: Callable[[list[Record]], bool],
    wait_seconds: float = 60.0,
) -> list[Record]:
    """Every record of `topic` from the beginning, read until `done(records)` is true.
    Raises TimeoutError with what was read when the condition is not met in time."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Record] = []
    try:
        partitions = await _partitions(consumer, topic)
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while not done(records):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{topic}: condition not met after {len(records)} records")
            batch = await consumer.getmany(timeout_ms=200)
            for tp_records in batch.values():
                records.extend(tp_records)
        return records
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, topic: str) -> list[Record]:
    """Every record now in `topic`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await _partitions(consumer, topic)]
        ends = await consumer.end_offsets(tps)  # before a fetch waits on the broker
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[Record] = []
        while True:
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= ends[tp] for tp in tps):
                return records
            batch = await consumer.getmany(timeout_ms=500)
            for tp_records in batch.values():
                records.extend(tp_records)
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    for _ in range(50):
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return sorted(partitions)
        await consumer._client.force_metadata_update()  # metadata of a new topic
        await asyncio.sleep(0.1)
    raise LookupError(f"topic {topic} not found")


async def send_messages(
    bootstrap: str, topics: Topics, messages: list[MessageBase], clock_offset: int | None = None
) -> list[tuple[int, int]]:
    """Write `messages` to their senders' outboxes as a node would (key = request id,
    default partitioner); return (partition, offset) of each. `clock_offset` tells the hub
    which clock commands they were sent under."""
    extensions = {"clockoffset": str(clock_offset)} if clock_offset is not None else None
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        placed = []
        for message in messages:
            record = encode(message, extensions=extensions)
            meta = await producer.send_and_wait(
                topics.outbox(message.sender),
                value=record.value,
                key=record.key,
                headers=record.headers,
            )
            placed.append((meta.partition, meta.offset))
        return placed
    finally:
        await producer.stop()


async def start_clock(
    bootstrap: str,
    topics: Topics,
    start: datetime,
    speed: float,
    setup: ExerciseSetup | None = None,
) -> int:
    """Publish a clock START; return the offset to pass as `clock_offset`."""
    offset = await publish_clock(
        bootstrap,
        topics,
        ClockCommand(
            exercise_id=topics.namespace,
            action=ClockAction.START,
            issued_at=datetime.now(UTC),
            exercise_start=start,
            speed=speed,
            setup=setup,
        ),
    )
    return offset + 1


def audit_records(records: list[Record]) -> list[AuditRecord]:
    """Audit records as read."""
    return [AuditRecord.model_validate_json(r.value) for r in records]


async def delete_every_topic(bootstrap: str) -> None:
    """Delete every topic on `bootstrap` but Kafka's own (``__consumer_offsets``, ...)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        doomed = [name for name in await admin.list_topics() if not name.startswith("__")]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


async def wait_for_hub(bootstrap: KafkaTarget, topics: Topics) -> None:
    """Return once the hub's consumer group is stable (it has its partitions)."""
    if not await wait_until_stable(bootstrap, f"{topics.namespace}-hub"):
        raise TimeoutError(f"hub of {topics.namespace} did not join its group")
