"""The throw-away namespaces of load runs and benchmarks on a broker: their names, their
deletion, and what their consumer groups say (members, lag)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from onestop.kafka.groups import describe_groups
from onestop.kafka.jars import KAFKA_VERSION
from schemas.access import KafkaTarget, client_options


def fresh_namespace(prefix: str = "load") -> str:
    """A namespace no earlier run used, e.g. `load-20260302-080000-3f9a`."""
    return f"{prefix}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"


def kafka_version_for(bootstrap: str) -> str:
    """The broker's version as far as we know it: OneStop only runs brokers on this host
    from the pinned jars (or the compose image of the same version)."""
    hosts = {part.rsplit(":", 1)[0] for part in bootstrap.split(",")}
    if hosts <= {"127.0.0.1", "localhost", "::1", "[::1]"}:
        return f"{KAFKA_VERSION} (pinned)"
    return "unknown (external)"


async def delete_namespace_topics(bootstrap: KafkaTarget, namespace: str) -> list[str]:
    """Delete every topic of `namespace` (OneStop's and the hub's internal ones); return
    their names. For the throw-away namespaces of load runs and benchmarks only."""
    admin = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=30_000)
    await admin.start()
    try:
        doomed = [
            name
            for name in await admin.list_topics()
            if name.startswith((f"{namespace}.", f"{namespace}-"))
        ]
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    finally:
        await admin.close()


async def hub_is_running(
    bootstrap: KafkaTarget, namespace: str, wait_seconds: float = 10.0
) -> bool:
    """Whether the hub's consumer group of `namespace` has members now. A broker without a
    ready group coordinator (a fresh one creates its offsets topic on the first question
    and answers "not available" or "loading" meanwhile) is asked again for up to
    `wait_seconds`; if it still has none, no group can have members."""
    admin = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=10_000)
    await admin.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while True:
            try:
                responses = await admin.describe_consumer_groups([f"{namespace}-hub"])
                break
            except KafkaError as exc:  # coordinator not available, loading, moved
                if not exc.retriable:
                    raise
                if loop.time() > deadline:
                    return False
                await asyncio.sleep(0.5)
    finally:
        await admin.close()
    for response in responses:
        for group in response.to_object()["groups"]:
            if group["members"]:
                return True
    return False


async def wait_for_members(
    bootstrap: KafkaTarget, group: str, members: int, wait_seconds: float = 120.0
) -> bool:
    """Wait until `group` is stable with `members` live members; False on time-out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while loop.time() < deadline:
        try:
            found = (await describe_groups(bootstrap, [group])).get(group)
        except KafkaError:  # a coordinator still loading
            found = None
        if found is not None and found.state == "Stable" and found.live_members == members:
            return True
        await asyncio.sleep(0.5)
    return False


def partitions_of(topics: Iterable[str], partitions: int) -> list[TopicPartition]:
    """Partitions 0 .. `partitions` - 1 of each of `topics`."""
    return [TopicPartition(topic, number) for topic in topics for number in range(partitions)]


async def _end_offsets(
    bootstrap: KafkaTarget, tps: list[TopicPartition]
) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**client_options(bootstrap), group_id=None)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def group_lag(bootstrap: KafkaTarget, group: str, tps: Iterable[TopicPartition]) -> int:
    """Records of the partitions `tps` that `group` has not committed yet: the sum of log
    end offset minus committed offset (none committed: 0)."""
    wanted = list(tps)
    ends = await _end_offsets(bootstrap, wanted)
    admin = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=30_000)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group, partitions=wanted)
    finally:
        await admin.close()
    lag = 0
    for tp, end in ends.items():
        at = committed.get(tp)
        offset = at.offset if at is not None and at.offset >= 0 else 0
        lag += max(end - offset, 0)
    return lag


async def undelivered(
    bootstrap: KafkaTarget, inputs: Iterable[TopicPartition], outputs: Iterable[TopicPartition]
) -> int:
    """How many more records the `inputs` hold than the `outputs`: for a service that
    writes one output per input (an inbox copy, or a dead letter), those not written yet."""
    ins, outs = list(inputs), list(outputs)
    ends = await _end_offsets(bootstrap, ins + outs)
    return max(sum(ends[tp] for tp in ins) - sum(ends[tp] for tp in outs), 0)


async def wait_until_drained(
    bootstrap: KafkaTarget,
    group: str,
    inputs: Iterable[TopicPartition],
    outputs: Iterable[TopicPartition],
    wait_seconds: float = 300.0,
    poll_seconds: float = 1.0,
) -> float | None:
    """Wait until the service of consumer group `group` has worked off `inputs`: its lag on
    them is 0, or `outputs` hold as many records as `inputs` (a service may commit its
    last positions only when more input comes), twice in a row `poll_seconds` apart so
    that a write or commit in flight is not taken for the end. Returns the seconds
    waited, or None when there was still a backlog after `wait_seconds`."""
    ins, outs = list(inputs), list(outputs)
    loop = asyncio.get_running_loop()
    started = loop.time()
    idle_in_a_row = 0
    while loop.time() - started < wait_seconds:
        idle = await group_lag(bootstrap, group, ins) == 0 or (
            await undelivered(bootstrap, ins, outs) == 0
        )
        idle_in_a_row = idle_in_a_row + 1 if idle else 0
        if idle_in_a_row >= 2:
            return loop.time() - started
        await asyncio.sleep(poll_seconds)
    return None
