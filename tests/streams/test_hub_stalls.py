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

from schemas.enums import Country, MessageKind
from schemas.envelope import header_map
from schemas.topics import Topics
from tests.factories import make_message, make_request
from tests.support import (
    HubProcess,
    create_topics,
    read_until,
    send_messages,
    start_clock,
    wait_for_hub,
)

FAULTS = Path(__file__).resolve().parents[1] / "faults"
UNDELIVERED_FROM = 3  # offsets from here on in partition 0 never reach the agent
REQUESTS = 80


async def test_records_never_delivered_to_the_agent_are_read_back_once(
    bootstrap: str, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONESTOP_FAULT_UNDELIVERED", str(UNDELIVERED_FROM))
    search_path = [str(FAULTS), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(search_path))
    topics = Topics(namespace)
    await create_topics(bootstrap, topics, [Country.PL, Country.DE])
    offset = await start_clock(bootstrap, topics, make_message(MessageKind.REQUEST).sent_at, 1)
    directions = itertools.cycle([(Country.PL, Country.DE), (Country.DE, Country.PL)])
    requests = [
        make_request(f"stall-{n:04d}", sender, recipient)
        for n, (sender, recipient) in zip(range(REQUESTS), directions, strict=False)
    ]
    with HubProcess(bootstrap, topics, tmp_path, "--parties", "PL,DE") as hub:
        await wait_for_hub(bootstrap, topics)
        placed = await send_messages(bootstrap, topics, requests, clock_offset=offset)
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

    undelivered = sum(1 for p, o in placed if p == 0 and o >= UNDELIVERED_FROM)
    assert undelivered > 0, "the fault must hit some requests"
    assert set(delivered) == {r.message_id for r in requests}
    assert all(count == 1 for count in delivered.values()), delivered.most_common(3)
    stalled = next(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('onestop_hub_read_back_total{reason="stalled"}')
    )
    assert stalled == undelivered
