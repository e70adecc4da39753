"""A trainee's desk (pure, no I/O): what a desk may do with a request, and the message each
action makes, checked by the wire models before anything is sent.

A desk acts only as its own party: it answers the requests addressed to it (a reply, a
partial reply, a refusal on Art. 6(1) grounds, a clarification request, a delay notice for
judicial authorisation, an acknowledgement, a Prüm hit / no-hit), replies to the
clarifications asked of it, and opens requests of its own (a request with the channel it
chooses, spontaneous information, a Prüm search or its follow-up).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from onestop.console.models import BoardEntry, FieldProblem
from schemas.enums import (
    Accessibility,
    Channel,
    Country,
    HandlingCode,
    MessageKind,
    PrumCategory,
    PrumOutcome,
    RefusalGround,
    Urgency,
)
from schemas.messages import (
    ANSWER_KINDS_FROM_REQUESTED,
    ANSWER_KINDS_FROM_REQUESTER,
    MODEL_FOR_KIND,
    MessageBase,
)

ANSWERS = Literal[
    "reply",
    "partial_reply",
    "refusal",
    "clarification_request",
    "clarification_reply",
    "delay_notice",
    "acknowledgement",
    "prum_result",
]
OPENINGS = Literal["request", "spontaneous_information", "prum_query", "prum_followup"]


class DeskProblem(ValueError):
    """A desk action that cannot be sent: what is wrong, field by field (403 when the desk
    acts outside its own party)."""

    def __init__(self, detail: str, fields: list[FieldProblem], status: int = 422) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields
        self.status = status


class DeskAnswer(BaseModel):
    """An answer a desk sends on a request."""

    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=80)
    kind: ANSWERS
    information: str = Field(default="", max_length=8000, description="reply, partial reply")
    remaining: str = Field(default="", max_length=300, description="partial reply: what follows")
    grounds: list[RefusalGround] = Field(default_factory=list, description="refusal")
    explanation: str = Field(default="", max_length=300, description="refusal")
    question: str = Field(default="", max_length=300, description="clarification request")
    answer: str = Field(default="", max_length=8000, description="clarification reply")
    expected_delay_hours: float | None = Field(default=None, description="delay notice")
    reason: str = Field(default="", max_length=300, description="delay notice")
    outcome: PrumOutcome | None = Field(default=None, description="prum result")


class DeskOpening(BaseModel):
    """A request (or one-way message) a desk opens."""

    model_config = ConfigDict(extra="forbid")

    kind: OPENINGS = "request"
    to: Country
    urgency: Urgency = Urgency.NON_URGENT
    urgency_reason: str | None = Field(default=None, max_length=300)
    accessibility: Accessibility = Accessibility.DIRECT
    handling_code: HandlingCode = HandlingCode.H0
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    subject: str = Field(default="", max_length=300)
    details: str = Field(default="", max_length=8000)
    channel: Channel | None = Field(default=None, description="The channel the desk chooses")
    category: PrumCategory | None = Field(default=None, description="prum query / follow-up")
    reference: str | None = Field(default=None, max_length=80, description="prum query")
    hit_request_id: str | None = Field(default=None, max_length=80, description="prum follow-up")


def _fields(exc: ValidationError) -> list[FieldProblem]:
    return [
        FieldProblem(
            field=".".join(str(p) for p in error["loc"]) or None,
            message=error["msg"].removeprefix("Value error, "),
        )
        for error in exc.errors()
    ]


def _built(kind: MessageKind, fields: dict[str, Any]) -> MessageBase:
    try:
        return MODEL_FOR_KIND[kind].model_validate({**fields, "kind": kind})
    except ValidationError as exc:
        problems = _fields(exc)
        named = "; ".join(f"{p.field}: {p.message}" for p in problems)
        raise DeskProblem(f"the message is not valid: {named}", problems) from exc


def answer_message(
    party: Country, entry: BoardEntry, action: DeskAnswer, message_id: str, case_id: str,
    language: str, sent_at: Any,
) -> MessageBase:  # fmt: skip
    """The message `party`'s desk sends to answer `entry`; DeskProblem when the desk may not
    send it (403) or a field is wrong (422)."""
    kind = MessageKind(action.kind)
    if kind in ANSWER_KINDS_FROM_REQUESTED:
        sender, recipient = entry.to, entry.from_
    elif kind in ANSWER_KINDS_FROM_REQUESTER:
        sender, recipient = entry.from_, entry.to
    else:  # pragma: no cover - the literal allows nothing else
        raise DeskProblem(f"a {kind.value} does not answer a request", [])
    if sender is not party:
        whose = "requested" if kind in ANSWER_KINDS_FROM_REQUESTED else "requesting"
        raise DeskProblem(
            f"the {whose} party ({sender.value}) sends a {kind.value} on "
            f"{entry.request_id}, not {party.value}",
            [FieldProblem(field="kind", message=f"only {sender.value} sends it")],
            status=403,
        )
    problems = []
    if kind is MessageKind.REFUSAL and not action.grounds:
        problems.append(FieldProblem(field="grounds", message="give at least one Art. 6(1) ground"))
    if kind is MessageKind.DELAY_NOTICE and action.expected_delay_hours is None:
        problems.append(FieldProblem(field="expected_delay_hours", message="how many hours"))
    if kind is MessageKind.PRUM_RESULT and action.outcome is None:
        problems.append(FieldProblem(field="outcome", message="hit or no_hit"))
    if problems:
        raise DeskProblem("the answer is not complete", problems)
    common: dict[str, Any] = {
        "message_id": message_id,
        "case_id": case_id,
        "request_id": entry.request_id,
        "sender": sender,
        "recipient": recipient,
        "language": language,
        "sent_at": sent_at,
    }
    specific: dict[MessageKind, dict[str, Any]] = {
        MessageKind.REPLY: {"information": action.information},
        MessageKind.PARTIAL_REPLY: {
            "information": action.information,
            "remaining": action.remaining,
        },
        MessageKind.REFUSAL: {"grounds": action.grounds, "explanation": action.explanation},
        MessageKind.CLARIFICATION_REQUEST: {"question": action.question},
        MessageKind.CLARIFICATION_REPLY: {"answer": action.answer},
        MessageKind.DELAY_NOTICE: {
            "expected_delay_hours": action.expected_delay_hours,
            "reason": action.reason,
        },
        MessageKind.ACKNOWLEDGEMENT: {},
        MessageKind.PRUM_RESULT: {"outcome": action.outcome},
    }
    return _built(kind, {**common, **specific[kind]})


def opening_message(
    party: Country, action: DeskOpening, request_id: str, parties: frozenset[Country],
    sent_at: Any,
) -> MessageBase:  # fmt: skip
    """The message `party`'s desk sends to open `request_id`; DeskProblem naming the
    fields that are wrong (an unknown recipient, an urgent request without its reason)."""
    problems = []
    if parties and action.to not in parties:
        problems.append(
            FieldProblem(field="to", message=f"{action.to.value} is not in the exercise")
        )
    if action.to is party:
        problems.append(FieldProblem(field="to", message="a desk does not write to itself"))
    kind = MessageKind(action.kind)
    urgent = kind is MessageKind.REQUEST and action.urgency is Urgency.URGENT
    if urgent and not (action.urgency_reason or "").strip():
        reason = "an urgent request needs its reason (Art. 4)"
        problems.append(FieldProblem(field="urgency_reason", message=reason))
    if problems:
        raise DeskProblem("the message is not valid", problems)
    common: dict[str, Any] = {
        "message_id": request_id,
        "case_id": request_id,
        "request_id": request_id,
        "sender": party,
        "recipient": action.to,
        "language": action.language,
        "handling_code": action.handling_code,
        "sent_at": sent_at,
    }
    specific: dict[MessageKind, dict[str, Any]] = {
        MessageKind.REQUEST: {
            "urgency": action.urgency,
            "urgency_reason": action.urgency_reason if urgent else None,
            "accessibility": action.accessibility,
            "subject": action.subject,
            "details": action.details,
            "requested_channel": action.channel,
        },
        MessageKind.SPONTANEOUS_INFORMATION: {
            "subject": action.subject,
            "information": action.details or action.subject,
            "requested_channel": action.channel,
        },
        MessageKind.PRUM_QUERY: {"category": action.category, "reference": action.reference},
        MessageKind.PRUM_FOLLOWUP: {
            "category": action.category,
            "hit_request_id": action.hit_request_id,
        },
    }
    return _built(kind, {**common, **specific[kind]})
