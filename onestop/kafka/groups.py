"""Whether a consumer group has live members: tells whether a hub or a node already runs.

A process that died (SIGKILL, a crash) stays a member until its session times out. OneStop
clients name their process in their client id (`schemas.topics.process_client_id`), so a
member left by a dead process on this machine is told apart and not counted as running."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol import admin as protocol

from schemas.access import KafkaTarget, client_options
from schemas.topics import client_id_alive


class _DescribeGroupsV2(protocol.DescribeGroupsRequest):  # type: ignore[misc]
    """DescribeGroups pinned to v2: aiokafka decodes the v3 answer of Kafka 4 with the v2
    layout and fails, and v2 tells all we need (the members)."""

    def build(
        self, request_struct_class: type[protocol.DescribeGroupsRequestStruct]
    ) -> protocol.DescribeGroupsRequestStruct:
        return protocol.DescribeGroupsRequest_v2(self._groups)


@dataclass(frozen=True)
class GroupState:
    """A consumer group's state (`Stable`, `PreparingRebalance`, `Empty`, ...) and the
    client ids of its members."""

    state: str
    members: tuple[str, ...]

    @property
    def live_members(self) -> int:
        """Members that are not known to be left behind by a process that died."""
        return sum(1 for client in self.members if client_id_alive(client))


async def describe_groups(bootstrap: KafkaTarget, groups: list[str]) -> dict[str, GroupState]:
    """The state and members of each known group among `groups` (on a secure broker,
    those `bootstrap`'s principal may describe)."""
    admin = AIOKafkaAdminClient(**client_options(bootstrap))
    await admin.start()
    try:
        known = {g[0] for g in await admin.list_consumer_groups()}
        states: dict[str, GroupState] = {}
        for group in (g for g in groups if g in known):
            coordinator = await admin.find_coordinator(group)
            response = await admin._client.send(coordinator, _DescribeGroupsV2([group]))
            for described in response.groups:
                if described[0]:
                    raise for_code(described[0])(f"describing consumer group {group}")
                members = tuple(str(member[1]) for member in described[5])
                states[described[1]] = GroupState(str(described[2]), members)
        return states
    finally:
        await admin.close()


async def wait_until_stable(bootstrap: KafkaTarget, group: str, wait_seconds: float = 90.0) -> bool:
    """Wait until `group` has members and no rebalance is under way; False on time-out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while loop.time() < deadline:
        try:
            states = await describe_groups(bootstrap, [group])
        except KafkaError:  # a new broker's coordinator may still be loading
            states = {}
        found = states.get(group)
        if found is not None and found.state == "Stable" and found.live_members:
            return True
        await asyncio.sleep(0.25)
    return False


async def active_groups(bootstrap: KafkaTarget, groups: list[str]) -> set[str]:
    """The groups among `groups` that have at least one live member now (retrying for a
    while when the broker's group coordinator is not ready)."""
    for attempt in range(20):
        try:
            states = await describe_groups(bootstrap, groups)
            break
        except KafkaError:
            if attempt == 19:
                raise
            await asyncio.sleep(0.5)
    return {group for group, found in states.items() if found.live_members}
