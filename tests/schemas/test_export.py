"""The exported contract: committed copies up to date, schemas that accept real messages,
and an AsyncAPI document whose references all resolve."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from onestop.cli.schema import schema_app
from schemas.asyncapi import asyncapi_document
from schemas.audit import AuditEvent, AuditRecord, Operation
from schemas.clock import ClockAction, ClockCommand
from schemas.enums import (
    Accessibility,
    Country,
    MessageKind,
    NoticeColour,
    PrumCategory,
    PrumOutcome,
    RefusalGround,
    SireneFormType,
    Urgency,
)
from schemas.envelope import REQUIRED_HEADERS, ce_type, data_schema, encode, header_map
from schemas.export import ASYNCAPI_FILE, render_yaml, write_all
from schemas.json_schema import file_name, message_schemas
from schemas.messages import HUB_ONLY_KINDS, MODEL_FOR_KIND, MessageBase

GENERATED = Path(__file__).resolve().parents[2] / "schemas" / "generated"
MOMENT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

# Fields of each kind beyond those every message carries.
EXTRA: dict[MessageKind, dict[str, Any]] = {
    MessageKind.REQUEST: {
        "urgency": Urgency.NON_URGENT,
        "accessibility": Accessibility.DIRECT,
        "subject": "Vehicle registered to a suspect",
    },
    MessageKind.REPLY: {"information": "Registered to J. Doe since 2021."},
    MessageKind.PARTIAL_REPLY: {"information": "Owner known.", "remaining": "address"},
    MessageKind.REFUSAL: {"grounds": [RefusalGround.NOT_AVAILABLE]},
    MessageKind.CLARIFICATION_REQUEST: {"question": "Which plate?"},
    MessageKind.CLARIFICATION_REPLY: {"answer": "WX 12345"},
    MessageKind.DELAY_NOTICE: {"expected_delay_hours": 48.0, "reason": "court order needed"},
    MessageKind.SPONTANEOUS_INFORMATION: {"subject": "Shipment", "information": "Tuesday."},
    MessageKind.ACKNOWLEDGEMENT: {},
    MessageKind.SIRENE_FORM: {"form": SireneFormType.G, "sis_alert_id": "SIS-PL-0001"},
    MessageKind.INTERPOL_NOTICE: {"colour": NoticeColour.RED, "subject": "Wanted person"},
    MessageKind.INTERPOL_DIFFUSION: {"colour": NoticeColour.BLUE, "subject": "Locate"},
    MessageKind.PRUM_QUERY: {"category": PrumCategory.DNA, "reference": "DNA-PL-77"},
    MessageKind.PRUM_RESULT: {"outcome": PrumOutcome.HIT},
    MessageKind.PRUM_FOLLOWUP: {"category": PrumCategory.DNA, "hit_request_id": "r-0"},
    MessageKind.OVERDUE_NOTICE: {
        "deadline": MOMENT,
        "requester": Country.PL,
        "requested": Country.LT,
    },
}


def make_message(kind: MessageKind) -> MessageBase:
    """A valid message of `kind`, PL to LT."""
    return MODEL_FOR_KIND[kind](
        message_id=f"m-{kind.value}",
        case_id="case-1",
        request_id="r-1",
        sender=Country.PL,
        recipient=Country.LT,
        language="en",
        sent_at=MOMENT,
        **EXTRA[kind],
    )


def other_instances() -> dict[str, BaseModel]:
    """A valid clock command and audit record, by schema file name."""
    return {
        file_name("clock_command"): ClockCommand(
            exercise_id="ex-1", action=ClockAction.START, issued_at=MOMENT, speed=60.0
        ),
        file_name("audit_record"): AuditRecord(
            record_id="m-1/received",
            partition=0,
            seq=0,
            prev_hash="0" * 64,
            hash="f" * 64,
            operation=Operation.COLLECTION,
            event=AuditEvent.RECEIVED,
            actor="hub",
            wall_time=MOMENT,
            exercise_time=MOMENT,
            justification="request received",
            kind=MessageKind.REQUEST,
            sender=Country.PL,
            recipients=[Country.LT],
            details={"urgency": "non_urgent"},
        ),
    }


def instances() -> Iterator[tuple[str, BaseModel]]:
    """(schema file name, valid instance) for every exported schema."""
    for kind in MODEL_FOR_KIND:
        yield file_name(kind.value), make_message(kind)
    yield from other_instances().items()


def test_factory_covers_every_kind() -> None:
    assert set(EXTRA) == set(MODEL_FOR_KIND) == set(MessageKind)


# --- (1) committed copies ---------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_committed_copies_are_up_to_date(tmp_path: Path) -> None:
    written = write_all(tmp_path)
    fresh = _tree(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(fresh)
    committed = _tree(GENERATED)
    hint = "schemas/generated/ is out of date with the models: run `make schemas`"
    assert sorted(committed) == sorted(fresh), hint
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"{hint} (differs: {', '.join(stale)})"


def test_export_is_deterministic_and_prunes_stale_files(tmp_path: Path) -> None:
    write_all(tmp_path)
    first = _tree(tmp_path)
    (tmp_path / "messages" / "gone.v1.json").write_text("{}\n")
    write_all(tmp_path)
    assert _tree(tmp_path) == first
    for text in first.values():
        assert text.endswith(b"\n") and not text.endswith(b"\n\n")


def test_schema_files_and_ids() -> None:
    schemas = message_schemas()
    expected = {file_name(k.value) for k in MessageKind} | {
        "clock_command.v1.json",
        "audit_record.v1.json",
    }
    assert set(schemas) == expected
    for kind in MessageKind:
        schema = schemas[f"{kind.value}.v1.json"]
        assert schema["$id"] == data_schema(kind) == f"urn:onestop:schema:{kind.value}:v1"
        assert schema["title"]
        assert "kind" in schema["required"]
        assert schema["properties"]["kind"]["const"] == kind.value
    assert schemas["clock_command.v1.json"]["$id"] == "urn:onestop:schema:clock_command:v1"
    assert schemas["audit_record.v1.json"]["$id"] == "urn:onestop:schema:audit_record:v1"


# --- (2) schemas accept real instances --------------------------------------------------


def _validator(schema: dict[str, Any]) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.mark.parametrize("name", [name for name, _ in instances()])
def test_schema_validates_real_instance(name: str) -> None:
    instance = dict(instances())[name]
    validator = _validator(message_schemas()[name])
    full = instance.model_dump(mode="json")
    validator.validate(full)
    # the wire form (envelope.encode drops nulls) is valid too
    validator.validate(instance.model_dump(mode="json", exclude_none=True))
    # and the schema is not vacuous: an unknown field is rejected
    assert not validator.is_valid({**full, "unexpected": 1})


@pytest.mark.parametrize("kind", list(MessageKind))
def test_message_schema_rejects_what_the_model_rejects(kind: MessageKind) -> None:
    validator = _validator(message_schemas()[file_name(kind.value)])
    good = make_message(kind).model_dump(mode="json")
    assert not validator.is_valid({k: v for k, v in good.items() if k != "kind"})
    other = next(k for k in MessageKind if k != kind)
    assert not validator.is_valid({**good, "kind": other.value})
    assert not validator.is_valid({**good, "sender": "XX"})
    assert not validator.is_valid({**good, "request_id": "has space"})


@pytest.mark.parametrize("name", [name for name, _ in instances()])
def test_asyncapi_payload_validates_real_instance(name: str) -> None:
    """The payload a component message references accepts the same instance."""
    document = asyncapi_document()
    messages = document["components"]["messages"]
    component = messages[name.removesuffix(".v1.json")]
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$ref": component["payload"]["$ref"],
        "components": {"schemas": document["components"]["schemas"]},
    }
    instance = dict(instances())[name]
    _validator(schema).validate(instance.model_dump(mode="json", exclude_none=True))


@pytest.mark.parametrize("kind", list(MessageKind))
def test_asyncapi_headers_describe_encoded_records(kind: MessageKind) -> None:
    record = encode(make_message(kind), extensions={"channel": "siena"})
    headers = asyncapi_document()["components"]["messages"][kind.value]["headers"]
    _validator(headers).validate(header_map(record.headers))
    assert set(REQUIRED_HEADERS) <= set(headers["required"])
    assert headers["properties"]["ce_type"]["const"] == ce_type(kind)


# --- (3) AsyncAPI structure -------------------------------------------------------------


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_asyncapi_structure() -> None:
    doc = asyncapi_document()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] == "OneStop"
    assert doc["info"]["version"] and doc["info"]["description"]
    assert doc["servers"]["local"] == {
        "host": "127.0.0.1:9092",
        "protocol": "kafka",
        "description": doc["servers"]["local"]["description"],
    }
    components = doc["components"]
    for kind in MessageKind:
        message = components["messages"][kind.value]
        payload = _resolve(doc, message["payload"]["$ref"])
        assert payload["properties"]["kind"]["const"] == kind.value
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        assert {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time"} <= set(
            message["headers"]["properties"]
        )
        assert {"ce_dataschema", "content-type"} <= set(message["headers"]["properties"])
    for ref in _refs(doc):
        _resolve(doc, ref)


def test_asyncapi_channels() -> None:
    doc = asyncapi_document()
    channels = doc["channels"]
    addresses = {channel["address"] for channel in channels.values()}
    assert addresses == {
        "onestop.outbox.{party}",
        "onestop.inbox.{party}",
        "onestop.audit",
        "onestop.deadletter",
        "onestop.clock",
    }
    for channel_id, channel in channels.items():
        assert re.fullmatch(r"[\w\-.]+", channel_id)
        placeholders = set(re.findall(r"{(\w+)}", channel["address"]))
        assert placeholders == set(channel.get("parameters", {}))
        for parameter in channel.get("parameters", {}).values():
            assert parameter["enum"] == [c.value for c in Country]
        assert channel["messages"], channel_id
        for message in channel["messages"].values():
            assert message["$ref"].startswith("#/components/messages/")
            _resolve(doc, message["$ref"])
        kafka = channel["bindings"]["kafka"]
        assert kafka["partitions"] == (1 if channel_id == "clock" else 4)
        assert kafka["x-key"]
    outbox = set(channels["outbox"]["messages"])
    inbox = set(channels["inbox"]["messages"])
    assert inbox == {k.value for k in MessageKind}
    assert outbox == {k.value for k in MessageKind if k not in HUB_ONLY_KINDS}


def test_asyncapi_operations() -> None:
    doc = asyncapi_document()
    operations = doc["operations"]
    assert operations["sendOutbox"]["action"] == "send"
    assert operations["sendOutbox"]["channel"]["$ref"] == "#/channels/outbox"
    assert operations["receiveInbox"]["action"] == "receive"
    assert operations["receiveInbox"]["channel"]["$ref"] == "#/channels/inbox"
    assert any(op["tags"] == [{"name": "hub"}] for op in operations.values())
    for name, operation in operations.items():
        assert operation["action"] in ("send", "receive"), name
        channel_ref = operation["channel"]["$ref"]
        channel = _resolve(doc, channel_ref)
        for message in operation["messages"]:
            # an operation's messages must be messages of its channel
            assert message["$ref"].startswith(channel_ref + "/messages/"), (name, message)
            _resolve(doc, message["$ref"])
        assert operation["messages"], name
        assert channel["messages"]


def test_asyncapi_parties_and_yaml_round_trip() -> None:
    doc = asyncapi_document(parties=[Country.PL, Country.LT])
    assert doc["channels"]["outbox"]["parameters"]["party"]["enum"] == ["PL", "LT"]
    assert yaml.safe_load(render_yaml(asyncapi_document())) == asyncapi_document()
    committed = yaml.safe_load((GENERATED / ASYNCAPI_FILE).read_text(encoding="utf-8"))
    assert committed["asyncapi"] == "3.0.0"


# --- the command ------------------------------------------------------------------------


def test_cli_export(tmp_path: Path) -> None:
    target = tmp_path / "out"
    result = CliRunner().invoke(schema_app, ["export", str(target)])
    assert result.exit_code == 0, result.output
    assert str(target / "asyncapi.yaml") in result.stdout
    assert (target / "messages" / "request.v1.json").is_file()
    assert _tree(target) == _tree(GENERATED)
