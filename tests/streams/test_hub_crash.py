"""SIGKILL the hub in the middle of a stream of requests and start it again: every request
reaches its inbox and its audit trail, each is counted once in the audit and the Art. 18
statistics, and the chain stays intact. The test reports how many duplicates the crash
caused (written twice, recognised by id)."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from aiokafka import AIOKafkaProducer

from onestop.audit.statistics import art18_statistics
from schemas.audit import AuditEvent, verify_chain
from schemas.enums import Country, MessageKind
from schemas.envelope import encode, header_map
from schemas.topics import Topics
from streams.settings import HubSettings
from tests.factories import make_message, make_request
from tests.support import (
    HubProcess,
    Record,
    audit_records,
    create_topics,
    read_all,
    read_until,
    start_clock,
    wait_for_hub,
)

PAIRS = [(Country.PL, Country.DE), (Country.LT, Country.PL), (Country.DE, Country.LT)]
REQUESTS = 1500


async def produce(bootstrap: str, topics: Topics, clock_offset: int, ids: list[str]) -> None:
    """Send the requests at a steady pace (about 300 a second), acknowledged one by one."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for request_id, (sender, recipient) in zip(ids, itertools.cycle(PAIRS), strict=False):
            message = make_request(request_id, sender, recipient)
            record = encode(message, extensions={"clockoffset": str(clock_offset)})
            await producer.send_and_wait(
                topics.outbox(sender), value=record.value, key=record.key, headers=record.headers
            )
            await asyncio.sleep(1 / 300)
    finally:
        await producer.stop()


async def test_sigkill_mid_stream_loses_nothing_and_counts_once(
    bootstrap: str, namespace: str, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    topics = Topics(namespace)
    await create_topics(bootstrap, topics, [c for pair in PAIRS for c in pair])
    offset = await start_clock(bootstrap, topics, make_message(MessageKind.REQUEST).sent_at, 1)
    ids = [f"crash-{n:05d}" for n in range(REQUESTS)]
    first = HubProcess(bootstrap, topics, tmp_path, "--log-level", "info").start()
    try:
        await wait_for_hub(bootstrap, topics)
        sending = asyncio.create_task(produce(bootstrap, topics, offset, ids))
        # Kill once the hub has delivered part of the stream.
        await read_until(
            bootstrap,
            topics.audit,
            lambda rs: sum(1 for r in audit_records(rs) if r.disclosed) > 300,
        )
        first.kill()
    finally:
        first.stop()
    with HubProcess(bootstrap, topics, tmp_path, "--log-level", "info") as second:
        await sending
        inboxes = {topics.inbox(c) for pair in PAIRS for c in pair}
        delivered: Counter[str] = Counter()
        for inbox in sorted(inboxes):

            def all_in(rs: list[Record], inbox: str = inbox) -> bool:
                return len({header_map(r.headers)["ce_id"] for r in rs}) >= sum(
                    1
                    for i, p in zip(ids, itertools.cycle(PAIRS), strict=False)
                    if topics.inbox(p[1]) == inbox
                )

            for record in await read_until(bootstrap, inbox, all_in, wait_seconds=120):
                delivered[header_map(record.headers)["ce_id"]] += 1
        raw = await read_until(
            bootstrap,
            topics.audit,
            lambda rs: len({r.request_id for r in audit_records(rs)
                            if r.event is AuditEvent.RECEIVED}) >= REQUESTS,
            wait_seconds=120,
        )  # fmt: skip
        assert second.process is not None and second.process.poll() is None, second.log()
        read_back = {
            line.split('"')[1]: float(line.rsplit(" ", 1)[1])
            for line in second.metrics().splitlines()
            if line.startswith("onestop_hub_read_back_total{")
        }

    assert set(delivered) == set(ids)
    records = (
        audit_records(raw) + audit_records(await read_all(bootstrap, topics.audit))[len(raw) :]
    )
    received = Counter(r.request_id for r in records if r.event is AuditEvent.RECEIVED)
    assert set(received) == set(ids)
    by_id = {r.record_id for r in records}
    assert len([r for r in by_id if r.endswith("/received")]) == REQUESTS
    for partition in range(topics.partitions):
        chain = verify_chain(partition, [r for r in records if r.partition == partition])
        assert chain.intact, chain.faults[:3]
    stats = art18_statistics(records)
    assert stats.totals.requests_sent == REQUESTS
    assert stats.totals.requests_received.total == REQUESTS

    duplicate_deliveries = sum(n - 1 for n in delivered.values())
    duplicate_audit = len(records) - len(by_id)
    # Only what was in flight when the hub died is written twice: at most a batch's
    # deliveries, and their audit records (one per request).
    batch = HubSettings(bootstrap=bootstrap).batch_size
    assert duplicate_deliveries <= batch, duplicate_deliveries
    assert duplicate_audit <= batch, duplicate_audit
    record_property("duplicate_deliveries", duplicate_deliveries)
    record_property("duplicate_audit_records", duplicate_audit)
    record_property("read_back", read_back)
    print(
        f"\nSIGKILL mid-stream: {REQUESTS} requests, {duplicate_deliveries} duplicate "
        f"deliveries and {duplicate_audit} duplicate audit records, all recognised by id; "
        f"records the restarted hub read back itself: {read_back}"
    )
