"""Messages a node sends of its own accord (pure): building a message of any sendable kind
from a few fields, and the background traffic of an exercise, drawn from a seeded
generator."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas.enums import (
    Accessibility,
    Country,
    HandlingCode,
    MessageKind,
    NoticeColour,
    PrumCategory,
    SireneFormType,
    Urgency,
)
from schemas.messages import MODEL_FOR_KIND, MessageBase

# Fields each kind needs beyond the common ones, with the defaults a trainer may override.
KIND_DEFAULTS: dict[MessageKind, dict[str, Any]] = {
    MessageKind.REQUEST: {"urgency": Urgency.NON_URGENT, "accessibility": Accessibility.DIRECT},
    MessageKind.SIRENE_FORM: {"form": SireneFormType.G},
    MessageKind.PRUM_QUERY: {"category": PrumCategory.VEHICLE_REGISTRATION},
    MessageKind.PRUM_FOLLOWUP: {"category": PrumCategory.VEHICLE_REGISTRATION},
    MessageKind.SPONTANEOUS_INFORMATION: {},
    MessageKind.INTERPOL_NOTICE: {"colour": NoticeColour.BLUE},
    MessageKind.INTERPOL_DIFFUSION: {"colour": NoticeColour.BLUE},
}
SUBJECTS = (
    "Registration holder of a vehicle seen at a border crossing",
    "Criminal record of a suspect in a fraud case",
    "Owner of a mobile phone number used in extortion",
    "Address of a witness to a serious assault",
    "Travel movements of a suspected drug courier",
    "Identity behind a document used at a hotel check-in",
)


def build_message(
    kind: MessageKind,
    *,
    request_id: str,
    case_id: str,
    sender: Country,
    recipient: Country,
    sent_at: datetime,
    subject: str = "",
    language: str = "en",
    handling_code: HandlingCode = HandlingCode.H0,
    fields: Mapping[str, Any] | None = None,
) -> MessageBase:
    """A message of `kind` that opens `request_id` (or travels one way). `fields` adds or
    overrides kind-specific fields; pydantic checks the result."""
    extra = {**KIND_DEFAULTS.get(kind, {}), **(fields or {})}
    subject = subject or SUBJECTS[0]
    if kind is MessageKind.SIRENE_FORM:
        extra.setdefault("sis_alert_id", f"SIS-{request_id}")
        extra.setdefault("information", subject)
    elif kind in (MessageKind.PRUM_QUERY,):
        extra.setdefault("reference", f"REF-{request_id}")
    elif kind is MessageKind.PRUM_FOLLOWUP:
        extra.setdefault("hit_request_id", request_id)
    elif kind is MessageKind.SPONTANEOUS_INFORMATION:
        extra.setdefault("subject", subject)
        extra.setdefault("information", subject)
    elif kind in (MessageKind.REQUEST, MessageKind.INTERPOL_NOTICE, MessageKind.INTERPOL_DIFFUSION):
        extra.setdefault("subject", subject)
    return MODEL_FOR_KIND[kind].model_validate(
        {
            "message_id": request_id,
            "case_id": case_id,
            "request_id": request_id,
            "sender": sender,
            "recipient": recipient,
            "language": language,
            "handling_code": handling_code,
            "sent_at": sent_at,
            "kind": kind,
            **extra,
        }
    )


@dataclass(frozen=True)
class PlannedMessage:
    """A background message: when (exercise time), who to whom, what."""

    at: datetime
    request_id: str
    sender: Country
    recipient: Country
    kind: MessageKind
    urgent: bool
    accessibility: Accessibility
    subject: str

    def message(self, sent_at: datetime) -> MessageBase:
        """The message to send, stamped `sent_at` (exercise time)."""
        fields: dict[str, Any] = {}
        if self.kind is MessageKind.REQUEST:
            fields["accessibility"] = self.accessibility
            if self.urgent:
                fields["urgency"] = Urgency.URGENT
                fields["urgency_reason"] = "imminent loss of relevance (Art. 4)"
        return build_message(
            self.kind,
            request_id=self.request_id,
            case_id=self.request_id,
            sender=self.sender,
            recipient=self.recipient,
            sent_at=sent_at,
            subject=self.subject,
            fields=fields,
        )


def background_traffic(
    rng: random.Random,
    parties: Sequence[Country],
    start: datetime,
    end: datetime,
    rate_per_hour: float,
    kinds: Mapping[MessageKind, float],
    urgent_share: float,
    id_prefix: str,
) -> list[PlannedMessage]:
    """Poisson arrivals at `rate_per_hour` (exercise time) between random pairs of
    `parties`, from `start` to `end`."""
    if rate_per_hour <= 0 or len(parties) < 2:
        return []
    planned: list[PlannedMessage] = []
    moment = start
    kind_list, weights = zip(*sorted(kinds.items()), strict=True)
    while True:
        moment += timedelta(hours=rng.expovariate(rate_per_hour))
        if moment >= end:
            return planned
        sender, recipient = rng.sample(list(parties), 2)
        planned.append(
            PlannedMessage(
                at=moment,
                request_id=f"{id_prefix}.bg{len(planned) + 1:04d}",
                sender=sender,
                recipient=recipient,
                kind=rng.choices(kind_list, weights=weights)[0],
                urgent=rng.random() < urgent_share,
                accessibility=rng.choice([Accessibility.DIRECT, Accessibility.INDIRECT]),
                subject=rng.choice(SUBJECTS),
            )
        )
