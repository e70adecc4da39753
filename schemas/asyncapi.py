"""The contract as an AsyncAPI 3.0 document (pure): the topics as channels, the messages
with their CloudEvents headers and Kafka keys, the operations of nodes and hub."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from schemas.audit import AuditRecord
from schemas.clock import ClockCommand
from schemas.enums import Channel, Country, MessageKind
from schemas.envelope import (
    CONTENT_TYPE,
    DLQ_DETAIL,
    DLQ_ID,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REASON,
    DLQ_TOPIC,
    HUB_SOURCE,
    REQUIRED_HEADERS,
    SPEC_VERSION,
    ce_type,
    data_schema,
)
from schemas.json_schema import AUDIT_RECORD, CLOCK_COMMAND, package_version, require_kind
from schemas.messages import HUB_ONLY_KINDS, MODEL_FOR_KIND
from schemas.topics import DEFAULT_NAMESPACE, DEFAULT_PARTITIONS

ASYNCAPI_VERSION: Final = "3.0.0"
KAFKA_BINDING_VERSION: Final = "0.5.0"
LOCAL_SERVER_HOST: Final = "127.0.0.1:9092"
DEAD_LETTER: Final = "dead_letter"

#: Topic settings of the topics that are never cleaned up (audit, dead letters, clock).
KEEP_FOREVER: Final[Mapping[str, int]] = {"retention.ms": -1, "retention.bytes": -1}

#: Headers the hub adds to a dead letter after the original ones (see streams/exchange.py).
DEAD_LETTER_HEADERS: Final[Mapping[str, str]] = {
    DLQ_REASON: "Short stable code of why the record was rejected",
    DLQ_DETAIL: "What was wrong, for a person",
    DLQ_TOPIC: "The outbox topic the record was read from",
    DLQ_PARTITION: "Its partition (decimal)",
    DLQ_OFFSET: "Its offset (decimal)",
    DLQ_ID: "`<topic>/<partition>/<offset>`, the id the audit record names",
}


def _component_schemas() -> tuple[dict[str, Any], dict[type[BaseModel], str]]:
    """components/schemas (every model and enum, shared) and each top-level model's ref."""
    models: list[type[BaseModel]] = [*MODEL_FOR_KIND.values(), ClockCommand, AuditRecord]
    refs, defs = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = defs["$defs"]
    model_refs = {model: refs[(model, "validation")]["$ref"] for model in models}
    for kind_model in MODEL_FOR_KIND.values():
        require_kind(schemas[model_refs[kind_model].rsplit("/", 1)[1]])
    return schemas, model_refs


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _cloudevents_headers(kind: MessageKind) -> dict[str, Any]:
    """The Kafka headers of a message of `kind`: CloudEvents 1.0 binary mode."""
    properties: dict[str, Any] = {
        "ce_specversion": _string("CloudEvents spec version", const=SPEC_VERSION),
        "ce_id": _string("Event id: the message's `message_id` (duplicates share it)"),
        "ce_source": _string(
            f"The sending node, `/nodes/<party>`, or `{HUB_SOURCE}` for the hub's own notices",
            examples=["/nodes/PL", HUB_SOURCE],
        ),
        "ce_type": _string("Event type", const=ce_type(kind)),
        "ce_time": _string("Wall time the event was produced (RFC 3339)", format="date-time"),
        "ce_dataschema": _string(
            "The JSON Schema of the value (`$id` of the schema file)", const=data_schema(kind)
        ),
        "ce_subject": _string("The request id (the record key)"),
        "ce_channel": _string(
            "Extension set by the hub on delivery: the channel the exchange runs on",
            enum=[channel.value for channel in Channel],
        ),
        "ce_deadline": _string(
            "Extension set by the hub on delivery of an opening message: its deadline "
            "in exercise time",
            format="date-time",
        ),
        "ce_intendedtime": _string(
            "Extension: the exercise time the sender meant to send at", format="date-time"
        ),
        "content-type": _string("Media type of the value", const=CONTENT_TYPE),
    }
    return {
        "type": "object",
        "description": "CloudEvents 1.0 Kafka protocol binding, binary content mode: the "
        "attributes travel as `ce_*` headers, the value is the message as JSON. Further "
        "`ce_<name>` extension headers may be present.",
        "required": list(REQUIRED_HEADERS),
        "properties": properties,
        "additionalProperties": {"type": "string"},
    }


