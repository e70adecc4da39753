"""A table recovery whose changelog records the consumer took from Kafka but never handed
on still ends, with every record applied: the hub's recovery watch seeks the stalled
partitions back. The fault is injected into a hub in this process: its consumer lets go of
the first fetch of every changelog partition, as Faust's fetch loop can (see
`streams.recovery_watch`). The state to recover is written by a first hub, in a
subprocess, that stops before this one starts."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry

from onestop.kafka.probe import free_port
from onestop.kafka.services import hub_process
from schemas.enums import Country, MessageKind
from schemas.envelope import header_map
from schemas.topics import Topics
from streams.settings import HubSettings
from streams.transport import BatchedFetchConsumer
from streams.worker import Hub
from tests.factories import make_message, make_request
from tests.support import (
    create_topics,
    read_all,
    read_until,
    send_messages,
    start_clock,
    wait_for_hub,
)

PARTIES = [Country.PL, Country.DE]
BEFORE = 40  # requests whose state the second hub must recover
AFTER = 10  # requests it must deliver once recovered


def delivered_ids(records: list[Any]) -> set[str]:
    return {header_map(r.headers)["ce_id"] for r in records}


async def test_a_recovery_whose_changelog_fetch_was_lost_reads_it_again(
    bootstrap: str, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topics = Topics(namespace)
    await create_topics(bootstrap, topics, PARTIES)
    offset = await start_clock(bootstrap, topics, make_message(MessageKind.REQUEST).sent_at, 1)
    before = [make_request(f"recover-{n:03d}", Country.PL, Country.DE) for n in range(BEFORE)]
    after = [make_request(f"later-{n:03d}", Country.PL, Country.DE) for n in range(AFTER)]
    inbox = topics.inbox(Country.DE)

    with hub_process(bootstrap, topics, tmp_path / "first", parties=PARTIES):
        await wait_for_hub(bootstrap, topics)
        await send_messages(bootstrap, topics, before, clock_offset=offset)
        await read_until(bootstrap, inbox, lambda rs: len(delivered_ids(rs)) >= BEFORE, 90)

    settings = HubSettings(
        bootstrap=bootstrap,
        topics=topics,
        parties=tuple(PARTIES),
        web_port=free_port(),
        data_dir=tmp_path / "second",
        watch_interval=1.0,
        stall_patience=2.0,
    )
    registry = CollectorRegistry()
    hub = Hub(settings, registry=registry)
    consumer = cast(BatchedFetchConsumer, hub.app.consumer)
    fetch = consumer._getmany
    lost: dict[Any, int] = {}  # changelog partition -> records let go of

    async def lossy(
        active_partitions: set[Any] | None,
        timeout: float,  # noqa: ASYNC109
    ) -> Mapping[Any, list[Any]]:
        records = await fetch(active_partitions, timeout)
        kept = {}
        for tp, batch in records.items():
            if tp.topic in hub.app.tables.changelog_topics and tp not in lost and batch:
                lost[tp] = len(batch)  # taken from Kafka, never handed to Faust
            else:
                kept[tp] = batch
        return kept

    monkeypatch.setattr(consumer, "_getmany", lossy)
    try:
        async with asyncio.timeout(60):  # Faust's start returns once the tables are recovered
            await hub.app.start()
        assert all(hub.request_table.get(r.message_id) is not None for r in before)
        await send_messages(bootstrap, topics, after, clock_offset=offset)
        await read_until(bootstrap, inbox, lambda rs: len(delivered_ids(rs)) >= BEFORE + AFTER, 60)
    finally:
        await hub.app.stop()
    records = await read_all(bootstrap, inbox)  # all of it: a copy written twice shows

    assert sum(lost.values()) > 0, "the fault must hit some changelog records"
    assert delivered_ids(records) == {r.message_id for r in before + after}
    assert len(records) == BEFORE + AFTER  # the earlier requests were not delivered again
    reseeks = registry.get_sample_value("onestop_hub_recovery_reseeks_total")
    assert reseeks is not None and reseeks >= len(lost)
