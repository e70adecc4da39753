"""The wire format: CloudEvents 1.0 in Kafka binary mode.

The record value is the message as JSON; the CloudEvents attributes travel as `ce_*` headers
and `content-type`. This is the one place that knows how a message looks on Kafka.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from pydantic import ValidationError

from schemas.enums import Country, MessageKind
from schemas.messages import MESSAGE_ADAPTER, Message, MessageBase, kind_of

SPEC_VERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/json"
MAX_VALUE_BYTES: Final = 64 * 1024
HUB_SOURCE: Final = "/hub"
REQUIRED_HEADERS: Final = ("ce_specversion", "ce_id", "ce_source", "ce_type", "content-type")

Headers = list[tuple[str, bytes]]

# Headers the hub adds to a dead letter, after the record's own untouched headers.
DLQ_REASON: Final = "onestop_error_reason"
DLQ_DETAIL: Final = "onestop_error"
DLQ_TOPIC: Final = "onestop_source_topic"
DLQ_PARTITION: Final = "onestop_source_partition"
DLQ_OFFSET: Final = "onestop_source_offset"
DLQ_ID: Final = "onestop_deadletter_id"


def ce_type(kind: MessageKind) -> str:
    """The CloudEvents type of a message kind, e.g. `eu.onestop.request.v1`."""
    return f"eu.onestop.{kind.value}.v1"


def data_schema(kind: MessageKind) -> str:
    """The CloudEvents dataschema URI of a message kind (the committed JSON Schema)."""
    return f"urn:onestop:schema:{kind.value}:v1"


def node_source(party: Country) -> str:
    """The CloudEvents source of a national node, e.g. `/nodes/PL`."""
    return f"/nodes/{party.value}"


@dataclass(frozen=True)
class KafkaRecord:
    """What goes to Kafka: key, value and headers (None key or value kept as None)."""

    key: bytes | None
    value: bytes | None
    headers: Headers

    def header(self, name: str) -> bytes | None:
        """The first header called `name`, or None."""
        return next((v for k, v in self.headers if k == name), None)

    def header_text(self, name: str) -> str | None:
        """The first header called `name` as text, or None."""
        raw = self.header(name)
        return raw.decode("utf-8", errors="replace") if raw is not None else None


class EnvelopeError(ValueError):
    """A record that is not a valid OneStop CloudEvent. `reason` is a short stable code
    (a metric label); the message says what was wrong, for a person."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def encode(
    message: MessageBase,
    *,
    source: str | None = None,
    event_id: str | None = None,
    wall_time: datetime | None = None,
    extensions: Mapping[str, str] | None = None,
) -> KafkaRecord:
    """The Kafka record of `message`: key = request id, value = JSON, CloudEvents headers.

    `source` defaults to the sender's node, `event_id` to the message id, `wall_time`
    (the CloudEvents `time`) to now. `extensions` become further `ce_<name>` headers."""
    kind = kind_of(message)
    moment = wall_time or datetime.now(UTC)
    headers: Headers = [
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_id", (event_id or message.message_id).encode()),
        ("ce_source", (source or node_source(message.sender)).encode()),
        ("ce_type", ce_type(kind).encode()),
        ("ce_time", moment.isoformat().replace("+00:00", "Z").encode()),
        ("ce_dataschema", data_schema(kind).encode()),
        ("ce_subject", message.request_id.encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    headers.extend((f"ce_{name}", value.encode()) for name, value in (extensions or {}).items())
    return KafkaRecord(
        key=message.request_id.encode(),
        value=message.model_dump_json(exclude_none=True).encode(),
        headers=headers,
    )


def header_map(headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None) -> dict[str, str]:
    """Headers as text, first value wins; undecodable bytes raise EnvelopeError."""
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or [])
    result: dict[str, str] = {}
    for name, raw in pairs:
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        except UnicodeDecodeError as exc:
            raise EnvelopeError("invalid_header", f"header {name!r} is not UTF-8") from exc
        result.setdefault(name, text)
    return result


def decode(
    value: bytes | None, headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None
) -> Message:
    """The message in a Kafka record, checked against its CloudEvents headers.

    Raises EnvelopeError naming what is wrong: missing or inconsistent headers, oversized or
    undecodable value, or a value that is not a valid message (the pydantic error, with the
    field's location)."""
    return decode_with(value, header_map(headers))


def decode_with(value: bytes | None, attrs: Mapping[str, str]) -> Message:
    """`decode` for headers already read as text by `header_map`."""
    missing = [name for name in REQUIRED_HEADERS if name not in attrs]
    if missing:
        raise EnvelopeError(
            "missing_header", f"missing CloudEvents header(s): {', '.join(missing)}"
        )
    if attrs["ce_specversion"] != SPEC_VERSION:
        raise EnvelopeError(
            "invalid_header", f"ce_specversion is {attrs['ce_specversion']!r}, expected '1.0'"
        )
    if attrs["content-type"].split(";")[0].strip() != CONTENT_TYPE:
        raise EnvelopeError(
            "invalid_header", f"content-type is {attrs['content-type']!r}, expected {CONTENT_TYPE}"
        )
    if not _is_rfc3339(attrs.get("ce_time")):
        raise EnvelopeError(
            "invalid_header",
            f"ce_time {attrs.get('ce_time')!r} is not an RFC 3339 time with a UTC offset",
        )
    if value is None:
        raise EnvelopeError("undecodable", "record has no value (a tombstone)")
    if len(value) > MAX_VALUE_BYTES:
        raise EnvelopeError(
            "oversized", f"value is {len(value)} bytes, the limit is {MAX_VALUE_BYTES}"
        )
    try:
        message = MESSAGE_ADAPTER.validate_json(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(value)"
        reason = "undecodable" if first["type"] in ("json_invalid", "json_type") else "invalid"
        raise EnvelopeError(
            reason, f"{where}: {first['msg']} ({exc.error_count()} error(s))"
        ) from exc
    kind = kind_of(message)
    if attrs["ce_type"] != ce_type(kind):
        raise EnvelopeError(
            "invalid_header", f"ce_type {attrs['ce_type']!r} does not match kind {kind.value!r}"
        )
    if attrs["ce_id"] != message.message_id:
        raise EnvelopeError(
            "invalid_header",
            f"ce_id {attrs['ce_id']!r} differs from message_id {message.message_id!r}",
        )
    return message


def _is_rfc3339(text: str | None) -> bool:
    """True for an absent time (it is optional) or one with a UTC offset."""
    if text is None:
        return True
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    return moment.utcoffset() is not None