def _kafka_key(description: str) -> dict[str, Any]:
    return {
        "kafka": {
            "key": {"type": "string", "description": description},
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }


def _summary(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip()
    return " ".join(doc.split("\n\n", 1)[0].split())


def _component_messages(model_refs: Mapping[type[BaseModel], str]) -> dict[str, Any]:
    messages: dict[str, Any] = {}
    for kind, model in MODEL_FOR_KIND.items():
        messages[kind.value] = {
            "name": kind.value,
            "title": model.__name__,
            "summary": _summary(model),
            "contentType": CONTENT_TYPE,
            "headers": _cloudevents_headers(kind),
            "payload": {"$ref": model_refs[model]},
            "correlationId": {
                "description": "The request the message opens or answers",
                "location": "$message.payload#/request_id",
            },
            "bindings": _kafka_key(
                "The request id (`request_id`): every record of a request shares the key, "
                "so all of them land on the same partition"
            ),
        }
    messages[CLOCK_COMMAND] = {
        "name": CLOCK_COMMAND,
        "title": ClockCommand.__name__,
        "summary": _summary(ClockCommand),
        "contentType": CONTENT_TYPE,
        "payload": {"$ref": model_refs[ClockCommand]},
        "bindings": _kafka_key("The exercise id"),
    }
    messages[AUDIT_RECORD] = {
        "name": AUDIT_RECORD,
        "title": AuditRecord.__name__,
        "summary": _summary(AuditRecord),
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "required": ["onestop_record_id"],
            "properties": {
                "onestop_record_id": _string("The record's deterministic id (`record_id`)")
            },
        },
        "payload": {"$ref": model_refs[AuditRecord]},
        "correlationId": {
            "description": "The request the audited operation concerns",
            "location": "$message.payload#/request_id",
        },
        "bindings": _kafka_key("The request id, or the record id for records of no request"),
    }
    messages[DEAD_LETTER] = {
        "name": DEAD_LETTER,
        "title": "DeadLetter",
        "summary": "A record the hub rejected, kept byte for byte with the reason.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "description": "The original record's headers (as received), then these.",
            "required": list(DEAD_LETTER_HEADERS),
            "properties": {name: _string(text) for name, text in DEAD_LETTER_HEADERS.items()},
            "additionalProperties": {"type": "string"},
        },
        "payload": {
            "description": "The rejected record's value, untouched; it may be anything, "
            "including invalid JSON or nothing at all"
        },
        "bindings": _kafka_key("The original record's key, untouched"),
    }
    return messages


def _channel_binding(partitions: int, key: str, retain: bool = False) -> dict[str, Any]:
    kafka: dict[str, Any] = {
        "partitions": partitions,
        "replicas": 1,
        "bindingVersion": KAFKA_BINDING_VERSION,
        "x-key": key,
    }
    if retain:
        kafka["topicConfiguration"] = dict(KEEP_FOREVER)
    return {"kafka": kafka}


