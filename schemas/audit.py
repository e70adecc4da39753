"""The audit trail (Directive 2016/680 Art. 25): a record of every processing operation,
hash-chained per partition so that any alteration, removal, insertion or reordering shows.

The hub writes one record per input. When handling the input also passed the message on
(an opening collected and disclosed to its recipient, an answer recorded and disclosed to
the requester), that one record logs both: `operation` is the first, `recipients` and
`details.disclosure` (its justification) the disclosure, and `operations` lists them.
Trails written before 2026-12-06 log such a disclosure as a `delivered` record of its
own; readers take both forms.

A record's `record_id` is derived from the input that caused it, so a record written twice
after a crash (at-least-once redelivery) is recognised as the same record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, model_validator

from schemas.audit_details import AuditDetails, DeliveredDetails, Details, details_model
from schemas.audit_wire import WIRE_OPTIONS, fields_of
from schemas.enums import Channel, Country, MessageKind, RequestState

GENESIS_HASH: Final = "0" * 64


class Operation(StrEnum):
    """Processing operations that Art. 25 requires to be logged."""

    COLLECTION = "collection"
    CONSULTATION = "consultation"
    DISCLOSURE = "disclosure"
    ALTERATION = "alteration"
    ERASURE = "erasure"


class AuditEvent(StrEnum):
    """What happened, in the hub's terms."""

    RECEIVED = "received"  # an opening message was collected and its clock started
    DELIVERED = "delivered"  # a message was disclosed (trails before 2026-12-06 only)
    ANSWERED = "answered"  # a reply settled a request
    REFUSED = "refused"
    PARTIALLY_ANSWERED = "partially_answered"
    CLARIFICATION_REQUESTED = "clarification_requested"
    CLARIFIED = "clarified"
    DELAYED = "delayed"  # judicial authorisation delay notice
    ACKNOWLEDGED = "acknowledged"
    OVERDUE = "overdue"
    REJECTED = "rejected"  # bad input kept in the dead-letter topic
    EXERCISE_CONTROL = "exercise_control"  # a clock command: start, pause, jump, end, ...


class AuditRecord(BaseModel):
    """One line of the audit trail. Times: `wall_time` real, `exercise_time` simulated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    record_id: str
    partition: int
    seq: int = Field(ge=0, description="Position in this partition's chain")
    prev_hash: str
    hash: str = ""
    operation: Operation
    event: AuditEvent
    actor: str = Field(description="Who processed: 'hub' or a party's SPOC")
    wall_time: AwareDatetime
    exercise_time: AwareDatetime
    justification: str
    request_id: str | None = None
    case_id: str | None = None
    message_id: str | None = None
    kind: MessageKind | None = None
    sender: Country | None = None
    recipient: Country | None = None
    recipients: list[Country] = Field(default_factory=list)
    channel: Channel | None = None
    state_before: RequestState | None = None
    state_after: RequestState | None = None
    details: AuditDetails = Field(
        default_factory=DeliveredDetails,
        description="What this event adds; see schemas.audit_details",
    )

    @model_validator(mode="before")
    @classmethod
    def _details_of_event(cls, data: Any) -> Any:
        """Read `details` with the model of the record's event (JSON gives a plain object)."""
        if isinstance(data, dict) and isinstance(data.get("details"), dict):
            event = data.get("event")
            model = details_model(event.value if isinstance(event, AuditEvent) else str(event))
            data = {**data, "details": model.model_validate(data["details"])}
        return data

    @model_validator(mode="after")
    def _details_fit_event(self) -> AuditRecord:
        expected = details_model(self.event.value)
        if not isinstance(self.details, expected):
            raise ValueError(
                f"a {self.event.value} record takes {expected.__name__}, "
                f"not {type(self.details).__name__}"
            )
        return self

    @property
    def disclosed(self) -> bool:
        """Whether this record logs a disclosure of the message to `recipients`: a
        `delivered` record, or one whose operation also passed the message on."""
        details = self.details
        return self.event is AuditEvent.DELIVERED or (
            isinstance(details, Details) and details.disclosure is not None
        )

    @property
    def operations(self) -> tuple[Operation, ...]:
        """Every processing operation this record logs, `operation` first."""
        if self.operation is not Operation.DISCLOSURE and self.disclosed:
            return (self.operation, Operation.DISCLOSURE)
        return (self.operation,)

    @field_serializer("details")
    def _details_on_the_wire(self, details: AuditDetails) -> dict[str, Any]:
        return details.wire()


