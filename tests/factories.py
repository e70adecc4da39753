"""Valid messages and outbox records for tests, one call each.

`make_message(kind)` gives a message between Poland (requester) and Germany (requested) in
English, sent in the right direction for its kind: openings and one-way messages go PL -> DE,
answers DE -> PL, a clarification reply PL -> DE. Every field can be overridden.
`make_inbound(message, topics)` puts it on its sender's outbox as the hub would consume it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from schemas.enums import (
    Accessibility,
    Country,
    InformationAccuracy,
    MessageKind,
    NoticeColour,
    PrumCategory,
    PrumOutcome,
    RefusalGround,
    SireneFormType,
    SourceReliability,
    Urgency,
)
from schemas.envelope import encode
from schemas.messages import (
    ANSWER_KINDS_FROM_REQUESTED,
    MODEL_FOR_KIND,
    MessageBase,
)
from schemas.topics import Topics, partition_for
from streams.effects import Inbound

REQUESTER: Final = Country.PL
REQUESTED: Final = Country.DE
REQUEST_ID: Final = "PL-REQ-2025-0001"
CASE_ID: Final = "SIENA-CASE-2025-0042"
SENT_AT: Final = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
"""Exercise time at which the factory's messages are sent."""
WALL_TIME: Final = datetime(2025, 3, 1, 9, 0, 5, tzinfo=UTC)
"""Wall time of the factory's records (CloudEvents `time`, Kafka timestamp)."""

_FIELDS_OF_KIND: Final[dict[MessageKind, dict[str, Any]]] = {
    MessageKind.REQUEST: {
        "urgency": Urgency.NON_URGENT,
        "accessibility": Accessibility.DIRECT,
        "subject": "Registered keeper of vehicle WX 12345",
    },
    MessageKind.REPLY: {"information": "Keeper: J. Kowalski, Berlin, since 2021"},
    MessageKind.PARTIAL_REPLY: {
        "information": "Vehicle registered in Berlin",
        "remaining": "Keeper history follows",
    },
    MessageKind.REFUSAL: {
        "grounds": [RefusalGround.NOT_AVAILABLE],
        "explanation": "No record held",
    },
    MessageKind.CLARIFICATION_REQUEST: {"question": "Full VIN, please?"},
    MessageKind.CLARIFICATION_REPLY: {"answer": "VIN WVWZZZ1JZXW000001"},
    MessageKind.DELAY_NOTICE: {
        "expected_delay_hours": 48.0,
        "reason": "Judicial authorisation requested from the Berlin prosecutor",
    },
    MessageKind.SPONTANEOUS_INFORMATION: {
        "subject": "Stolen vehicles convoy heading west",
        "information": "Three vans, Polish plates, A2 motorway",
        "evaluation": {"source": SourceReliability.B, "information": InformationAccuracy.TWO},
    },
    MessageKind.ACKNOWLEDGEMENT: {},
    MessageKind.SIRENE_FORM: {
        "form": SireneFormType.G,
        "sis_alert_id": "SIS-PL-000123",
        "information": "Person stopped at Frankfurt (Oder)",
    },
    MessageKind.INTERPOL_NOTICE: {
        "recipient": Country.INTERPOL,
        "colour": NoticeColour.YELLOW,
        "subject": "Missing minor, 14",
    },
    MessageKind.INTERPOL_DIFFUSION: {
        "colour": NoticeColour.BLUE,
        "subject": "Locate witness",
    },
    MessageKind.PRUM_QUERY: {
        "category": PrumCategory.VEHICLE_REGISTRATION,
        "reference": "WX12345",
    },
    MessageKind.PRUM_RESULT: {"outcome": PrumOutcome.HIT},
    MessageKind.PRUM_FOLLOWUP: {
        "category": PrumCategory.DNA,
        "hit_request_id": "PL-PRUM-2025-0007",
    },
    MessageKind.OVERDUE_NOTICE: {
        "deadline": SENT_AT + timedelta(days=7),
        "requester": REQUESTER,
        "requested": REQUESTED,
    },
}


def _direction(kind: MessageKind) -> tuple[Country, Country]:
    if kind in ANSWER_KINDS_FROM_REQUESTED or kind is MessageKind.OVERDUE_NOTICE:
        return REQUESTED, REQUESTER
    return REQUESTER, REQUESTED


def make_message(kind: MessageKind, **overrides: Any) -> MessageBase:
    """A valid message of `kind`, with `overrides` replacing any field (validated)."""
    sender, recipient = _direction(kind)
    fields: dict[str, Any] = {
        "message_id": f"{sender.value}-{kind.value.replace('_', '-')}-1",
        "case_id": CASE_ID,
        "request_id": REQUEST_ID,
        "sender": sender,
        "recipient": recipient,
        "language": "en",
        "sent_at": SENT_AT,
        **_FIELDS_OF_KIND[kind],
        **overrides,
    }
    return MODEL_FOR_KIND[kind].model_validate(fields)


def make_request(request_id: str, sender: Country, recipient: Country) -> MessageBase:
    """A non-urgent request for directly accessible information whose message, request
    and case ids are all `request_id`: one of a stream of distinct requests."""
    return make_message(
        MessageKind.REQUEST,
        message_id=request_id,
        request_id=request_id,
        case_id=request_id,
        sender=sender,
        recipient=recipient,
        urgency=Urgency.NON_URGENT,
        accessibility=Accessibility.DIRECT,
    )


def make_inbound(message: MessageBase, topics: Topics, offset: int = 0) -> Inbound:
    """`message` encoded as its sender's node would, read from the sender's outbox on the
    partition its request id belongs to."""
    record = encode(message, wall_time=WALL_TIME)
    assert record.key is not None, "encode keys every record by its request id"
    return Inbound(
        topic=topics.outbox(message.sender),
        partition=partition_for(record.key, topics.partitions),
        offset=offset,
        key=record.key,
        value=record.value,
        headers=record.headers,
        timestamp=WALL_TIME.timestamp(),
    )
