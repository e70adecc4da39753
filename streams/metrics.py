"""The hub's Prometheus metrics: prefix `onestop_hub_`, base units, bounded labels only
(kind, outcome, reason, channel, urgency, topic; never an id). Registered on an injected
registry so tests stay isolated."""

from __future__ import annotations

from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from schemas.audit import AuditEvent, AuditRecord
from schemas.audit_details import AnswerDetails, Details, RejectedDetails

ANSWER_BUCKETS = (60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 12 * 3600, 86400, 3 * 86400,
                  7 * 86400, 14 * 86400)  # fmt: skip
TRANSIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROCESSING_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
PHASE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)


M = TypeVar("M", bound=MetricWrapperBase)


class Series(Generic[M]):
    """A labelled metric whose children are looked up once per set of label values:
    prometheus_client's `labels()` checks the values and takes a lock on every call,
    and the hub asks for a child several times per message."""

    def __init__(self, metric: M) -> None:
        self.metric = metric
        self._children: dict[tuple[str, ...], M] = {}

    def labels(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self.metric.labels(*values)
        return child

    def clear(self) -> None:
        """Remove every child (the series are no longer exported until set again)."""
        self.metric.clear()
        self._children.clear()


class HubMetrics:
    """Every metric the hub exports."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.messages = Series(
            Counter(
                "onestop_hub_messages",
                "Messages processed by the hub, by kind and outcome",
                ["kind", "outcome"],
                registry=registry,
            )
        )
        self.deadletters = Series(
            Counter(
                "onestop_hub_deadletters",
                "Records sent to the dead-letter topic, by reason",
                ["reason"],
                registry=registry,
            )
        )
        self.open_requests = Series(
            Gauge(
                "onestop_hub_open_requests",
                "Requests received and not yet settled",
                ["channel", "urgency"],
                registry=registry,
            )
        )
        self.overdue_requests = Series(
            Gauge(
                "onestop_hub_overdue_requests",
                "Open requests past their deadline",
                ["channel", "urgency"],
                registry=registry,
            )
        )
        self.breaches = Series(
            Counter(
                "onestop_hub_deadline_breaches",
                "Requests that went past their deadline",
                ["channel", "urgency"],
                registry=registry,
            )
        )
        self.answer_time = Series(
            Histogram(
                "onestop_hub_answer_time_seconds",
                "Exercise seconds from receipt of a request to its answer or refusal",
                ["channel", "urgency"],
                buckets=ANSWER_BUCKETS,
                registry=registry,
            )
        )
        self.transit = Series(
            Histogram(
                "onestop_hub_transit_seconds",
                "Wall seconds from the sender's send time to delivery into the recipient's inbox",
                ["channel", "urgency"],
                buckets=TRANSIT_BUCKETS,
                registry=registry,
            )
        )
        self.processing = Histogram(
            "onestop_hub_processing_seconds",
            "Wall seconds the hub spends on one message",
            buckets=PROCESSING_BUCKETS,
            registry=registry,
        )
        self.batch_phases = Series(
            Histogram(
                "onestop_hub_batch_phase_seconds",
                "Wall seconds of each phase of one batch of input: deciding, with any wait "
                "for the exercise clock (phase=decide), "
                "writing the outputs until the broker acknowledged them (phase=write), "
                "storing state and positions and counting (phase=store)",
                ["phase"],
                buckets=PHASE_BUCKETS,
                registry=registry,
            )
        )
        self.consumer_lag = Gauge(
            "onestop_hub_consumer_lag_messages",
            "Records not yet consumed by the hub, per input topic",
            ["topic"],
            registry=registry,
        )

        self.read_back = Counter(
            "onestop_hub_read_back_total",
            "Input records the hub read back from Kafka itself because its consumer skipped "
            "them (reason=skipped) or took them but never delivered them (reason=stalled)",
            ["reason"],
            registry=registry,
        )
        for reason in ("skipped", "stalled"):
            self.read_back.labels(reason)  # both series exist from the start, at 0
        self.recovery_reseeks = Counter(
            "onestop_hub_recovery_reseeks_total",
            "Changelog partitions the hub sought back during a table recovery because the "
            "recovery had received none of their records for stall_patience seconds",
            registry=registry,
        )

    def observe_audit(self, record: AuditRecord) -> None:
        """Count what an audit record says happened (the audit trail is the one source)."""
        channel = record.channel.value if record.channel else "none"
        details = record.details
        level = details.urgency if isinstance(details, Details) else None
        urgency = level.value if level is not None else "non_urgent"
        kind = record.kind.value if record.kind else "unknown"
        if record.disclosed:
            self.messages.labels(kind, "delivered").inc()
        match record.event:
            case AuditEvent.REJECTED:
                self.messages.labels(kind, "rejected").inc()
                reason = details.reason if isinstance(details, RejectedDetails) else "invalid"
                self.deadletters.labels(reason).inc()
            case AuditEvent.OVERDUE:
                self.breaches.labels(channel, urgency).inc()
            case _:
                pass
        if isinstance(details, AnswerDetails) and details.answer_seconds is not None:
            self.answer_time.labels(channel, urgency).observe(details.answer_seconds)

    def duplicate(self, kind: str) -> None:
        """A redelivered input recognised and skipped."""
        self.messages.labels(kind, "duplicate").inc()
