"""Whether a consumer group has live members: tells whether a hub or a node already runs."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol import admin as protocol


class _DescribeGroupsV2(protocol.DescribeGroupsRequest):  # type: ignore[misc]
    """DescribeGroups pinned to v2: aiokafka decodes the v3 answer of Kafka 4 with the v2
    layout and fails, and v2 tells all we need (the members)."""

    def build(
        self, request_struct_class: type[protocol.DescribeGroupsRequestStruct]
    ) -> protocol.DescribeGroupsRequestStruct:
        return protocol.DescribeGroupsRequest_v2(self._groups)


async def active_groups(bootstrap: str, groups: list[str]) -> set[str]:
    """The groups among `groups` that have at least one member now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        known = {g[0] for g in await admin.list_consumer_groups()}
        active = set()
        for group in (g for g in groups if g in known):
            coordinator = await admin.find_coordinator(group)
            response = await admin._client.send(coordinator, _DescribeGroupsV2([group]))
            for described in response.groups:
                if described[5]:  # members
                    active.add(described[1])
        return active
    finally:
        await admin.close()