def _message_refs(names: Iterable[str]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/messages/{name}"} for name in names}


def _channels(namespace: str, parties: Sequence[Country]) -> dict[str, Any]:
    party = {
        "party": {
            "description": "The party (country code or organisation) whose topic it is",
            "enum": [p.value for p in parties],
        }
    }
    request_key = (
        "request id; outbox, inbox and audit topics share the partition count, so a "
        "request and every answer to it land on the same partition number"
    )
    node_kinds = [kind.value for kind in MODEL_FOR_KIND if kind not in HUB_ONLY_KINDS]
    all_kinds = [kind.value for kind in MODEL_FOR_KIND]
    return {
        "outbox": {
            "address": f"{namespace}.outbox.{{party}}",
            "title": "Outbox of a party",
            "summary": "Where a party's node writes requests, answers and notices for the hub. "
            "The topic is the sender's identity.",
            "parameters": party,
            "messages": _message_refs(node_kinds),
            "bindings": _channel_binding(DEFAULT_PARTITIONS, request_key),
        },
        "inbox": {
            "address": f"{namespace}.inbox.{{party}}",
            "title": "Inbox of a party",
            "summary": "Where the hub delivers what is addressed to the party.",
            "parameters": party,
            "messages": _message_refs(all_kinds),
            "bindings": _channel_binding(DEFAULT_PARTITIONS, request_key),
        },
        "audit": {
            "address": f"{namespace}.audit",
            "title": "Audit trail",
            "summary": "One record per processing operation, hash-chained per partition.",
            "messages": _message_refs([AUDIT_RECORD]),
            "bindings": _channel_binding(
                DEFAULT_PARTITIONS, "request id (record id when none)", retain=True
            ),
        },
        "deadletter": {
            "address": f"{namespace}.deadletter",
            "title": "Dead letters",
            "summary": "Rejected input, kept byte for byte with the reason.",
            "messages": _message_refs([DEAD_LETTER]),
            "bindings": _channel_binding(
                DEFAULT_PARTITIONS, "the rejected record's key", retain=True
            ),
        },
        "clock": {
            "address": f"{namespace}.clock",
            "title": "Exercise clock",
            "summary": "Clock commands; one partition, so they have a total order.",
            "messages": _message_refs([CLOCK_COMMAND]),
            "bindings": _channel_binding(1, "exercise id", retain=True),
        },
    }


def _operation(
    action: str, channel: str, messages: Iterable[str], summary: str, *actors: str
) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in messages],
        "tags": [{"name": actor} for actor in actors],
    }


def _operations() -> dict[str, Any]:
    node_kinds = [kind.value for kind in MODEL_FOR_KIND if kind not in HUB_ONLY_KINDS]
    all_kinds = [kind.value for kind in MODEL_FOR_KIND]
    return {
        "sendOutbox": _operation(
            "send", "outbox", node_kinds, "A node sends a message to the hub.", "node"
        ),
        "receiveInbox": _operation(
            "receive", "inbox", all_kinds, "A node receives what the hub delivers.", "node"
        ),
        "hubReceiveOutbox": _operation(
            "receive", "outbox", node_kinds, "The hub reads every outbox.", "hub"
        ),
        "hubSendInbox": _operation(
            "send",
            "inbox",
            all_kinds,
            "The hub delivers a message to its recipient, or its own overdue notice.",
            "hub",
        ),
        "hubSendAudit": _operation(
            "send", "audit", [AUDIT_RECORD], "The hub appends to the audit trail.", "hub"
        ),
        "hubSendDeadletter": _operation(
            "send", "deadletter", [DEAD_LETTER], "The hub keeps rejected input.", "hub"
        ),
        "sendClock": _operation(
            "send",
            "clock",
            [CLOCK_COMMAND],
            "The exercise runner or `onestop clock` steers exercise time.",
            "exercise",
        ),
        "receiveClock": _operation(
            "receive",
            "clock",
            [CLOCK_COMMAND],
            "The hub and the nodes follow exercise time.",
            "hub",
            "node",
        ),
    }


def asyncapi_document(
    namespace: str = DEFAULT_NAMESPACE, parties: Sequence[Country] = tuple(Country)
) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of the exchange's Kafka topics."""
    schemas, model_refs = _component_schemas()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:onestop:asyncapi",
        "info": {
            "title": "OneStop",
            "version": package_version(),
            "description": "Event-driven simulator of international police information "
            "exchange through a national one-stop shop (SPOC). National nodes write to "
            "their outbox topic; the hub validates, routes and delivers to the recipient's "
            "inbox, keeps a hash-chained audit trail and times deadlines on exercise time. "
            "Messages use CloudEvents 1.0 in Kafka binary mode; the key is the request id.",
            "license": {
                "name": "Apache-2.0",
                "url": "https://www.apache.org/licenses/LICENSE-2.0",
            },
            "tags": [
                {"name": "node", "description": "A simulated national node"},
                {"name": "hub", "description": "The exchange hub"},
                {"name": "exercise", "description": "The exercise runner and its tools"},
            ],
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": LOCAL_SERVER_HOST,
                "protocol": "kafka",
                "description": "The local single-node broker of `onestop broker start`",
            }
        },
        "channels": _channels(namespace, parties),
        "operations": _operations(),
        "components": {"schemas": schemas, "messages": _component_messages(model_refs)},
    }


# --- files ------------------------------------------------------------------------------
