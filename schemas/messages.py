"""The messages nodes and the hub exchange: one pydantic model per kind, a union on `kind`.

Every message names the case and the request it belongs to. An *opening* message (a request,
a SIRENE form, a Prüm query or follow-up) starts a request whose id it carries in
`request_id`; an *answer* carries the `request_id` of the request it answers; a *one-way*
message (spontaneous information, an Interpol notice or diffusion) opens nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from schemas.enums import (
    Accessibility,
    Channel,
    Country,
    HandlingCode,
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

Identifier = Annotated[
    str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$", description="ISO 639-1 code")]
ShortText = Annotated[str, Field(max_length=300)]
LongText = Annotated[str, Field(max_length=8000)]


class Evaluation(BaseModel):
    """Europol's 4x4 evaluation of the source and of the information."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: SourceReliability
    information: InformationAccuracy


class MessageBase(BaseModel):
    """Fields every message carries."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    message_id: Identifier = Field(description="Unique id of this message; the CloudEvents id")
    case_id: Identifier = Field(description="The case (SIENA case) the message belongs to")
    request_id: Identifier = Field(
        description="The request this message opens, or the request it answers"
    )
    sender: Country
    recipient: Country
    language: Language
    handling_code: HandlingCode = HandlingCode.H0
    evaluation: Evaluation | None = None
    sent_at: AwareDatetime = Field(description="Exercise time at which the sender sent it")


class Request(MessageBase):
    """A request for information under Directive 2023/977."""

    kind: Literal[MessageKind.REQUEST] = MessageKind.REQUEST
    urgency: Urgency
    accessibility: Accessibility
    subject: ShortText
    urgency_reason: ShortText | None = Field(
        default=None, description="Why it is urgent (Art. 4); required when urgent"
    )
    details: LongText = ""
    originated_from: Country | None = Field(
        default=None, description="Provider of information passed on inside this request"
    )
    provider_consent: bool = False
    requested_channel: Channel | None = Field(
        default=None,
        description="The channel the sender chose; the hub routes by Art. 13 regardless and "
        "records a different choice as a deviation",
    )


class Reply(MessageBase):
    """The information requested; settles the request."""

    kind: Literal[MessageKind.REPLY] = MessageKind.REPLY
    information: LongText


class PartialReply(MessageBase):
    """Part of the information; the request stays open."""

    kind: Literal[MessageKind.PARTIAL_REPLY] = MessageKind.PARTIAL_REPLY
    information: LongText
    remaining: ShortText = ""


class Refusal(MessageBase):
    """A refusal on one or more of the grounds of Art. 6(1); settles the request."""

    kind: Literal[MessageKind.REFUSAL] = MessageKind.REFUSAL
    grounds: list[RefusalGround] = Field(min_length=1, max_length=8)
    explanation: ShortText = ""


class ClarificationRequest(MessageBase):
    """The requested SPOC asks for clarification; the request's clock pauses."""

    kind: Literal[MessageKind.CLARIFICATION_REQUEST] = MessageKind.CLARIFICATION_REQUEST
    question: ShortText


class ClarificationReply(MessageBase):
    """The requester clarifies; the request's clock runs again."""

    kind: Literal[MessageKind.CLARIFICATION_REPLY] = MessageKind.CLARIFICATION_REPLY
    answer: LongText


class DelayNotice(MessageBase):
    """Art. 5(2): judicial authorisation is needed; says how long and why. The clock is
    suspended until the answer."""

    kind: Literal[MessageKind.DELAY_NOTICE] = MessageKind.DELAY_NOTICE
    expected_delay_hours: float = Field(gt=0, le=24 * 365, description="Hours of exercise time")
    reason: ShortText


class SpontaneousInformation(MessageBase):
    """Information provided on the sender's own initiative (Art. 7)."""

    kind: Literal[MessageKind.SPONTANEOUS_INFORMATION] = MessageKind.SPONTANEOUS_INFORMATION
    subject: ShortText
    information: LongText
    originated_from: Country | None = None
    provider_consent: bool = False
    requested_channel: Channel | None = Field(
        default=None, description="The channel the sender chose (see Request)"
    )


class Acknowledgement(MessageBase):
    """Receipt of a request acknowledged; changes nothing else."""

    kind: Literal[MessageKind.ACKNOWLEDGEMENT] = MessageKind.ACKNOWLEDGEMENT


class SireneForm(MessageBase):
    """A SIRENE form after a hit on a SIS alert; asks for supplementary information."""

    kind: Literal[MessageKind.SIRENE_FORM] = MessageKind.SIRENE_FORM
    form: SireneFormType
    sis_alert_id: Identifier
    information: LongText = ""


