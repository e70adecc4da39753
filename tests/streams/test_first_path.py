"""The first path end to end on a real broker: PL asks LT, the hub delivers, LT answers,
the hub delivers the answer back; every step is on the audit trail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from producers.host import NodeHost
from schemas.audit import AuditEvent, AuditRecord, verify_chain
from schemas.enums import Accessibility, Country, Urgency
from schemas.envelope import decode, header_map
from schemas.messages import Request
from schemas.profiles import AnswerTime, NodeProfile
from schemas.topics import Topics
from tests.support import (
    HubProcess,
    create_topics,
    read_all,
    read_until,
    start_clock,
    wait_for_hub,
)

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PROMPT = NodeProfile(
    answer_time=AnswerTime(median_minutes=60, sigma=0),
    urgent_answer_time=AnswerTime(median_minutes=60, sigma=0),
    refusal_share=0,
    clarification_share=0,
    judicial_share=0,
    partial_share=0,
    acknowledge=False,
)


async def test_request_and_reply_travel_through_the_hub(
    bootstrap: str, namespace: str, tmp_path: Path
) -> None:
    topics = Topics(namespace, partitions=4)
    await create_topics(bootstrap, topics, [Country.PL, Country.LT])
    await start_clock(bootstrap, topics, START, 3600)
    host = NodeHost(bootstrap, topics, {Country.PL: PROMPT, Country.LT: PROMPT}, seed=7)
    with HubProcess(bootstrap, topics, tmp_path) as hub:
        await wait_for_hub(bootstrap, topics)
        await host.start()
        try:
            request = Request(
                message_id="pl-req-1",
                case_id="case-1",
                request_id="pl-req-1",
                sender=Country.PL,
                recipient=Country.LT,
                language="en",
                sent_at=host.clock.now(),
                urgency=Urgency.URGENT,
                urgency_reason="imminent threat to life",
                accessibility=Accessibility.DIRECT,
                subject="stolen vehicle LT plate ABC123",
            )
            await host.nodes[Country.PL].send(request)
            sent = host.nodes[Country.PL].sent["pl-req-1"]
            for _ in range(600):
                if sent.status == "answered":
                    break
                await asyncio.sleep(0.1)
            assert sent.status == "answered", hub.log()[-3000:]
        finally:
            await host.stop()

    delivered = await read_until(bootstrap, topics.inbox(Country.LT), lambda rs: len(rs) >= 1)
    headers = header_map(delivered[0].headers)
    assert decode(delivered[0].value, delivered[0].headers) == request
    assert headers["ce_channel"] == "siena"
    assert headers["ce_source"] == "/nodes/PL"

    audit = [
        AuditRecord.model_validate_json(r.value) for r in await read_all(bootstrap, topics.audit)
    ]
    # One record per input, each logging its disclosure too.
    assert [(r.event, r.recipients) for r in audit if r.request_id == "pl-req-1"] == [
        (AuditEvent.RECEIVED, [Country.LT]),
        (AuditEvent.ANSWERED, [Country.PL]),
    ]
    assert all(r.disclosed for r in audit if r.request_id == "pl-req-1")
    answered = next(r for r in audit if r.event is AuditEvent.ANSWERED)
    assert answered.details.wire()["on_time"] is True
    # LT answered one exercise hour after receipt (speed 3600: one wall second), within 8 h.
    assert 3600 <= answered.details.wire()["answer_seconds"] < 3 * 3600
    partition = audit[0].partition
    assert verify_chain(partition, [r for r in audit if r.partition == partition]).intact
