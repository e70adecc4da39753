"""Records the hub's consumer took from Kafka but never handed to the agent (Faust can
lose them when it empties its stream buffer at the end of a rebalance) are found by the
hub's watch on its input partitions, read back and processed, each exactly once. The fault
is injected into a real hub process by `tests/faults/sitecustomize.py`."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from schemas.enums import Accessibility, Country, MessageKind, Urgency
from schemas.envelope import encode, header_map
from schemas.topics import Topics, partition_for
from tests.factories import make_message
from tests.support import HubProcess, create_topics, read_until, start_clock, wait_for_hub

FAULTS = Path(__file__).resolve().parents[1] / "faults"
UNDELIVERED_FROM = 3  # offsets from here on in partition 0 never reach the agent
REQUESTS = 80


async def test_records_never_delivered_to_the_agent_are_read_back_once(
    bootstrap: str, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONESTOP_FAULT_UNDELIVERED", str(UNDELIVERED_FROM))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(FAULTS), os.environ.get("PYTHONPATH", "")])
    )
    topics = Topics(namespace)
    await create_topics(bootstrap, topics, [Country.PL, Country.DE])
    offset = await start_clock(bootstrap, topics, make_message(MessageKind.REQUEST).sent_at, 1)
    ids = [f"stall-{n:04d}" for n in range(REQUESTS)]
    senders = itertools.cycle([(Country.PL, Country.DE), (Country.DE, Country.PL)])
    pairs = list(zip(ids, senders, strict=False))
    # Records each outbox's partition 0 gets at offset 3 and beyond: never delivered.
    undelivered = sum(
        max(
            sum(
                1
                for i, (sender, _) in pairs
                if sender is outbox and partition_for(i.encode(), topics.partitions) == 0
            )
            - UNDELIVERED_FROM,
            0,
        )
        for outbox in (Country.PL, Country.DE)
    )
    assert undelivered > 0, "the fault must hit some requests"
    with HubProcess(bootstrap, topics, tmp_path, "--parties", "PL,DE") as hub:
        await wait_for_hub(bootstrap, topics)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for request_id, (sender, recipient) in pairs:
                message = make_message(
                    MessageKind.REQUEST,
                    message_id=request_id,
                    request_id=request_id,
                    case_id=request_id,
                    sender=sender,
                    recipient=recipient,
                    urgency=Urgency.NON_URGENT,
                    accessibility=Accessibility.DIRECT,
                )
                record = encode(message, extensions={"clockoffset": str(offset)})
                await producer.send_and_wait(
                    topics.outbox(sender), value=record.value, key=record.key,
                    headers=record.headers,
                )  # fmt: skip
        finally:
            await producer.stop()
        delivered: Counter[str] = Counter()
        for inbox in (topics.inbox(Country.PL), topics.inbox(Country.DE)):
            for record in await read_until(
                bootstrap,
                inbox,
                lambda rs: len(rs) >= REQUESTS // 2,
                wait_seconds=90,
            ):
                delivered[header_map(record.headers)["ce_id"]] += 1
        metrics = hub.metrics()

    assert set(delivered) == set(ids)
    assert all(count == 1 for count in delivered.values()), delivered.most_common(3)
    stalled = next(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('onestop_hub_read_back_total{reason="stalled"}')
    )
    assert stalled == undelivered
