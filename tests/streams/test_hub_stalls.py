"""Records the hub's consumer took from Kafka but never handed to the hub are found, read
back and processed, each exactly once: the last records of a partition (Faust can lose them
when it empties its stream buffer at the end of a rebalance) by the hub's watch on its input
partitions; the first records of a partition (a fetch that spanned a rebalance, dropped)
as a gap before the first record that arrives. The fault is injected through the hub's
constructor: a hub in this process that never sees some records of partition 0."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from onestop.kafka.probe import free_port
from schemas.enums import Country, MessageKind
from schemas.envelope import header_map
from schemas.topics import Topics
from streams.settings import HubSettings
from streams.worker import Hub
from tests.factories import make_message, make_request
from tests.support import create_topics, read_until, send_messages, start_clock, wait_for_hub

BOUNDARY = 3  # offset in partition 0 where the lost records end or begin
REQUESTS = 80


def tail_lost(partition: int, offset: int) -> bool:
    return partition == 0 and offset >= BOUNDARY


def head_lost(partition: int, offset: int) -> bool:
    return partition == 0 and offset < BOUNDARY


@pytest.mark.parametrize(
    ("never_seen", "reason"), [(tail_lost, "stalled"), (head_lost, "skipped")], ids=["tail", "head"]
)
async def test_records_never_delivered_to_the_hub_are_read_back_once(
    bootstrap: str,
    namespace: str,
    tmp_path: Path,
    never_seen: Callable[[int, int], bool],
    reason: str,
) -> None:
    topics = Topics(namespace)
    await create_topics(bootstrap, topics, [Country.PL, Country.DE])
    offset = await start_clock(bootstrap, topics, make_message(MessageKind.REQUEST).sent_at, 1)
    directions = itertools.cycle([(Country.PL, Country.DE), (Country.DE, Country.PL)])
    requests = [
        make_request(f"stall-{n:04d}", sender, recipient)
        for n, (sender, recipient) in zip(range(REQUESTS), directions, strict=False)
    ]
    settings = HubSettings(
        bootstrap=bootstrap,
        topics=topics,
        parties=(Country.PL, Country.DE),
        web_port=free_port(),
        data_dir=tmp_path / "hub",
        watch_interval=1.0,
        stall_patience=2.0,
    )
    registry = CollectorRegistry()
    hub = Hub(settings, registry=registry, lost=lambda i: never_seen(i.partition, i.offset))
    await hub.app.start()
    try:
        await wait_for_hub(bootstrap, topics)
        placed = await send_messages(bootstrap, topics, requests, clock_offset=offset)
        delivered: Counter[str] = Counter()
        for inbox in (topics.inbox(Country.PL), topics.inbox(Country.DE)):
            for record in await read_until(
                bootstrap, inbox, lambda rs: len(rs) >= REQUESTS // 2, wait_seconds=90
            ):
                delivered[header_map(record.headers)["ce_id"]] += 1
    finally:
        await hub.app.stop()

    undelivered = sum(1 for p, o in placed if never_seen(p, o))
    assert undelivered > 0, "the fault must hit some requests"
    assert set(delivered) == {r.message_id for r in requests}
    assert all(count == 1 for count in delivered.values()), delivered.most_common(3)
    read_back = registry.get_sample_value("onestop_hub_read_back_total", {"reason": reason})
    assert read_back == undelivered
