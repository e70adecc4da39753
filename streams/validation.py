"""Rules a message must keep besides its schema (pure): who may send it, in which language,
and whether its handling code lets it be passed on."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.countries import accepts_language
from schemas.enums import Country, HandlingCode, MessageKind, Urgency
from schemas.envelope import node_source
from schemas.messages import (
    ANSWER_KINDS_FROM_REQUESTED,
    ANSWER_KINDS_FROM_REQUESTER,
    HUB_ONLY_KINDS,
    MessageBase,
    Request,
    SpontaneousInformation,
    kind_of,
)
from schemas.topics import partition_for
from streams.lifecycle import RequestEntry


@dataclass(frozen=True)
class Rejection:
    """Why a message is refused entry: a stable `reason` code (a metric label) and a
    sentence for a person."""

    reason: str
    detail: str


def check_sender(message: MessageBase, outbox_party: Country, source: str) -> Rejection | None:
    """The sender must be the owner of the outbox the message arrived on."""
    if message.sender is not outbox_party:
        return Rejection(
            "wrong_sender",
            f"sender {message.sender.value} claimed on the outbox of {outbox_party.value}",
        )
    if source != node_source(outbox_party):
        return Rejection(
            "wrong_sender", f"ce_source {source!r} is not {node_source(outbox_party)!r}"
        )
    if kind_of(message) in HUB_ONLY_KINDS:
        return Rejection("wrong_party", f"only the hub may send a {kind_of(message).value}")
    if message.recipient is message.sender:
        return Rejection("invalid", f"{message.sender.value} addressed a message to itself")
    return None


def check_placement(
    key: bytes | None, partition: int, request_id: str, partitions: int
) -> Rejection | None:
    """A record is keyed by its request id and sits on that key's default partition, so
    that a request and all its answers meet on one partition (co-partitioning)."""
    if key != request_id.encode():
        return Rejection("wrong_key", f"record key {key!r} is not the request id {request_id!r}")
    expected = partition_for(key, partitions)
    if partition != expected:
        return Rejection(
            "wrong_partition",
            f"record is on partition {partition}, but key {request_id!r} belongs on "
            f"partition {expected} (use the default murmur2 partitioner)",
        )
    return None


def check_opening(message: MessageBase) -> Rejection | None:
    """Rules for a message that opens a request or travels one way."""
    if not accepts_language(message.recipient, message.language):
        return Rejection(
            "wrong_language",
            f"{message.recipient.value} does not accept requests in {message.language!r}",
        )
    urgent = isinstance(message, Request) and message.urgency is Urgency.URGENT
    if urgent and not getattr(message, "urgency_reason", None):
        return Rejection("invalid", "an urgent request must give its reason (Art. 4)")
    if isinstance(message, Request | SpontaneousInformation):
        provider = message.originated_from
        restricted = message.handling_code in (HandlingCode.H2, HandlingCode.H3)
        if (
            restricted
            and provider is not None
            and provider not in (message.sender, message.recipient)
            and not message.provider_consent
        ):
            return Rejection(
                "handling_code",
                f"handling code {message.handling_code.value}: information from "
                f"{provider.value} may not pass to {message.recipient.value} without consent",
            )
    return None


def check_answer(message: MessageBase, request: RequestEntry) -> Rejection | None:
    """An answer must come from the right party, to the right party, in the request's
    language."""
    kind = kind_of(message)
    if kind in ANSWER_KINDS_FROM_REQUESTED:
        expected = (request.requested, request.requester)
    elif kind in ANSWER_KINDS_FROM_REQUESTER:
        expected = (request.requester, request.requested)
    else:
        return Rejection("bad_state", f"a {kind.value} does not answer a request")
    if (message.sender, message.recipient) != expected:
        return Rejection(
            "wrong_party",
            f"a {kind.value} on request {request.request_id} must go from "
            f"{expected[0].value} to {expected[1].value}, "
            f"not {message.sender.value} to {message.recipient.value}",
        )
    if kind is MessageKind.PRUM_RESULT and request.kind is not MessageKind.PRUM_QUERY:
        return Rejection("bad_state", f"a prum_result answers a prum_query, not a {request.kind}")
    if message.language != request.language:
        return Rejection(
            "wrong_language",
            f"answers go in the language of the request ({request.language!r}), "
            f"not {message.language!r}",
        )
    return None
