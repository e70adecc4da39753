"""Creates OneStop's topics with the partition counts they need. The broker never
auto-creates them: co-partitioned topics must share one count."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.enums import Country
from schemas.topics import Topics

KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}


class TopicLayoutError(RuntimeError):
    """An existing topic has the wrong partition count."""


def wanted_topics(topics: Topics, parties: Iterable[Country]) -> dict[str, NewTopic]:
    """Every topic of an installation, with its partitions and settings."""
    wanted = {
        name: NewTopic(name, topics.partitions, 1) for name in topics.copartitioned(list(parties))
    }
    wanted[topics.audit] = NewTopic(topics.audit, topics.partitions, 1, topic_configs=KEEP_FOREVER)
    wanted[topics.deadletter] = NewTopic(
        topics.deadletter, topics.partitions, 1, topic_configs=KEEP_FOREVER
    )
    wanted[topics.clock] = NewTopic(topics.clock, 1, 1, topic_configs=KEEP_FOREVER)
    return wanted


async def ensure_topics(bootstrap: str, topics: Topics, parties: Iterable[Country]) -> list[str]:
    """Create the missing topics; return their names. Raises TopicLayoutError when an
    existing co-partitioned topic has another partition count."""
    wanted = wanted_topics(topics, parties)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for name, t in wanted.items() if name not in existing]
        if missing:
            # another process may have created them meanwhile
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        present = [name for name in wanted if name in existing and name != topics.clock]
        if present:
            for meta in await admin.describe_topics(present):
                count = len(meta["partitions"])
                if count != topics.partitions:
                    raise TopicLayoutError(
                        f"topic {meta['topic']} has {count} partitions, OneStop needs "
                        f"{topics.partitions} (co-partitioned with the outboxes); delete it "
                        f"or use another --namespace"
                    )
        if missing:
            await _wait_for_leaders(admin, [t.name for t in missing])
        return [t.name for t in missing]
    finally:
        await admin.close()


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], wait_seconds: float = 30.0
) -> None:
    """Return once every partition of `names` has a leader (new topics take a moment)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    pending = list(names)
    while pending and loop.time() < deadline:
        described = await admin.describe_topics(pending)
        pending = [
            meta["topic"]
            for meta in described
            if meta.get("error_code") or any(p["leader"] < 0 for p in meta["partitions"])
        ]
        if pending:
            await asyncio.sleep(0.1)