class InterpolNotice(MessageBase):
    """An Interpol notice, published through the General Secretariat."""

    kind: Literal[MessageKind.INTERPOL_NOTICE] = MessageKind.INTERPOL_NOTICE
    colour: NoticeColour
    subject: ShortText
    information: LongText = ""


class InterpolDiffusion(MessageBase):
    """A diffusion sent from one NCB straight to a chosen country."""

    kind: Literal[MessageKind.INTERPOL_DIFFUSION] = MessageKind.INTERPOL_DIFFUSION
    colour: NoticeColour
    subject: ShortText
    information: LongText = ""


class PrumQuery(MessageBase):
    """Prüm step 1: an automated search of DNA, fingerprints or vehicle registrations."""

    kind: Literal[MessageKind.PRUM_QUERY] = MessageKind.PRUM_QUERY
    category: PrumCategory
    reference: Identifier = Field(description="Profile or registration searched for")


class PrumResult(MessageBase):
    """Prüm step 1 answer: hit or no hit; settles the query."""

    kind: Literal[MessageKind.PRUM_RESULT] = MessageKind.PRUM_RESULT
    outcome: PrumOutcome


class PrumFollowup(MessageBase):
    """Prüm step 2: asks for the data behind a confirmed hit."""

    kind: Literal[MessageKind.PRUM_FOLLOWUP] = MessageKind.PRUM_FOLLOWUP
    category: PrumCategory
    hit_request_id: Identifier = Field(description="The step-1 query that hit")


class OverdueNotice(MessageBase):
    """Written by the hub only: a request went past its deadline."""

    kind: Literal[MessageKind.OVERDUE_NOTICE] = MessageKind.OVERDUE_NOTICE
    deadline: datetime
    requester: Country
    requested: Country


Message = Annotated[
    Request
    | Reply
    | PartialReply
    | Refusal
    | ClarificationRequest
    | ClarificationReply
    | DelayNotice
    | SpontaneousInformation
    | Acknowledgement
    | SireneForm
    | InterpolNotice
    | InterpolDiffusion
    | PrumQuery
    | PrumResult
    | PrumFollowup
    | OverdueNotice,
    Field(discriminator="kind"),
]

MESSAGE_ADAPTER: Final[TypeAdapter[Message]] = TypeAdapter(Message)

MODEL_FOR_KIND: Final[dict[MessageKind, type[MessageBase]]] = {
    MessageKind.REQUEST: Request,
    MessageKind.REPLY: Reply,
    MessageKind.PARTIAL_REPLY: PartialReply,
    MessageKind.REFUSAL: Refusal,
    MessageKind.CLARIFICATION_REQUEST: ClarificationRequest,
    MessageKind.CLARIFICATION_REPLY: ClarificationReply,
    MessageKind.DELAY_NOTICE: DelayNotice,
    MessageKind.SPONTANEOUS_INFORMATION: SpontaneousInformation,
    MessageKind.ACKNOWLEDGEMENT: Acknowledgement,
    MessageKind.SIRENE_FORM: SireneForm,
    MessageKind.INTERPOL_NOTICE: InterpolNotice,
    MessageKind.INTERPOL_DIFFUSION: InterpolDiffusion,
    MessageKind.PRUM_QUERY: PrumQuery,
    MessageKind.PRUM_RESULT: PrumResult,
    MessageKind.PRUM_FOLLOWUP: PrumFollowup,
    MessageKind.OVERDUE_NOTICE: OverdueNotice,
}

OPENING_KINDS: Final = frozenset(
    {
        MessageKind.REQUEST,
        MessageKind.SIRENE_FORM,
        MessageKind.PRUM_QUERY,
        MessageKind.PRUM_FOLLOWUP,
    }
)
ONE_WAY_KINDS: Final = frozenset(
    {
        MessageKind.SPONTANEOUS_INFORMATION,
        MessageKind.INTERPOL_NOTICE,
        MessageKind.INTERPOL_DIFFUSION,
    }
)
# Answers sent by the requested party, and the one sent back by the requester.
ANSWER_KINDS_FROM_REQUESTED: Final = frozenset(
    {
        MessageKind.REPLY,
        MessageKind.PARTIAL_REPLY,
        MessageKind.REFUSAL,
        MessageKind.CLARIFICATION_REQUEST,
        MessageKind.DELAY_NOTICE,
        MessageKind.ACKNOWLEDGEMENT,
        MessageKind.PRUM_RESULT,
    }
)
ANSWER_KINDS_FROM_REQUESTER: Final = frozenset({MessageKind.CLARIFICATION_REPLY})
HUB_ONLY_KINDS: Final = frozenset({MessageKind.OVERDUE_NOTICE})


def kind_of(message: MessageBase) -> MessageKind:
    """The discriminator of a message."""
    kind: MessageKind = getattr(message, "kind")  # noqa: B009  every concrete model has one
    return kind
