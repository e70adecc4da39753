"""Whether a consumer group has live members: tells whether a hub or a node already runs."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol import admin as protocol


class _DescribeGroupsV2(protocol.DescribeGroupsRequest):  # type: ignore[misc]
    """DescribeGroups pinned to v2: aiokafka decodes the v3 answer of Kafka 4 with the v2
    layout and fails, and v2 tells all we need (the members)."""

    def build(
        self, request_struct_class: type[protocol.DescribeGroupsRequestStruct]
    ) -> protocol.DescribeGroupsRequestStruct:
        return protocol.DescribeGroupsRequest_v2(self._groups)


async def group_states(bootstrap: str, groups: list[str]) -> dict[str, tuple[str, int]]:
    """State (`Stable`, `PreparingRebalance`, `Empty`, ...) and member count of each known
    group among `groups`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        known = {g[0] for g in await admin.list_consumer_groups()}
        states: dict[str, tuple[str, int]] = {}
        for group in (g for g in groups if g in known):
            coordinator = await admin.find_coordinator(group)
            response = await admin._client.send(coordinator, _DescribeGroupsV2([group]))
            for described in response.groups:
                if described[0]:
                    raise for_code(described[0])(f"describing consumer group {group}")
                states[described[1]] = (described[2], len(described[5]))
        return states
    finally:
        await admin.close()


async def wait_until_stable(bootstrap: str, group: str, wait_seconds: float = 90.0) -> bool:
    """Wait until `group` has members and no rebalance is under way; False on time-out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while loop.time() < deadline:
        try:
            states = await group_states(bootstrap, [group])
        except KafkaError:  # a new broker's coordinator may still be loading
            states = {}
        state, members = states.get(group, ("", 0))
        if state == "Stable" and members:
            return True
        await asyncio.sleep(0.25)
    return False


async def active_groups(bootstrap: str, groups: list[str]) -> set[str]:
    """The groups among `groups` that have at least one member now (retrying for a while
    when the broker's group coordinator is not ready)."""
    for attempt in range(20):
        try:
            states = await group_states(bootstrap, groups)
            break
        except KafkaError:
            if attempt == 19:
                raise
            await asyncio.sleep(0.5)
    return {group for group, (_, members) in states.items() if members}
