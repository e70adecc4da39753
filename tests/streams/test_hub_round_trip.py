"""Every message kind round-trips through a real hub subprocess on a real broker.

One hub serves the module. The exercise it runs configures a PCCC for Poland and Czechia and
a SIENA outage one exercise hour after the start. The table below is played in phases (an
answer is only sent once what it answers has been delivered, since the hub reads the
outboxes in no fixed order across topics): the openings and one-way messages first, then
the answers, then a clock jump into the outage and a request that has to fall back from
SIENA to Interpol I-24/7. Each row is then checked in its recipient's inbox (value bytes
untouched, the channel the hub chose) and on the audit trail, whose chain must verify.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from onestop.exercise.clock_control import publish_clock
from schemas.audit import AuditEvent, AuditRecord, Operation, verify_chain
from schemas.clock import ChannelOutage, ClockAction, ClockCommand, ExerciseSetup
from schemas.countries import bound_by
from schemas.enums import Channel, Country, MessageKind, RequestState, RuleSetName
from schemas.envelope import KafkaRecord, encode, header_map
from schemas.messages import ANSWER_KINDS_FROM_REQUESTER, ONE_WAY_KINDS, MessageBase, kind_of
from schemas.topics import Topics, partition_for
from tests.factories import make_message
from tests.support import HubProcess, Record, create_topics, read_all, read_until

K = MessageKind
C = Country
E = AuditEvent
S = RequestState
EXERCISE_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
OUTAGE = ChannelOutage(
    channel=Channel.SIENA,
    start=EXERCISE_START + timedelta(hours=1),
    end=EXERCISE_START + timedelta(hours=2),
)
JUMP_INTO_OUTAGE = 3600.0  # exercise seconds; the phases before it take far less than an hour
LAST_PHASE = 5
WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Case:
    """One row: a message, the channel it must travel on and what the audit trail says."""

    name: str
    message: MessageBase
    channel: Channel
    event: AuditEvent  # the event of its audit record, which logs the disclosure too
    state_after: RequestState  # the state that record records
    phase: int
    answers: str | None = None  # message id of the opening it answers
    fallback_from: Channel | None = None

    @property
    def message_id(self) -> str:
        return self.message.message_id

    @property
    def kind(self) -> MessageKind:
        return kind_of(self.message)


def _msg(
    kind: MessageKind, request_id: str, sender: Country, recipient: Country, **fields: Any
) -> MessageBase:
    """An answer of `kind` on request `request_id`; its id is the request's plus the kind."""
    defaults: dict[str, Any] = {
        "message_id": f"{request_id}.{kind.value.replace('_', '-')}",
        "request_id": request_id,
        "case_id": f"case-{request_id}",
        "sender": sender,
        "recipient": recipient,
        "sent_at": EXERCISE_START,
    }
    return make_message(kind, **(defaults | fields))


def _opening(
    kind: MessageKind, request_id: str, sender: Country, recipient: Country, **fields: Any
) -> MessageBase:
    """A message of `kind` that opens request `request_id` (or travels one way)."""
    return _msg(kind, request_id, sender, recipient, message_id=request_id, **fields)


