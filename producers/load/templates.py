"""The records a load run sends: one ready template per kind and pair of nodes, with the
message id and times filled in per message, and the draw of each message's kind."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from producers.load.settings import LoadError, LoadKind
from schemas.enums import Accessibility, Country, Urgency
from schemas.envelope import EnvelopeError, decode, encode
from schemas.messages import MessageBase, Request, SpontaneousInformation
from schemas.topics import Topics

#: The CloudEvents extension carrying a message's intended send time.
INTENDED_TIME_HEADER: Final = "ce_intendedtime"
_PLACEHOLDER: Final = "LOADID0PLACEHOLDER0"


@dataclass(frozen=True)
class RecordTemplate:
    """A ready record of one kind between two nodes; ids and times are filled per message."""

    topic: str
    value_parts: tuple[bytes, ...]  # the value split at the id placeholder
    headers: tuple[tuple[str, bytes], ...]

    def record(
        self, message_id: str, sent_wall: float, intended_wall: float
    ) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        """Key, value and headers of message `message_id`."""
        raw_id = message_id.encode()
        value = raw_id.join(self.value_parts)
        headers = [
            (name, raw_id if raw == _PLACEHOLDER.encode() else raw) for name, raw in self.headers
        ]
        headers.append(("ce_time", rfc3339(sent_wall)))
        headers.append((INTENDED_TIME_HEADER, rfc3339(intended_wall)))
        return raw_id, value, headers


def rfc3339(wall: float) -> bytes:
    """Epoch seconds as an RFC 3339 UTC timestamp with microseconds, e.g. `...T08:00:00.123456Z`."""
    moment = datetime.fromtimestamp(wall, UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z").encode()


def _message(kind: LoadKind, sender: Country, recipient: Country) -> MessageBase:
    common: dict[str, Any] = {
        "message_id": _PLACEHOLDER,
        "case_id": _PLACEHOLDER,
        "request_id": _PLACEHOLDER,
        "sender": sender,
        "recipient": recipient,
        "language": "en",
        "sent_at": datetime.now(UTC),
    }
    if kind is LoadKind.SPONTANEOUS_INFORMATION:
        return SpontaneousInformation(
            **common,
            subject="Load test: convoy of stolen vans heading west",
            information="Three vans, false plates, seen on the motorway an hour ago.",
        )
    return Request(
        **common,
        urgency=Urgency.NON_URGENT,
        accessibility=Accessibility.DIRECT,
        subject="Load test: registered keeper of a vehicle",
        details="Who is the registered keeper of the vehicle, and since when?",
    )


def build_template(
    kind: LoadKind, sender: Country, recipient: Country, topics: Topics
) -> RecordTemplate:
    """The record template of `kind` from `sender` to `recipient`, checked once against the
    envelope: valid kinds must decode, `bad` must not."""
    record = encode(_message(kind, sender, recipient))
    value = record.value or b""
    if kind is LoadKind.BAD:
        value = value.replace(b'"language":"en"', b'"language":"english"')
    headers = tuple((n, v) for n, v in record.headers if n != "ce_time")
    try:
        decode(value, [*headers, ("ce_time", b"2026-01-01T00:00:00Z")])
    except EnvelopeError:
        if kind is not LoadKind.BAD:
            raise
    else:
        if kind is LoadKind.BAD:
            raise LoadError("the 'bad' load template decoded; it must be invalid")
    parts = tuple(value.split(_PLACEHOLDER.encode()))
    return RecordTemplate(topics.outbox(sender), parts, headers)


class KindChooser:
    """Draws the kind of each message from the mix (shares need not sum to 1)."""

    def __init__(self, mix: Mapping[LoadKind, float], rng: random.Random) -> None:
        self.kinds = [kind for kind, share in mix.items() if share > 0]
        shares = [mix[kind] for kind in self.kinds]
        self.cumulative = [sum(shares[: i + 1]) for i in range(len(shares))]
        self.rng = rng

    def __call__(self) -> LoadKind:
        if len(self.kinds) == 1:
            return self.kinds[0]
        return self.rng.choices(self.kinds, cum_weights=self.cumulative)[0]
