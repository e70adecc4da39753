"""The hub's table changes reach the changelogs through its own producer as the records
Faust writes and recovers: a JSON key, the stored bytes, on the key's partition. A worker
started after the first one stopped knows every request (the same requests sent again are
all recognised as duplicates) and every position (nothing the first one processed is
processed again)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from schemas.enums import Country, MessageKind
from schemas.envelope import header_map
from schemas.topics import Topics, partition_for
from streams.changelog import Change
from streams.lifecycle import RequestEntry
from streams.settings import HubSettings
from streams.worker import Hub
from tests.factories import make_message, make_request
from tests.support import (
    HubProcess,
    audit_records,
    create_topics,
    read_all,
    read_until,
    send_messages,
    start_clock,
    wait_for_hub,
)

SENDER, RECIPIENT = Country.PL, Country.LT
REQUESTS = 60


def duplicates(hub: HubProcess) -> float:
    for line in hub.metrics().splitlines():
        if line.startswith('onestop_hub_messages_total{kind="request",outcome="duplicate"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_restarted_worker_recovers_both_tables_from_the_changelogs(
    bootstrap: str, namespace: str, tmp_path: Path
) -> None:
    topics = Topics(namespace)
    await create_topics(bootstrap, topics, [SENDER, RECIPIENT])
    offset = await start_clock(bootstrap, topics, make_message(MessageKind.REQUEST).sent_at, 1)
    ids = [f"changelog-{n:03d}" for n in range(REQUESTS)]
    messages = [make_request(request_id, SENDER, RECIPIENT) for request_id in ids]
    with HubProcess(bootstrap, topics, tmp_path / "first") as first:
        await wait_for_hub(bootstrap, topics)
        await send_messages(bootstrap, topics, messages, offset)
        await read_until(
            bootstrap,
            topics.audit,
            lambda rs: sum(r.disclosed for r in audit_records(rs)) >= REQUESTS,
        )
        assert first.process is not None and first.process.poll() is None, first.log()
    # Stopped (SIGTERM): what it stored is on the changelogs.

    requests = await read_all(bootstrap, f"{topics.hub_group}-requests-changelog")
    stored = {json.loads(r.key): r for r in requests}
    assert set(stored) == set(ids)
    for request_id, record in stored.items():
        assert record.partition == partition_for(request_id.encode(), topics.partitions)
        entry = RequestEntry.model_validate_json(record.value)
        assert entry.request_id == request_id and entry.partition == record.partition
    outbox_ends = {
        (r.topic, r.partition): r.offset + 1
        for r in await read_all(bootstrap, topics.outbox(SENDER))
    }
    positions = {
        json.loads(r.key): int(r.value)
        for r in await read_all(bootstrap, f"{topics.hub_group}-positions-changelog")
        if r.key != json.dumps(f"{topics.clock}/0").encode()
    }
    assert positions == {
        f"{topic}/{partition}": end for (topic, partition), end in outbox_ends.items()
    }

    with HubProcess(bootstrap, topics, tmp_path / "second") as second:
        await wait_for_hub(bootstrap, topics)
        await send_messages(bootstrap, topics, messages, offset)  # the same messages again
        for _ in range(120):
            if duplicates(second) >= REQUESTS:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # anything processed twice would show by now
        assert duplicates(second) == REQUESTS, second.log()
    delivered = [
        header_map(r.headers)["ce_id"] for r in await read_all(bootstrap, topics.inbox(RECIPIENT))
    ]
    assert sorted(delivered) == sorted(ids)


def test_the_hubs_tables_hand_their_changes_to_its_own_writer(tmp_path: Path) -> None:
    """Without a broker: a write or a delete on either table becomes a change for the hub's
    changelog writer, in the table's stage, and nothing for Faust's producer."""
    topics = Topics("t")
    hub = Hub(HubSettings(bootstrap="127.0.0.1:9", topics=topics, data_dir=tmp_path))
    hub.request_table["req-1"] = b"{}"
    hub.position_table[f"{topics.outbox(SENDER)}/3"] = b"12"
    del hub.request_table["req-1"]

    state, positions = hub.changelog.buffer.take()

    requests = f"{topics.hub_group}-requests-changelog"
    partition = partition_for(b"req-1", topics.partitions)
    assert state == [
        Change(requests, partition, b'"req-1"', b"{}"),
        Change(requests, partition, b'"req-1"', None),
    ]
    key = json.dumps(f"{topics.outbox(SENDER)}/3").encode()
    assert positions == [Change(f"{topics.hub_group}-positions-changelog", 3, key, b"12")]
    assert hub.request_table.get("req-1") is None
    assert hub.position_table[f"{topics.outbox(SENDER)}/3"] == b"12"
