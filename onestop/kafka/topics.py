"""Creates OneStop's topics with the partition counts they need. The broker never
auto-creates them: co-partitioned topics must share one count.

Their replication factor follows the cluster: min(3, number of brokers), with
``min.insync.replicas=2`` at factor 3, so a 3-node cluster keeps every acknowledged
(``acks=all``) write when one node dies and still takes writes while it is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from aiokafka.protocol.metadata import MetadataRequest

from onestop.kafka.metadata import cluster_view
from onestop.kafka.properties import replication_for
from schemas.access import KafkaAccess
from schemas.enums import Country
from schemas.topics import Topics

KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
_NODE_ANSWER_S = 5.0


class TopicLayoutError(RuntimeError):
    """An existing topic has the wrong partition count."""


def wanted_topics(
    topics: Topics, parties: Iterable[Country], *, brokers: int = 1
) -> dict[str, NewTopic]:
    """Every topic of an installation, with its partitions and settings, for a cluster of
    `brokers` brokers."""
    factor, min_isr = replication_for(brokers)
    durable = {"min.insync.replicas": str(min_isr)} if factor >= 3 else {}
    forever = {**KEEP_FOREVER, **durable}

    def new(name: str, partitions: int, configs: dict[str, str]) -> NewTopic:
        return NewTopic(name, partitions, factor, topic_configs=dict(configs))

    wanted = {
        name: new(name, topics.partitions, durable) for name in topics.copartitioned(list(parties))
    }
    wanted[topics.audit] = new(topics.audit, topics.partitions, forever)
    wanted[topics.deadletter] = new(topics.deadletter, topics.partitions, forever)
    wanted[topics.clock] = new(topics.clock, 1, forever)
    wanted[topics.observations] = new(topics.observations, 1, forever)
    compacted = {"cleanup.policy": "compact", **durable}
    for name in topics.hub_changelogs:
        wanted[name] = new(name, topics.partitions, compacted)
    return wanted


async def ensure_topics(
    bootstrap: str | KafkaAccess, topics: Topics, parties: Iterable[Country]
) -> list[str]:
    """Create the missing topics; return their names. Raises TopicLayoutError when an
    existing co-partitioned topic has another partition count.

    `bootstrap` may be a `KafkaAccess` (on a secure broker: the ``admin`` principal, who
    may create topics; `acls.grant_namespace` then gives the others their rights)."""
    access = bootstrap if isinstance(bootstrap, KafkaAccess) else KafkaAccess(bootstrap)
    admin = AIOKafkaAdminClient(**access.client_options(), request_timeout_ms=30000)
    await admin.start()
    try:
        view = await cluster_view(admin, list(wanted_topics(topics, parties)))
        wanted = wanted_topics(topics, parties, brokers=len(view.brokers))
        missing = [t for name, t in wanted.items() if name not in view.topics]
        existing = dict(view.topics)
        if missing:
            response = await admin.create_topics(missing)
            raced = []
            for name, code, *_ in response.topic_errors:
                # Another process may have created it meanwhile; anything else is an error.
                if code == TopicAlreadyExistsError.errno:
                    raced.append(name)
                elif code:
                    raise for_code(code)(f"creating topic {name}")
            await _wait_for_leaders(admin, [t.name for t in missing], view.brokers)
            if raced:  # made by that other process: its layout is checked as well
                existing.update((await cluster_view(admin, raced)).topics)
        single = {topics.clock, topics.observations}  # one partition each: a total order
        for name, partitions in existing.items():
            if name not in single and len(partitions) != topics.partitions:
                raise TopicLayoutError(
                    f"topic {name} has {len(partitions)} partitions, OneStop needs "
                    f"{topics.partitions} (co-partitioned with the outboxes); delete it "
                    f"or use another --namespace"
                )
        return [t.name for t in missing]
    finally:
        await admin.close()


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], brokers: list[int], wait_seconds: float = 30.0
) -> None:
    """Return once each of `brokers` knows `names` with a leader for each partition (new
    topics take a moment to reach each broker's metadata)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    pending = list(names)
    for node_id in brokers:
        pending = list(names)
        while pending and loop.time() < deadline:
            request = MetadataRequest(pending, allow_auto_topic_creation=False)
            try:
                response = await asyncio.wait_for(
                    admin._send_request_to_node(node_id, request), _NODE_ANSWER_S
                )
            except (KafkaError, TimeoutError):
                # A broker that died a moment ago is still listed: it needs to know nothing.
                pending = []
                break
            pending = [
                meta["topic"]
                for meta in response.to_object()["topics"]
                if meta.get("error_code")
                or not meta["partitions"]
                or any(p["leader"] < 0 for p in meta["partitions"])
            ]
            if pending:
                await asyncio.sleep(0.1)
        if pending:
            break
    if pending:
        raise TopicLayoutError(f"no partition leader after {wait_seconds:.0f} s: {pending}")