CASES: tuple[Case, ...] = (
    # phase 0: what opens a request, and what travels one way
    Case("request PL->DE over siena", _opening(K.REQUEST, "rt-req-de", C.PL, C.DE),
         Channel.SIENA, E.RECEIVED, S.DELIVERED, 0),
    Case("request PL->US over interpol_i247", _opening(K.REQUEST, "rt-req-us", C.PL, C.US),
         Channel.INTERPOL_I247, E.RECEIVED, S.DELIVERED, 0),
    Case("request PL->EUROPOL over siena", _opening(K.REQUEST, "rt-req-eu", C.PL, C.EUROPOL),
         Channel.SIENA, E.RECEIVED, S.DELIVERED, 0),
    Case("request PL->CZ over pccc", _opening(K.REQUEST, "rt-req-cz", C.PL, C.CZ),
         Channel.PCCC, E.RECEIVED, S.DELIVERED, 0),
    Case("sirene_form PL->DE over sirene", _opening(K.SIRENE_FORM, "rt-sirene", C.PL, C.DE),
         Channel.SIRENE, E.RECEIVED, S.DELIVERED, 0),
    Case("prum_query PL->DE over prum", _opening(K.PRUM_QUERY, "rt-prum-q", C.PL, C.DE),
         Channel.PRUM, E.RECEIVED, S.DELIVERED, 0),
    Case("prum_followup PL->DE over prum",
         _opening(K.PRUM_FOLLOWUP, "rt-prum-f", C.PL, C.DE, hit_request_id="rt-prum-q"),
         Channel.PRUM, E.RECEIVED, S.DELIVERED, 0),
    Case("interpol_notice PL->INTERPOL over interpol_i247",
         _opening(K.INTERPOL_NOTICE, "rt-notice", C.PL, C.INTERPOL),
         Channel.INTERPOL_I247, E.RECEIVED, S.DELIVERED, 0),
    Case("interpol_diffusion PL->DE over interpol_i247",
         _opening(K.INTERPOL_DIFFUSION, "rt-diffusion", C.PL, C.DE),
         Channel.INTERPOL_I247, E.RECEIVED, S.DELIVERED, 0),
    Case("spontaneous_information PL->DE over siena",
         _opening(K.SPONTANEOUS_INFORMATION, "rt-spontaneous", C.PL, C.DE),
         Channel.SIENA, E.RECEIVED, S.DELIVERED, 0),
    # phase 1: answers from the requested parties
    Case("acknowledgement DE->PL over siena", _msg(K.ACKNOWLEDGEMENT, "rt-req-de", C.DE, C.PL),
         Channel.SIENA, E.ACKNOWLEDGED, S.DELIVERED, 1, answers="rt-req-de"),
    Case("partial_reply DE->PL over siena", _msg(K.PARTIAL_REPLY, "rt-req-de", C.DE, C.PL),
         Channel.SIENA, E.PARTIALLY_ANSWERED, S.DELIVERED, 1, answers="rt-req-de"),
    Case("clarification_request DE->PL over siena",
         _msg(K.CLARIFICATION_REQUEST, "rt-req-de", C.DE, C.PL),
         Channel.SIENA, E.CLARIFICATION_REQUESTED, S.CLARIFICATION_PENDING, 1,
         answers="rt-req-de"),
    Case("refusal US->PL over interpol_i247", _msg(K.REFUSAL, "rt-req-us", C.US, C.PL),
         Channel.INTERPOL_I247, E.REFUSED, S.REFUSED, 1, answers="rt-req-us"),
    Case("reply CZ->PL over pccc", _msg(K.REPLY, "rt-req-cz", C.CZ, C.PL),
         Channel.PCCC, E.ANSWERED, S.ANSWERED, 1, answers="rt-req-cz"),
    Case("reply DE->PL to the sirene form over sirene", _msg(K.REPLY, "rt-sirene", C.DE, C.PL),
         Channel.SIRENE, E.ANSWERED, S.ANSWERED, 1, answers="rt-sirene"),
    Case("prum_result DE->PL over prum", _msg(K.PRUM_RESULT, "rt-prum-q", C.DE, C.PL),
         Channel.PRUM, E.ANSWERED, S.ANSWERED, 1, answers="rt-prum-q"),
    # phase 2: the requester clarifies
    Case("clarification_reply PL->DE over siena",
         _msg(K.CLARIFICATION_REPLY, "rt-req-de", C.PL, C.DE),
         Channel.SIENA, E.CLARIFIED, S.DELIVERED, 2, answers="rt-req-de"),
    # phase 3: judicial authorisation, then the reply
    Case("delay_notice DE->PL over siena", _msg(K.DELAY_NOTICE, "rt-req-de", C.DE, C.PL),
         Channel.SIENA, E.DELAYED, S.AWAITING_JUDICIAL_AUTH, 3, answers="rt-req-de"),
    Case("reply DE->PL over siena", _msg(K.REPLY, "rt-req-de", C.DE, C.PL),
         Channel.SIENA, E.ANSWERED, S.ANSWERED, 3, answers="rt-req-de"),
    # phase 4, after the clock jumped into the SIENA outage
    Case("request PL->DE during a siena outage falls back to interpol_i247",
         _opening(K.REQUEST, "rt-req-outage", C.PL, C.DE),
         Channel.INTERPOL_I247, E.RECEIVED, S.DELIVERED, 4, fallback_from=Channel.SIENA),
    # phase 5: the answer follows the request onto the fallback channel
    Case("reply DE->PL over the fallback channel", _msg(K.REPLY, "rt-req-outage", C.DE, C.PL),
         Channel.INTERPOL_I247, E.ANSWERED, S.ANSWERED, 5, answers="rt-req-outage"),
)  # fmt: skip
BY_ID = {case.message_id: case for case in CASES}


@dataclass
class Sent:
    """A record as produced, and where the broker put it."""

    record: KafkaRecord
    topic: str
    partition: int
    offset: int


