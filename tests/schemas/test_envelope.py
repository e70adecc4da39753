"""The wire format: every message kind survives encode/decode, the CloudEvents headers say
what the message is, and each way a record can be wrong gives its own reason."""

from __future__ import annotations

import json

import pytest

from schemas.enums import Country, MessageKind
from schemas.envelope import (
    MAX_VALUE_BYTES,
    REQUIRED_HEADERS,
    EnvelopeError,
    Headers,
    decode,
    encode,
    header_map,
)
from schemas.messages import MODEL_FOR_KIND
from tests.factories import REQUEST_ID, WALL_TIME, make_message

ALL_KINDS = list(MODEL_FOR_KIND)


def _replace_header(headers: Headers, name: str, value: bytes) -> Headers:
    return [(k, value if k == name else v) for k, v in headers]


def _request_record_value() -> dict[str, object]:
    record = encode(make_message(MessageKind.REQUEST))
    assert record.value is not None, "encode always gives a value"
    value: dict[str, object] = json.loads(record.value)
    return value


class TestRoundTrip:
    @pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda kind: kind.value)
    def test_decode_gives_back_the_encoded_message(self, kind: MessageKind) -> None:
        message = make_message(kind)
        record = encode(message)

        assert decode(record.value, record.headers) == message

    def test_headers_given_as_a_mapping_decode_too(self) -> None:
        message = make_message(MessageKind.REPLY)
        record = encode(message)

        assert decode(record.value, dict(record.headers)) == message

    def test_record_key_is_the_request_id(self) -> None:
        record = encode(make_message(MessageKind.REPLY))

        assert record.key == REQUEST_ID.encode()


class TestCloudEventsHeaders:
    def test_headers_of_a_request_from_poland(self) -> None:
        message = make_message(MessageKind.REQUEST, message_id="PL-MSG-77")

        headers = header_map(encode(message, wall_time=WALL_TIME).headers)

        assert headers == {
            "ce_specversion": "1.0",
            "ce_id": "PL-MSG-77",
            "ce_source": "/nodes/PL",
            "ce_type": "eu.onestop.request.v1",
            "ce_time": "2025-03-01T09:00:05Z",
            "ce_dataschema": "urn:onestop:schema:request:v1",
            "ce_subject": REQUEST_ID,
            "content-type": "application/json",
        }

    @pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda kind: kind.value)
    def test_type_and_dataschema_name_the_kind(self, kind: MessageKind) -> None:
        record = encode(make_message(kind))

        assert record.header("ce_type") == f"eu.onestop.{kind.value}.v1".encode()
        assert record.header("ce_dataschema") == f"urn:onestop:schema:{kind.value}:v1".encode()

    def test_source_is_the_senders_node(self) -> None:
        message = make_message(MessageKind.REPLY, sender=Country.FR)

        assert encode(message).header("ce_source") == b"/nodes/FR"

    def test_source_and_event_id_can_be_given(self) -> None:
        record = encode(make_message(MessageKind.REPLY), source="/hub", event_id="EVT-1")

        assert record.header("ce_source") == b"/hub"
        assert record.header("ce_id") == b"EVT-1"

    def test_extensions_become_ce_headers(self) -> None:
        record = encode(make_message(MessageKind.REQUEST), extensions={"channel": "siena"})

        assert record.header("ce_channel") == b"siena"


class TestMissingHeader:
    @pytest.mark.parametrize("name", REQUIRED_HEADERS)
    def test_each_required_header_is_named_when_missing(self, name: str) -> None:
        record = encode(make_message(MessageKind.REQUEST))
        headers = [(k, v) for k, v in record.headers if k != name]

        with pytest.raises(EnvelopeError, match=name) as caught:
            decode(record.value, headers)

        assert caught.value.reason == "missing_header"

    def test_no_headers_at_all(self) -> None:
        record = encode(make_message(MessageKind.REQUEST))

        with pytest.raises(EnvelopeError) as caught:
            decode(record.value, None)

        assert caught.value.reason == "missing_header"


