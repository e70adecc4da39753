"""What the hub writes is read by the official CloudEvents SDK, attribute by attribute.

A real hub subprocess delivers messages of every opening and one-way kind and a few
answers, and flags one request overdue (the exercise's rule set gives non-urgent requests
two exercise seconds), which makes it write notices of its own to both parties. Every
record in those inboxes is then read with the `cloudevents` package, through both of its
Kafka bindings: `cloudevents.core.bindings.kafka` (2.x, which validates the attributes of
a v1.0 event) and `cloudevents.v1.kafka` (the 1.x API, kept in 2.x).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings import kafka as core_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from cloudevents.v1 import kafka as v1_kafka

from onestop.exercise.clock_control import publish_clock
from schemas.clock import ClockAction, ClockCommand, ExerciseSetup
from schemas.deadlines import DIRECTIVE_2023_977
from schemas.enums import Accessibility, Channel, Country, MessageKind, Urgency
from schemas.envelope import HUB_SOURCE, KafkaRecord, encode, header_map, node_source
from schemas.messages import MESSAGE_ADAPTER, MessageBase, OverdueNotice, kind_of
from schemas.topics import Topics
from tests.factories import make_message
from tests.support import HubProcess, Record, create_topics, read_all, read_until

K = MessageKind
C = Country
EXERCISE_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
QUICK_RULES = DIRECTIVE_2023_977.model_copy(update={"non_urgent_direct": 2.0})
WAIT_SECONDS = 30.0
OVERDUE_REQUEST = "ce-overdue"
BASE_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "subject"}
)


@dataclass(frozen=True)
class Delivery:
    """A message sent through the hub, the channel it travels on, and whether the hub
    stamps it with a deadline (the request's clock runs after it)."""

    message: MessageBase
    channel: Channel
    deadline: bool
    phase: int


def _msg(kind: MessageKind, request_id: str, message_id: str, **fields: Any) -> MessageBase:
    defaults: dict[str, Any] = {
        "message_id": message_id,
        "request_id": request_id,
        "case_id": f"case-{request_id}",
        "sent_at": EXERCISE_START,
    }
    return make_message(kind, **(defaults | fields))


DELIVERIES: tuple[Delivery, ...] = (
    # left unanswered: past its two-second limit, the hub notifies both parties
    Delivery(_msg(K.REQUEST, OVERDUE_REQUEST, OVERDUE_REQUEST), Channel.SIENA, True, 0),
    Delivery(
        _msg(
            K.REQUEST,
            "ce-urgent",
            "ce-urgent",
            urgency=Urgency.URGENT,
            urgency_reason="imminent threat to life",
            accessibility=Accessibility.DIRECT,
        ),
        Channel.SIENA,
        True,
        0,
    ),
    # the other requests have longer limits: only the first falls overdue
    # a third country: the Directive sets no limit, and none is configured
    Delivery(
        _msg(K.REQUEST, "ce-us", "ce-us", recipient=C.US, accessibility=Accessibility.INDIRECT),
        Channel.INTERPOL_I247,
        False,
        0,
    ),
    Delivery(_msg(K.SIRENE_FORM, "ce-sirene", "ce-sirene"), Channel.SIRENE, True, 0),
    Delivery(_msg(K.PRUM_QUERY, "ce-prum", "ce-prum"), Channel.PRUM, True, 0),
    Delivery(_msg(K.PRUM_FOLLOWUP, "ce-followup", "ce-followup"), Channel.PRUM, True, 0),
    Delivery(_msg(K.INTERPOL_NOTICE, "ce-notice", "ce-notice"), Channel.INTERPOL_I247, False, 0),
    Delivery(
        _msg(K.INTERPOL_DIFFUSION, "ce-diffusion", "ce-diffusion"), Channel.INTERPOL_I247, False, 0
    ),
    Delivery(
        _msg(K.SPONTANEOUS_INFORMATION, "ce-spontaneous", "ce-spontaneous"),
        Channel.SIENA,
        False,
        0,
    ),
    Delivery(_msg(K.ACKNOWLEDGEMENT, "ce-urgent", "ce-urgent.ack"), Channel.SIENA, True, 1),
    Delivery(_msg(K.REPLY, "ce-urgent", "ce-urgent.reply"), Channel.SIENA, False, 1),
    Delivery(
        _msg(K.REFUSAL, "ce-us", "ce-us.refusal", sender=C.US), Channel.INTERPOL_I247, False, 1
    ),
    Delivery(_msg(K.PRUM_RESULT, "ce-prum", "ce-prum.result"), Channel.PRUM, False, 1),
)
BY_ID = {d.message.message_id: d for d in DELIVERIES}
PARTIES = (C.PL, C.DE, C.US, C.INTERPOL)


@dataclass
class Outcome:
    topics: Topics
    started: datetime
    sent: dict[str, KafkaRecord]
    inboxes: dict[Country, list[Record]]
    finished: datetime

    def records(self) -> list[tuple[Country, Record]]:
        return [(party, r) for party, records in self.inboxes.items() for r in records]

    def notices(self) -> list[tuple[Country, Record]]:
        return [(p, r) for p, r in self.records() if _source(r) == HUB_SOURCE]

    def deliveries(self) -> list[tuple[Country, Record]]:
        return [(p, r) for p, r in self.records() if _source(r) != HUB_SOURCE]

    def deadline_of(self, message_id: str) -> datetime:
        """The deadline the hub stamped on the delivery of `message_id`."""
        record = next(r for _, r in self.deliveries() if _header(r, "ce_id") == message_id)
        return datetime.fromisoformat(_header(record, "ce_deadline"))


def _header(record: Record, name: str) -> str:
    return header_map(record.headers).get(name, "")


def _source(record: Record) -> str:
    return _header(record, "ce_source")


@pytest.fixture(scope="module")
async def outcome(
    bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Outcome]:
    """The table through one hub, until the overdue request's notices are out."""
    namespace = "t" + uuid.uuid4().hex[:10]
    topics = Topics(namespace, partitions=4)
    await create_topics(bootstrap, topics, list(PARTIES))
    started = datetime.now(UTC)
    offset = await publish_clock(
        bootstrap,
        topics,
        ClockCommand(
            exercise_id=namespace,
            action=ClockAction.START,
            issued_at=started,
            exercise_start=EXERCISE_START,
            speed=1.0,
            setup=ExerciseSetup(rules=QUICK_RULES),
        ),
    )
    sent: dict[str, KafkaRecord] = {}
    with HubProcess(bootstrap, topics, tmp_path_factory.mktemp("cloudevents")) as hub:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for phase in (0, 1):
                wanted: dict[Country, set[str]] = {}
                for delivery in (d for d in DELIVERIES if d.phase == phase):
                    message = delivery.message
                    record = encode(message, extensions={"clockoffset": str(offset + 1)})
                    await producer.send_and_wait(
                        topics.outbox(message.sender),
                        value=record.value,
                        key=record.key,
                        headers=record.headers,
                    )
                    sent[message.message_id] = record
                    wanted.setdefault(message.recipient, set()).add(message.message_id)
                for party, ids in wanted.items():

                    def all_in(rs: list[Record], ids: set[str] = ids) -> bool:
                        return ids <= _ids(rs)

                    await _read(bootstrap, topics.inbox(party), all_in, hub)
        finally:
            await producer.stop()
        for party in (C.PL, C.DE):  # the overdue notices, one to each party
            await _read(
                bootstrap,
                topics.inbox(party),
                lambda rs: any(_is_overdue_notice(r) for r in rs),
                hub,
            )
        inboxes = {party: await read_all(bootstrap, topics.inbox(party)) for party in PARTIES}
    yield Outcome(topics, started, sent, inboxes, datetime.now(UTC))


def _is_overdue_notice(record: Record) -> bool:
    return _source(record) == HUB_SOURCE and _header(record, "ce_subject") == OVERDUE_REQUEST


def _ids(records: list[Record]) -> set[str]:
    return {_header(r, "ce_id") for r in records}


async def _read(
    bootstrap: str, topic: str, done: Callable[[list[Record]], bool], hub: HubProcess
) -> None:
    try:
        await read_until(bootstrap, topic, done, WAIT_SECONDS)
    except TimeoutError as exc:
        pytest.fail(f"{exc}\n{hub.log()[-3000:]}")


# ---- the two SDK bindings, seen the same way ---------------------------------------------


@dataclass(frozen=True)
class Event:
    """A CloudEvent as an SDK read it: attributes (time as a datetime) and data."""

    attributes: dict[str, Any]
    data: Any


def _read_with_core(record: Record) -> Event:
    message = core_kafka.KafkaMessage(
        headers=_header_dict(record), key=record.key, value=record.value or b""
    )
    event = core_kafka.from_binary(message, JSONFormat(), CloudEvent)
    return Event(dict(event.get_attributes()), event.get_data())


def _read_with_v1(record: Record) -> Event:
    message = v1_kafka.KafkaMessage(
        headers=_header_dict(record), key=record.key, value=record.value or b""
    )
    event = v1_kafka.from_binary(message)
    attributes = dict(event.get_attributes())
    attributes["time"] = datetime.fromisoformat(attributes["time"])
    if isinstance(attributes.get("partitionkey"), bytes):
        attributes["partitionkey"] = attributes["partitionkey"].decode()
    return Event(attributes, event.get_data())


READERS: dict[str, Callable[[Record], Event]] = {
    "cloudevents.core.bindings.kafka": _read_with_core,
    "cloudevents.v1.kafka": _read_with_v1,
}


def _header_dict(record: Record) -> dict[str, bytes]:
    return {name: bytes(value) for name, value in record.headers}


def _check_common(event: Event, record: Record, kind: MessageKind) -> dict[str, Any]:
    """The attributes every OneStop event has; returns the data as a dict."""
    attrs = event.attributes
    data = event.data
    assert isinstance(data, dict)
    assert data == json.loads(record.value or b""), "data is the message JSON"
    assert attrs["specversion"] == "1.0"
    assert attrs["id"] == data["message_id"]
    assert attrs["type"] == f"eu.onestop.{kind.value}.v1"
    assert data["kind"] == kind.value
    assert attrs["datacontenttype"] == "application/json"
    assert attrs["dataschema"] == f"urn:onestop:schema:{kind.value}:v1"
    assert attrs["subject"] == data["request_id"] == attrs["partitionkey"]
    assert record.key == data["request_id"].encode()
    time = attrs["time"]
    assert isinstance(time, datetime)
    assert time.utcoffset() == timedelta(0)
    return data


@pytest.mark.parametrize("read", READERS.values(), ids=READERS.keys())
def test_every_delivery_reads_as_the_event_that_was_sent(
    outcome: Outcome, read: Callable[[Record], Event]
) -> None:
    seen = set()
    for party, record in outcome.deliveries():
        event = read(record)
        attrs = event.attributes
        delivery = BY_ID[attrs["id"]]
        message = delivery.message
        seen.add(message.message_id)
        kind = kind_of(message)
        sent = header_map(outcome.sent[message.message_id].headers)

        data = _check_common(event, record, kind)
        assert party is message.recipient
        assert data == json.loads(outcome.sent[message.message_id].value or b"")
        assert MESSAGE_ADAPTER.validate_python(data) == message
        assert attrs["source"] == node_source(message.sender)
        assert attrs["time"] == datetime.fromisoformat(sent["ce_time"])
        assert attrs["channel"] == delivery.channel.value
        extensions = {"channel", "partitionkey"} | ({"deadline"} if delivery.deadline else set())
        assert set(attrs) == BASE_ATTRIBUTES | extensions, f"{message.message_id}: {set(attrs)}"
        if delivery.deadline:
            deadline = datetime.fromisoformat(attrs["deadline"])
            assert deadline.utcoffset() == timedelta(0)
            assert deadline > EXERCISE_START
    assert seen == set(BY_ID)


@pytest.mark.parametrize("read", READERS.values(), ids=READERS.keys())
def test_the_hubs_own_overdue_notices_read_as_events(
    outcome: Outcome, read: Callable[[Record], Event]
) -> None:
    notices = outcome.notices()
    assert sorted(party for party, _ in notices) == [C.DE, C.PL]
    deadline = outcome.deadline_of(OVERDUE_REQUEST)
    for party, record in notices:
        event = read(record)
        attrs = event.attributes

        data = _check_common(event, record, K.OVERDUE_NOTICE)
        notice = MESSAGE_ADAPTER.validate_python(data)
        assert isinstance(notice, OverdueNotice)
        assert attrs["source"] == HUB_SOURCE == "/hub"
        assert attrs["subject"] == OVERDUE_REQUEST
        assert attrs["channel"] == Channel.SIENA.value
        assert set(attrs) == BASE_ATTRIBUTES | {"channel", "partitionkey"}
        assert outcome.started - timedelta(seconds=1) <= attrs["time"] <= outcome.finished
        assert notice.recipient is party
        assert notice.sender is (C.DE if party is C.PL else C.PL)
        assert (notice.requester, notice.requested) == (C.PL, C.DE)
        assert notice.deadline == deadline, "the deadline stamped on the request's delivery"


def test_the_inboxes_hold_the_deliveries_and_the_notices_and_nothing_else(
    outcome: Outcome,
) -> None:
    ids = [_header(r, "ce_id") for _, r in outcome.records()]

    assert len(ids) == len(set(ids)) == len(DELIVERIES) + 2
    for _, record in outcome.records():
        names = [name for name, _ in record.headers]
        assert len(names) == len(set(names)), f"repeated headers would be lost: {names}"
        assert "ce_clockoffset" not in names, "the sender's clock offset stays at the hub"