def record_hash(record: AuditRecord) -> str:
    """SHA-256 over the previous hash and the record's canonical JSON (without `hash`):
    keys sorted, no spaces, UTF-8 unescaped, as orjson writes it."""
    return _body_hash(record.model_dump(mode="json", exclude={"hash"}))


def hash_matches(record: AuditRecord) -> bool:
    """Whether `record.hash` is the hash of its content: as sealed now (`record_hash`), or
    as trails sealed before the hub used orjson were (Python's json module, which writes
    a few floats differently, e.g. 1e-05 for 0.00001)."""
    body = record.model_dump(mode="json", exclude={"hash"})
    return record.hash in (_body_hash(body), _stdlib_body_hash(body))


def _body_hash(body: dict[str, Any]) -> str:
    """`record_hash` of a record given as its JSON-mode dump without `hash`."""
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS | WIRE_OPTIONS)
    return hashlib.sha256(body["prev_hash"].encode() + canonical).hexdigest()


def _stdlib_body_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((body["prev_hash"] + canonical).encode()).hexdigest()


@dataclass
class ChainHead:
    """Where a partition's chain stands: next sequence number and last hash."""

    seq: int = 0
    last_hash: str = GENESIS_HASH

    def seal(self, record: AuditRecord) -> AuditRecord:
        """`record` placed at the head of the chain, hashed; the head moves on."""
        return AuditRecord.model_validate_json(self.seal_json(record))

    def seal_json(self, record: AuditRecord) -> bytes:
        """`seal`, straight to the record's JSON as written to the audit topic (one dump
        of the record serves both the hash and the wire). The body is the record's own
        values (`schemas.audit_wire`) unless orjson cannot write them as pydantic does."""
        try:
            body = fields_of(record)
            del body["hash"]
            return self._seal_body(body)
        except TypeError:  # a value orjson does not write as pydantic does
            return self._seal_body(record.model_dump(mode="json", exclude={"hash"}))

    def _seal_body(self, body: dict[str, Any]) -> bytes:
        body["seq"] = self.seq
        body["prev_hash"] = self.last_hash
        digest = _body_hash(body)
        body["hash"] = digest
        sealed = orjson.dumps(body, option=WIRE_OPTIONS)
        self.seq += 1
        self.last_hash = digest
        return sealed


@dataclass(frozen=True)
class ChainFault:
    """A place where a chain is broken."""

    partition: int
    position: int  # index of the record in the partition as read
    record_id: str
    problem: str

    def __str__(self) -> str:
        return (
            f"partition {self.partition}, record #{self.position} ({self.record_id}): "
            f"{self.problem}"
        )


@dataclass
class ChainReport:
    """Result of checking a trail."""

    records: int = 0
    unique_records: int = 0
    duplicates: int = 0
    faults: list[ChainFault] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """True when no fault was found."""
        return not self.faults


def verify_chain(partition: int, records: Iterable[AuditRecord]) -> ChainReport:
    """Check one partition's records in the order read. Redelivered duplicates (same
    record id, chained in properly) are counted once, not as faults."""
    report = ChainReport()
    expected_prev = GENESIS_HASH
    expected_seq = 0
    seen: set[str] = set()
    for position, record in enumerate(records):
        report.records += 1
        problems = []
        if record.partition != partition:
            problems.append(f"belongs to partition {record.partition}")
        if record.seq != expected_seq:
            problems.append(f"sequence {record.seq}, expected {expected_seq}")
        if record.prev_hash != expected_prev:
            problems.append("previous-hash link does not match the record before it")
        if not hash_matches(record):
            problems.append("content does not match its hash (altered)")
        if problems:
            report.faults.append(
                ChainFault(partition, position, record.record_id, "; ".join(problems))
            )
        if record.record_id in seen:
            report.duplicates += 1
        else:
            seen.add(record.record_id)
        expected_prev = record.hash
        expected_seq = record.seq + 1
    report.unique_records = len(seen)
    return report


def audit_record_id(event_id: str, event: AuditEvent, suffix: str = "") -> str:
    """The deterministic id of the audit record that `event` on input `event_id` causes."""
    return f"{event_id}/{event.value}{'/' + suffix if suffix else ''}"


def exercise_iso(moment: datetime) -> str:
    """An exercise time as ISO 8601 with a Z suffix."""
    return moment.isoformat().replace("+00:00", "Z")
