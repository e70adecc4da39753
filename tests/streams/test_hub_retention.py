"""The hub lets go of finished requests after their retention, and only of those: a real
hub with a one-second retention, read back from its table's changelog topic."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.enums import Country, MessageKind
from schemas.envelope import DLQ_REASON, header_map
from schemas.topics import Topics
from tests.factories import SENT_AT, make_message
from tests.support import (
    HubProcess,
    Record,
    audit_records,
    create_topics,
    read_until,
    send_messages,
    start_clock,
    wait_for_hub,
)


def tombstones(records: list[Record]) -> set[str]:
    """Request ids deleted from the table (changelog keys are JSON strings)."""
    return {json.loads(r.key) for r in records if r.key is not None and r.value is None}


async def test_finished_requests_are_let_go_open_ones_kept(
    bootstrap: str, namespace: str, tmp_path: Path
) -> None:
    topics = Topics(namespace)
    await create_topics(bootstrap, topics, [Country.PL, Country.DE])
    clock_offset = await start_clock(bootstrap, topics, SENT_AT, 1)
    answered = make_message(MessageKind.REQUEST, message_id="r-answered", request_id="r-answered")
    reply = make_message(MessageKind.REPLY, message_id="r-answered.reply", request_id="r-answered")
    still_open = make_message(MessageKind.REQUEST, message_id="r-open", request_id="r-open")
    one_way = make_message(
        MessageKind.SPONTANEOUS_INFORMATION, message_id="s-info", request_id="s-info"
    )
    changelog = f"{namespace}-hub-requests-changelog"

    with HubProcess(bootstrap, topics, tmp_path, "--retention", "1") as hub:
        await wait_for_hub(bootstrap, topics)
        await send_messages(bootstrap, topics, [answered, still_open, one_way], clock_offset)
        # Outboxes are separate topics: the reply goes once the request is through.
        await read_until(
            bootstrap,
            topics.audit,
            lambda rs: (
                {"r-answered", "r-open", "s-info"}
                <= {r.request_id for r in audit_records(rs) if r.disclosed}
            ),
        )
        await send_messages(bootstrap, topics, [reply], clock_offset)
        deleted = await read_until(
            bootstrap, changelog, lambda rs: {"r-answered", "s-info"} <= tombstones(rs)
        )
        assert "r-open" not in tombstones(deleted), hub.log()[-3000:]

        # Sent again after its retention, the reply is no longer known as a duplicate: it
        # is refused whole to the dead-letter topic, never delivered a second time.
        await send_messages(bootstrap, topics, [reply], clock_offset)
        dead = await read_until(bootstrap, topics.deadletter, lambda rs: len(rs) >= 1)
        assert header_map(dead[0].headers)[DLQ_REASON] == "unknown_request"

    # Three openings, the clock's start, the reply, and the refused second reply.
    audit = audit_records(await read_until(bootstrap, topics.audit, lambda rs: len(rs) >= 6))
    delivered = [str(r.message_id) for r in audit if r.disclosed]
    assert sorted(delivered) == ["r-answered", "r-answered.reply", "r-open", "s-info"]
