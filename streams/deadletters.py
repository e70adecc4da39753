"""Bad input kept whole (pure): the rejected record, byte for byte, to the dead-letter topic
with headers that say why and where it came from, and the audit record of the rejection.
Its id is the record's place (`<topic>/<partition>/<offset>`): a redelivery is the same."""

from __future__ import annotations

from datetime import datetime

from schemas.audit import AuditEvent, AuditRecord, Operation
from schemas.audit_details import RejectedDetails
from schemas.enums import RequestState
from schemas.envelope import (
    DLQ_DETAIL,
    DLQ_ID,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REASON,
    DLQ_TOPIC,
    KafkaRecord,
)
from schemas.messages import MessageBase, kind_of
from schemas.topics import Topics
from streams.effects import Effects, Inbound, Outbound
from streams.validation import Rejection

HUB_ACTOR = "hub"


def dead_letter(
    topics: Topics,
    inbound: Inbound,
    rejection: Rejection,
    now: datetime,
    wall: datetime,
    message: MessageBase | None = None,
) -> Effects:
    """`inbound`, untouched, to the dead-letter topic with why (`rejection`), and the
    audit record of its rejection at exercise time `now`, wall time `wall`."""
    dlq_id = f"{inbound.topic}/{inbound.partition}/{inbound.offset}"
    headers = [
        *inbound.headers,
        (DLQ_REASON, rejection.reason.encode()),
        (DLQ_DETAIL, rejection.detail.encode()),
        (DLQ_TOPIC, inbound.topic.encode()),
        (DLQ_PARTITION, str(inbound.partition).encode()),
        (DLQ_OFFSET, str(inbound.offset).encode()),
        (DLQ_ID, dlq_id.encode()),
    ]
    effects = Effects(kind=kind_of(message) if message else None, rejection=rejection)
    effects.outputs.append(
        Outbound(
            topics.deadletter,
            KafkaRecord(inbound.key, inbound.value, headers),
        )
    )
    effects.audit.append(
        AuditRecord(
            record_id=f"{dlq_id}/{AuditEvent.REJECTED.value}",
            partition=inbound.partition,
            seq=0,
            prev_hash="",
            operation=Operation.COLLECTION,
            event=AuditEvent.REJECTED,
            actor=HUB_ACTOR,
            wall_time=wall,
            exercise_time=now,
            justification=f"rejected: {rejection.detail}",
            request_id=message.request_id if message else None,
            case_id=message.case_id if message else None,
            message_id=message.message_id if message else None,
            kind=kind_of(message) if message else None,
            sender=message.sender if message else topics.party_of(inbound.topic),
            recipient=message.recipient if message else None,
            state_after=RequestState.REJECTED,
            details=RejectedDetails(reason=rejection.reason, deadletter_id=dlq_id),
        )
    )
    return effects