class TestInvalidHeader:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            pytest.param("ce_specversion", b"0.3", id="old-specversion"),
            pytest.param("content-type", b"application/avro", id="not-json"),
            pytest.param("ce_type", b"eu.onestop.reply.v1", id="type-of-another-kind"),
            pytest.param("ce_id", b"SOMETHING-ELSE", id="id-not-the-message-id"),
            pytest.param("ce_source", b"\xff\xfe", id="header-not-utf8"),
        ],
    )
    def test_the_header_is_named(self, name: str, value: bytes) -> None:
        record = encode(make_message(MessageKind.REQUEST))

        with pytest.raises(EnvelopeError, match=name) as caught:
            decode(record.value, _replace_header(record.headers, name, value))

        assert caught.value.reason == "invalid_header"

    def test_content_type_with_charset_is_accepted(self) -> None:
        message = make_message(MessageKind.REQUEST)
        record = encode(message)
        headers = _replace_header(
            record.headers, "content-type", b"application/json; charset=utf-8"
        )

        assert decode(record.value, headers) == message


class TestOversized:
    def test_value_over_the_limit_is_refused_with_its_size(self) -> None:
        record = encode(make_message(MessageKind.REQUEST))
        assert record.value is not None, "encode always gives a value"
        value = record.value + b" " * (MAX_VALUE_BYTES + 1 - len(record.value))

        with pytest.raises(EnvelopeError, match=f"value is {MAX_VALUE_BYTES + 1} bytes") as caught:
            decode(value, record.headers)

        assert caught.value.reason == "oversized"

    def test_value_exactly_at_the_limit_is_accepted(self) -> None:
        message = make_message(MessageKind.REQUEST)
        record = encode(message)
        assert record.value is not None, "encode always gives a value"
        value = record.value + b" " * (MAX_VALUE_BYTES - len(record.value))

        assert decode(value, record.headers) == message


class TestUndecodable:
    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(b'{"kind": "request", ', id="truncated-json"),
            pytest.param(b"\xff\xfe\x00", id="binary"),
            pytest.param(b"", id="empty"),
        ],
    )
    def test_value_that_is_not_json(self, value: bytes) -> None:
        headers = encode(make_message(MessageKind.REQUEST)).headers

        with pytest.raises(EnvelopeError, match="Invalid JSON") as caught:
            decode(value, headers)

        assert caught.value.reason == "undecodable"

    def test_tombstone(self) -> None:
        headers = encode(make_message(MessageKind.REQUEST)).headers

        with pytest.raises(EnvelopeError, match="tombstone") as caught:
            decode(None, headers)

        assert caught.value.reason == "undecodable"


class TestInvalid:
    def test_missing_field_is_named_with_its_kind(self) -> None:
        value = _request_record_value()
        del value["urgency"]
        headers = encode(make_message(MessageKind.REQUEST)).headers

        with pytest.raises(EnvelopeError, match=r"request\.urgency: Field required") as caught:
            decode(json.dumps(value).encode(), headers)

        assert caught.value.reason == "invalid"

    def test_wrong_field_value_is_named(self) -> None:
        value = _request_record_value() | {"language": "polish"}
        headers = encode(make_message(MessageKind.REQUEST)).headers

        with pytest.raises(EnvelopeError, match=r"request\.language") as caught:
            decode(json.dumps(value).encode(), headers)

        assert caught.value.reason == "invalid"

    def test_unknown_field_is_named(self) -> None:
        value = _request_record_value() | {"priority": "high"}
        headers = encode(make_message(MessageKind.REQUEST)).headers

        with pytest.raises(EnvelopeError, match=r"request\.priority") as caught:
            decode(json.dumps(value).encode(), headers)

        assert caught.value.reason == "invalid"

    def test_unknown_kind_names_the_discriminator(self) -> None:
        value = _request_record_value() | {"kind": "telegram"}
        headers = encode(make_message(MessageKind.REQUEST)).headers

        with pytest.raises(EnvelopeError, match="'kind'") as caught:
            decode(json.dumps(value).encode(), headers)

        assert caught.value.reason == "invalid"

    def test_error_count_is_given(self) -> None:
        value = _request_record_value()
        del value["urgency"]
        del value["accessibility"]
        headers = encode(make_message(MessageKind.REQUEST)).headers

        with pytest.raises(EnvelopeError, match=r"\(2 error\(s\)\)"):
            decode(json.dumps(value).encode(), headers)
