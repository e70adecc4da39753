"""The simulated nodes' Prometheus metrics: prefix `onestop_node_`, labelled by country
and kind only."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class NodeMetrics:
    """Counters shared by all nodes of one process."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.sent = Counter(
            "onestop_node_messages_sent",
            "Messages a simulated node wrote to its outbox",
            ["country", "kind"],
            registry=registry,
        )
        self.received = Counter(
            "onestop_node_messages_received",
            "Messages a simulated node read from its inbox (duplicates excluded)",
            ["country", "kind"],
            registry=registry,
        )
        self.duplicates = Counter(
            "onestop_node_duplicates",
            "Redelivered inbox messages recognised by id and ignored",
            ["country"],
            registry=registry,
        )
