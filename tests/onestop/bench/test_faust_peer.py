"""The plain Faust peer on a real broker: every message through, its CPU measured, its
group's lag back to 0."""

from __future__ import annotations

import asyncio
from pathlib import Path

from onestop.bench.measure import probe_ready
from onestop.bench.namespaces import group_lag, partitions_of, undelivered, wait_until_drained
from onestop.bench.processes import faust_peer_group, faust_peer_process, running
from onestop.kafka.topics import ensure_topics
from producers.load.generator import LoadGenerator
from producers.load.settings import LoadSettings, load_nodes
from schemas.topics import Topics


async def test_faust_peer_forwards_every_message_and_its_cpu_is_read(
    bootstrap: str, namespace: str, tmp_path: Path
) -> None:
    topics = Topics(namespace)
    parties = load_nodes(2)
    await ensure_topics(bootstrap, topics, parties)
    process = faust_peer_process(bootstrap, topics, tmp_path, parties)
    with running(process) as peer:
        async with LoadGenerator(bootstrap, topics, 2) as generator:
            await probe_ready(generator, peer, lambda _text: None)
            before = peer.cpu_seconds()
            result = await generator.load(LoadSettings(rate=40.0, duration=3.0, nodes=2))
            after = peer.cpu_seconds()
        outboxes = partitions_of([topics.outbox(p) for p in parties], topics.partitions)
        inboxes = partitions_of([topics.inbox(p) for p in parties], topics.partitions)
        group = faust_peer_group(topics)
        drained = await wait_until_drained(bootstrap, group, outboxes, inboxes, 60.0)
        for _ in range(60):  # Faust commits every few seconds
            if (lag := await group_lag(bootstrap, group, outboxes)) == 0:
                break
            await asyncio.sleep(0.5)

    assert result.sent == 120
    assert result.delivered == 120, process.log_tail()
    assert result.missing == result.duplicates == result.deadlettered == 0
    assert before is not None and after is not None and after > before
    assert drained is not None
    assert await undelivered(bootstrap, outboxes, inboxes) == 0  # one copy per record
    assert lag == 0  # and committed what it forwarded