@dataclass
class Outcome:
    """What the module's exchange left on the broker."""

    topics: Topics
    sent: dict[str, Sent]
    inboxes: dict[str, list[Record]]  # by inbox topic
    audit: list[AuditRecord]
    deadletters: list[Record]
    hub_log: str

    def deliveries(self, message_id: str) -> list[tuple[str, Record]]:
        """Every inbox record carrying `message_id`, with its topic."""
        return [
            (topic, record)
            for topic, records in self.inboxes.items()
            for record in records
            if header_map(record.headers).get("ce_id") == message_id
        ]


def _ids(records: Iterable[Record]) -> set[str]:
    return {header_map(r.headers).get("ce_id", "") for r in records}


class Exercise:
    """Sends the table's messages as the nodes would, phase by phase."""

    def __init__(self, bootstrap: str, topics: Topics, hub: HubProcess) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.hub = hub
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True
        )
        self.clock_offset = 0
        self.sent: dict[str, Sent] = {}

    async def send(self, message: MessageBase) -> None:
        record = encode(message, extensions={"clockoffset": str(self.clock_offset)})
        topic = self.topics.outbox(message.sender)
        meta = await self.producer.send_and_wait(
            topic, value=record.value, key=record.key, headers=record.headers
        )
        self.sent[message.message_id] = Sent(record, topic, meta.partition, meta.offset)

    async def play(self, phase: int) -> None:
        """Send the phase's messages in table order; return once each is in its inbox."""
        cases = [case for case in CASES if case.phase == phase]
        for case in cases:
            await self.send(case.message)
        wanted: dict[str, set[str]] = {}
        for case in cases:
            wanted.setdefault(self.topics.inbox(case.message.recipient), set()).add(case.message_id)
        try:
            await asyncio.gather(*(self._arrived(topic, ids) for topic, ids in wanted.items()))
        except TimeoutError as exc:
            pytest.fail(f"phase {phase} not delivered: {exc}\n{self.hub.log()[-3000:]}")

    async def _arrived(self, topic: str, ids: set[str]) -> None:
        await read_until(self.bootstrap, topic, lambda rs: ids <= _ids(rs), WAIT_SECONDS)

    async def clock(self, command: ClockCommand) -> None:
        """Publish a clock command; what is sent from now on says it was sent after it."""
        self.clock_offset = await publish_clock(self.bootstrap, self.topics, command) + 1


@pytest.fixture(scope="module")
async def outcome(
    bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Outcome]:
    """One hub, the whole table played through it, and what it wrote."""
    namespace = "t" + uuid.uuid4().hex[:10]
    topics = Topics(namespace, partitions=4)
    parties = [C.PL, C.DE, C.US, C.CZ, C.EUROPOL, C.INTERPOL]
    await create_topics(bootstrap, topics, parties)
    with HubProcess(bootstrap, topics, tmp_path_factory.mktemp("round-trip")) as hub:
        exercise = Exercise(bootstrap, topics, hub)
        await exercise.producer.start()
        try:
            await exercise.clock(
                ClockCommand(
                    exercise_id=namespace,
                    action=ClockAction.START,
                    issued_at=datetime.now(UTC),
                    exercise_start=EXERCISE_START,
                    speed=1.0,
                    setup=ExerciseSetup(pcccs=[(C.PL, C.CZ)], outages=[OUTAGE]),
                )
            )
            for phase in range(LAST_PHASE + 1):
                if phase == 4:
                    await exercise.clock(
                        ClockCommand(
                            exercise_id=namespace,
                            action=ClockAction.JUMP,
                            issued_at=datetime.now(UTC),
                            jump_seconds=JUMP_INTO_OUTAGE,
                        )
                    )
                await exercise.play(phase)
        finally:
            await exercise.producer.stop()
        expected_audit = {f"{c.message_id}/{c.event.value}" for c in CASES}
        try:
            audit_records = await read_until(
                bootstrap,
                topics.audit,
                lambda rs: (
                    expected_audit <= {_audit_id(r) for r in rs}
                    and sum(_audit_id(r).startswith("clock/") for r in rs) >= 2
                ),
                WAIT_SECONDS,
            )
        except TimeoutError as exc:
            pytest.fail(f"audit trail incomplete: {exc}\n{hub.log()[-3000:]}")
        inboxes = {
            topics.inbox(party): await read_all(bootstrap, topics.inbox(party)) for party in parties
        }
        yield Outcome(
            topics=topics,
            sent=exercise.sent,
            inboxes=inboxes,
            audit=[AuditRecord.model_validate_json(r.value) for r in audit_records],
            deadletters=await read_all(bootstrap, topics.deadletter),
            hub_log=hub.log(),
        )


def _audit_id(record: Record) -> str:
    record_id: bytes = dict(record.headers).get("onestop_record_id", b"")
    return record_id.decode()


