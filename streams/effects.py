"""The values the hub's decisions work on (pure): a record read from an outbox, a record
to write, and everything one input causes."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.audit import AuditRecord
from schemas.enums import MessageKind
from schemas.envelope import KafkaRecord
from streams.lifecycle import RequestEntry
from streams.validation import Rejection


@dataclass(frozen=True)
class Inbound:
    """A record as consumed from a node's outbox. `timestamp` is the record's wall time
    (epoch seconds): receipt by the hub's infrastructure."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    timestamp: float


@dataclass(frozen=True)
class Outbound:
    """A record to write; `partition` None lets the key choose; `timestamp` (epoch
    seconds) None stamps it when written."""

    topic: str
    record: KafkaRecord
    partition: int | None = None
    timestamp: float | None = None


@dataclass
class Effects:
    """Everything one input causes."""

    outputs: list[Outbound] = field(default_factory=list)
    audit: list[AuditRecord] = field(default_factory=list)
    duplicate: bool = False
    kind: MessageKind | None = None
    rejection: Rejection | None = None
    opened: RequestEntry | None = None
    settled: RequestEntry | None = None
    overdue: RequestEntry | None = None
