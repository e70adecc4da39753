"""Cluster metadata asked for by name: the brokers, and only the topics a command needs.

aiokafka's `describe_cluster` and `list_topics` ask the broker for every topic it holds.
On a broker shared by many namespaces (a training centre's, or a test run's) that answer
runs to thousands of topics and takes a process a third of a second to decode, at every
start. A metadata request that names its topics costs milliseconds whatever the broker
holds, and never creates a topic it names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.metadata import MetadataRequest

UNKNOWN_TOPIC: int = 3  # UNKNOWN_TOPIC_OR_PARTITION


@dataclass(frozen=True)
class ClusterView:
    """The brokers of a cluster and the named topics that exist, as one broker sees them."""

    brokers: list[int]
    topics: dict[str, list[dict[str, Any]]]  # name -> its partitions' metadata

    def partitions(self, topic: str) -> list[int]:
        """The partition numbers of `topic` (empty when it does not exist)."""
        return sorted(int(p["partition"]) for p in self.topics.get(topic, ()))


async def cluster_view(admin: AIOKafkaAdminClient, topics: Sequence[str] = ()) -> ClusterView:
    """The brokers, and those of `topics` that exist, from one metadata request to any
    broker. A topic the broker answers with another error than "unknown" (no leader yet,
    say) counts as existing, with what partitions it has."""
    request = MetadataRequest(list(topics), allow_auto_topic_creation=False)
    answer = (await admin._send_request(request)).to_object()
    return ClusterView(
        brokers=sorted(int(b["node_id"]) for b in answer["brokers"]),
        topics={
            t["topic"]: list(t["partitions"])
            for t in answer["topics"]
            if t.get("error_code") != UNKNOWN_TOPIC
        },
    )