def _expects_deadline(case: Case) -> bool:
    """The hub stamps a deadline while the request's clock runs: on an opening, and on an
    answer that leaves it running (not paused, suspended or settled); never one way, and
    never between a Member State and a party the Directive does not bind (no limit is
    configured here)."""
    message = case.message
    rules = RuleSetName.DIRECTIVE_2023_977
    bound = bound_by(message.sender, rules) and bound_by(message.recipient, rules)
    opening_kind = case.kind if case.answers is None else K.REQUEST
    if opening_kind is K.REQUEST and not bound:
        return False
    return case.kind not in ONE_WAY_KINDS and case.state_after in (S.VALIDATED, S.DELIVERED)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_message_reaches_the_right_inbox_untouched(outcome: Outcome, case: Case) -> None:
    message = case.message
    sent = outcome.sent[case.message_id]
    deliveries = outcome.deliveries(case.message_id)

    assert len(deliveries) == 1, f"{case.name}: {len(deliveries)} deliveries"
    topic, record = deliveries[0]
    assert topic == outcome.topics.inbox(message.recipient)
    if case.answers is not None:
        opening = BY_ID[case.answers].message
        requester, requested = opening.sender, opening.recipient
        back_to = requested if case.kind in ANSWER_KINDS_FROM_REQUESTER else requester
        assert message.recipient is back_to
        assert case.channel is BY_ID[case.answers].channel, "answers follow the request"
    assert record.key == message.request_id.encode() == sent.record.key
    assert record.partition == sent.partition == partition_for(record.key, 4)
    assert record.value == sent.record.value
    headers = [(name, bytes(value)) for name, value in record.headers]
    originals = [(n, v) for n, v in sent.record.headers if n != "ce_clockoffset"]
    assert headers[: len(originals)] == originals, "the sender's CloudEvents headers, as sent"
    added = dict(headers[len(originals) :])
    assert added.get("ce_channel") == case.channel.value.encode()
    assert ("ce_deadline" in added) is _expects_deadline(case), added
    assert set(added) <= {"ce_channel", "ce_deadline"}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_step_is_on_the_audit_trail(outcome: Outcome, case: Case) -> None:
    message = case.message
    partition = partition_for(message.request_id.encode(), 4)
    found = [r for r in outcome.audit if r.message_id == case.message_id]
    assert [r.record_id for r in found] == [f"{case.message_id}/{case.event.value}"], case.name
    record = found[0]
    assert record.event is case.event
    assert record.partition == partition
    assert record.actor == "hub"
    assert record.request_id == message.request_id
    assert record.case_id == message.case_id
    assert record.kind is case.kind
    assert (record.sender, record.recipient) == (message.sender, message.recipient)
    assert record.channel is case.channel
    assert record.state_after is case.state_after
    # The one record logs the disclosure as well: to whom, and why.
    assert Operation.DISCLOSURE in record.operations
    assert record.recipients == [message.recipient]
    assert message.recipient.value in record.details.wire()["disclosure"]
    received = [r for r in outcome.audit if r.record_id == f"{case.message_id}/received"]
    if case.answers is None:
        details = received[0].details.wire()
        assert details.get("fallback_from") == (
            case.fallback_from.value if case.fallback_from else None
        )
        assert ("deadline" in details) is _expects_deadline(case)
    else:
        assert received == []


def test_the_audit_chain_verifies_on_every_partition(outcome: Outcome) -> None:
    partitions = sorted({r.partition for r in outcome.audit})
    assert partitions, "no audit records"
    for partition in partitions:
        report = verify_chain(partition, [r for r in outcome.audit if r.partition == partition])
        assert report.intact, [str(fault) for fault in report.faults]
        assert report.duplicates == 0
    control = [r for r in outcome.audit if r.event is AuditEvent.EXERCISE_CONTROL]
    assert [r.details.wire()["action"] for r in control] == ["start", "jump"]
    assert len(outcome.audit) - len(control) == len(CASES)  # one record per message


def test_the_siena_outage_is_recorded_as_the_reason_for_the_fallback(outcome: Outcome) -> None:
    received = next(r for r in outcome.audit if r.record_id == "rt-req-outage/received")

    assert received.channel is Channel.INTERPOL_I247
    assert received.details.wire()["fallback_from"] == "siena"
    assert "siena is down" in received.details.wire()["route_reason"]
    assert "13(c)" in received.details.wire()["route_reason"]
    assert OUTAGE.start <= received.exercise_time < OUTAGE.end


def test_nothing_was_dead_lettered(outcome: Outcome) -> None:
    reasons = [dict(r.headers).get("onestop_error", b"").decode() for r in outcome.deadletters]
    assert reasons == [], outcome.hub_log[-3000:]
