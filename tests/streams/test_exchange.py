"""The hub's decisions for one record, over a plain dict store: delivery, audit, duplicates,
dead letters with their reasons, and deadlines falling due."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from schemas.audit import AuditEvent, Operation
from schemas.deadlines import DIRECTIVE_2023_977
from schemas.enums import Channel, Country, HandlingCode, MessageKind, RequestState, Urgency
from schemas.envelope import (
    DLQ_DETAIL,
    DLQ_ID,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REASON,
    DLQ_TOPIC,
    decode,
    header_map,
)
from schemas.messages import MessageBase, OverdueNotice
from schemas.topics import Topics
from streams.effects import Effects, Inbound
from streams.exchange import Exchange
from streams.lifecycle import RequestEntry
from streams.routing import RoutingConfig
from tests.factories import REQUEST_ID, SENT_AT, WALL_TIME, make_inbound, make_message

TOPICS = Topics(namespace="t")
NOW = SENT_AT + timedelta(seconds=5)
"""Exercise time at which the hub receives the factory's records."""
NON_URGENT_DEADLINE = NOW + timedelta(days=7)
K = MessageKind

Store = dict[str, RequestEntry]


@pytest.fixture
def store() -> Store:
    return {}


@pytest.fixture
def exchange(store: Store) -> Exchange:
    return Exchange(TOPICS, DIRECTIVE_2023_977, RoutingConfig(), store)


def inbound_of(message: MessageBase, offset: int = 0, **changes: Any) -> Inbound:
    """`message` as read from its sender's outbox, with `changes` to the record."""
    return dataclasses.replace(make_inbound(message, TOPICS, offset), **changes)


def receive(exchange: Exchange, inbound: Inbound) -> Effects:
    return exchange.receive(inbound, NOW, WALL_TIME)


def send(exchange: Exchange, kind: MessageKind, **overrides: Any) -> Effects:
    """A message of `kind` received from its sender's outbox; fails if it is rejected."""
    effects = receive(exchange, inbound_of(make_message(kind, **overrides)))
    assert effects.rejection is None, effects.rejection
    return effects


@pytest.fixture
def request_inbound() -> Inbound:
    """A non-urgent request PL -> DE, on PL's outbox."""
    return inbound_of(make_message(K.REQUEST))


@pytest.fixture
def delivered(exchange: Exchange, request_inbound: Inbound) -> Effects:
    """The request PL -> DE received and delivered."""
    effects = receive(exchange, request_inbound)
    assert effects.rejection is None, effects.rejection
    return effects


class TestDeliveryOfARequest:
    def test_goes_to_the_recipients_inbox(self, delivered: Effects) -> None:
        assert [out.topic for out in delivered.outputs] == ["t.inbox.DE"]

    def test_message_json_is_forwarded_byte_for_byte(
        self, delivered: Effects, request_inbound: Inbound
    ) -> None:
        assert delivered.outputs[0].record.value == request_inbound.value

    def test_keeps_key_and_partition(self, delivered: Effects, request_inbound: Inbound) -> None:
        out = delivered.outputs[0]

        assert out.record.key == REQUEST_ID.encode()
        assert out.partition == request_inbound.partition

    def test_headers_carry_channel_and_deadline_and_keep_the_senders_event(
        self, delivered: Effects
    ) -> None:
        headers = header_map(delivered.outputs[0].record.headers)

        assert headers["ce_id"] == "PL-request-1"
        assert headers["ce_source"] == "/nodes/PL"
        assert headers["ce_time"] == "2025-03-01T09:00:05Z"
        assert headers["ce_channel"] == "siena"
        assert headers["ce_deadline"] == "2025-03-08T09:00:05Z"

    def test_opens_the_request_with_its_deadline(self, delivered: Effects, store: Store) -> None:
        assert delivered.opened is not None
        assert store[REQUEST_ID] == delivered.opened
        assert delivered.opened.state is RequestState.DELIVERED
        assert delivered.opened.deadline == NON_URGENT_DEADLINE

    def test_urgent_direct_request_gets_8_hours(self, exchange: Exchange) -> None:
        effects = send(exchange, K.REQUEST, urgency=Urgency.URGENT, urgency_reason="Threat to life")

        assert effects.opened is not None
        assert effects.opened.deadline == NOW + timedelta(hours=8)

    def test_one_way_message_is_delivered_but_opens_nothing(self, exchange: Exchange) -> None:
        effects = send(exchange, K.SPONTANEOUS_INFORMATION)

        assert effects.opened is None
        assert [out.topic for out in effects.outputs] == ["t.inbox.DE"]


class TestAuditOfARequest:
    def test_one_record_logs_the_collection_and_the_disclosure(self, delivered: Effects) -> None:
        assert [(a.event, a.operations, a.record_id) for a in delivered.audit] == [
            (
                AuditEvent.RECEIVED,
                (Operation.COLLECTION, Operation.DISCLOSURE),
                "PL-request-1/received",
            ),
        ]
        record = delivered.audit[0]
        assert (record.state_before, record.state_after) == (
            RequestState.SUBMITTED,
            RequestState.DELIVERED,
        )

    def test_records_sit_on_the_inputs_partition(
        self, delivered: Effects, request_inbound: Inbound
    ) -> None:
        assert {a.partition for a in delivered.audit} == {request_inbound.partition}

    def test_disclosure_names_the_recipient_and_why(self, delivered: Effects) -> None:
        record = delivered.audit[0]
        assert record.recipients == [Country.DE]
        assert record.details.wire()["disclosure"].startswith("disclosed to DE: ")

    def test_same_input_gives_the_same_records(self, request_inbound: Inbound) -> None:
        first = Exchange(TOPICS, DIRECTIVE_2023_977, RoutingConfig(), {})
        second = Exchange(TOPICS, DIRECTIVE_2023_977, RoutingConfig(), {})

        assert receive(first, request_inbound).audit == receive(second, request_inbound).audit


class TestDuplicates:
    def test_same_request_twice_is_a_duplicate_without_outputs(
        self, exchange: Exchange, delivered: Effects, request_inbound: Inbound
    ) -> None:
        again = receive(exchange, dataclasses.replace(request_inbound, offset=1))

        assert again.duplicate
        assert (again.outputs, again.audit) == ([], [])

    def test_same_answer_twice_is_a_duplicate(
        self, exchange: Exchange, delivered: Effects, store: Store
    ) -> None:
        reply = inbound_of(make_message(K.REPLY))
        receive(exchange, reply)
        answered = store[REQUEST_ID]

        again = receive(exchange, reply)

        assert again.duplicate
        assert again.outputs == []
        assert store[REQUEST_ID] == answered


class TestAnswers:
    def test_reply_goes_back_to_the_requester(
        self, exchange: Exchange, delivered: Effects, request_inbound: Inbound
    ) -> None:
        effects = send(exchange, K.REPLY)

        assert [out.topic for out in effects.outputs] == ["t.inbox.PL"]
        assert effects.outputs[0].partition == request_inbound.partition

    def test_reply_settles_the_request(
        self, exchange: Exchange, delivered: Effects, store: Store
    ) -> None:
        effects = send(exchange, K.REPLY)

        assert effects.settled == store[REQUEST_ID]
        assert store[REQUEST_ID].state is RequestState.ANSWERED

    def test_reply_is_audited_as_answered_on_time(
        self, exchange: Exchange, delivered: Effects
    ) -> None:
        effects = send(exchange, K.REPLY)

        assert [(a.event, a.operations, a.record_id) for a in effects.audit] == [
            (
                AuditEvent.ANSWERED,
                (Operation.COLLECTION, Operation.DISCLOSURE),
                "DE-reply-1/answered",
            ),
        ]
        assert effects.audit[0].details.wire()["on_time"] is True
        assert effects.audit[0].recipients == [Country.PL]
        assert effects.audit[0].details.wire()["disclosure"] == "reply disclosed to PL"

    def test_refusal_grounds_are_audited(self, exchange: Exchange, delivered: Effects) -> None:
        effects = send(exchange, K.REFUSAL)

        assert effects.audit[0].event is AuditEvent.REFUSED
        assert effects.audit[0].details.wire()["grounds"] == ["a_not_available"]

    def test_clarification_reply_goes_to_the_requested_party(
        self, exchange: Exchange, delivered: Effects
    ) -> None:
        send(exchange, K.CLARIFICATION_REQUEST)

        effects = send(exchange, K.CLARIFICATION_REPLY)

        assert [out.topic for out in effects.outputs] == ["t.inbox.DE"]
        assert effects.audit[0].event is AuditEvent.CLARIFIED

    def test_reply_to_a_one_way_message_is_rejected(self, exchange: Exchange) -> None:
        send(exchange, K.SPONTANEOUS_INFORMATION)

        effects = receive(exchange, inbound_of(make_message(K.REPLY)))

        assert effects.settled is None
        assert effects.rejection is not None


class TestDeadLetters:
    @pytest.fixture
    def urgent_without_reason(self) -> Inbound:
        return inbound_of(make_message(K.REQUEST, urgency=Urgency.URGENT), offset=17)

    def test_record_is_kept_byte_for_byte(
        self, exchange: Exchange, urgent_without_reason: Inbound
    ) -> None:
        effects = receive(exchange, urgent_without_reason)
        out = effects.outputs[0]

        assert out.topic == "t.deadletter"
        assert out.record.key == urgent_without_reason.key
        assert out.record.value == urgent_without_reason.value
        assert (
            out.record.headers[: len(urgent_without_reason.headers)]
            == urgent_without_reason.headers
        )

    def test_reason_and_source_are_added(
        self, exchange: Exchange, urgent_without_reason: Inbound
    ) -> None:
        effects = receive(exchange, urgent_without_reason)
        added = dict(effects.outputs[0].record.headers[len(urgent_without_reason.headers) :])
        partition = urgent_without_reason.partition

        assert added == {
            DLQ_REASON: b"invalid",
            DLQ_DETAIL: b"an urgent request must give its reason (Art. 4)",
            DLQ_TOPIC: b"t.outbox.PL",
            DLQ_PARTITION: str(partition).encode(),
            DLQ_OFFSET: b"17",
            DLQ_ID: f"t.outbox.PL/{partition}/17".encode(),
        }

    def test_undecodable_value_is_kept_byte_for_byte(self, exchange: Exchange) -> None:
        garbage = inbound_of(make_message(K.REQUEST), value=b"\x00\xffnot json")

        out = receive(exchange, garbage).outputs[0]

        assert out.record.value == b"\x00\xffnot json"
        assert header_map(out.record.headers)[DLQ_REASON] == "undecodable"

    def test_rejection_is_audited(self, exchange: Exchange, urgent_without_reason: Inbound) -> None:
        effects = receive(exchange, urgent_without_reason)
        partition = urgent_without_reason.partition

        assert len(effects.audit) == 1
        record = effects.audit[0]
        assert record.event is AuditEvent.REJECTED
        assert record.record_id == f"t.outbox.PL/{partition}/17/rejected"
        assert record.state_after is RequestState.REJECTED
        assert record.details.wire()["reason"] == "invalid"

    def test_rejected_request_is_not_opened(
        self, exchange: Exchange, store: Store, urgent_without_reason: Inbound
    ) -> None:
        effects = receive(exchange, urgent_without_reason)

        assert effects.opened is None
        assert store == {}


def _replace_header(inbound: Inbound, name: str, value: bytes) -> Inbound:
    headers = [(k, value if k == name else v) for k, v in inbound.headers]
    return dataclasses.replace(inbound, headers=headers)


def _without_header(inbound: Inbound, name: str) -> Inbound:
    return dataclasses.replace(inbound, headers=[(k, v) for k, v in inbound.headers if k != name])


def _on_outbox_of(party: Country, message: MessageBase) -> Inbound:
    return inbound_of(message, topic=TOPICS.outbox(party))


def _other_partition(inbound: Inbound) -> Inbound:
    return dataclasses.replace(inbound, partition=(inbound.partition + 1) % TOPICS.partitions)


OPENING_REJECTIONS = [
    pytest.param(
        lambda: _on_outbox_of(Country.PL, make_message(K.REQUEST, sender=Country.FR)),
        "wrong_sender",
        id="payload-sender-is-not-the-outbox-owner",
    ),
    pytest.param(
        lambda: _replace_header(inbound_of(make_message(K.REQUEST)), "ce_source", b"/nodes/FR"),
        "wrong_sender",
        id="ce-source-is-not-the-outbox-owner",
    ),
    pytest.param(
        lambda: inbound_of(make_message(K.REQUEST), key=b"PL-REQ-OTHER"),
        "wrong_key",
        id="key-is-not-the-request-id",
    ),
    pytest.param(
        lambda: _other_partition(inbound_of(make_message(K.REQUEST))),
        "wrong_partition",
        id="partition-is-not-the-keys",
    ),
    pytest.param(
        lambda: inbound_of(make_message(K.REQUEST, language="pt")),
        "wrong_language",
        id="recipient-does-not-accept-the-language",
    ),
    pytest.param(
        lambda: inbound_of(
            make_message(K.REQUEST, handling_code=HandlingCode.H2, originated_from=Country.FR)
        ),
        "handling_code",
        id="H2-information-from-a-third-provider-without-consent",
    ),
    pytest.param(
        lambda: inbound_of(make_message(K.REQUEST, urgency=Urgency.URGENT)),
        "invalid",
        id="urgent-request-without-urgency-reason",
    ),
    pytest.param(
        lambda: inbound_of(make_message(K.REQUEST, recipient=Country.PL)),
        "invalid",
        id="request-addressed-to-the-sender",
    ),
    pytest.param(
        lambda: inbound_of(make_message(K.OVERDUE_NOTICE, sender=Country.PL, recipient=Country.DE)),
        "wrong_party",
        id="overdue-notice-sent-by-a-node",
    ),
    pytest.param(
        lambda: inbound_of(make_message(K.REQUEST), topic="t.audit"),
        "invalid",
        id="not-an-outbox-topic",
    ),
    pytest.param(
        lambda: _without_header(inbound_of(make_message(K.REQUEST)), "ce_type"),
        "missing_header",
        id="envelope-without-ce-type",
    ),
]


@pytest.mark.parametrize(("build", "reason"), OPENING_REJECTIONS)
def test_opening_is_rejected(
    exchange: Exchange, store: Store, build: Callable[[], Inbound], reason: str
) -> None:
    inbound = build()

    effects = receive(exchange, inbound)

    assert effects.rejection is not None
    assert effects.rejection.reason == reason
    assert [out.topic for out in effects.outputs] == ["t.deadletter"]
    assert store == {}


class TestOpeningAccepted:
    def test_H2_information_with_the_providers_consent(self, exchange: Exchange) -> None:
        effects = receive(
            exchange,
            inbound_of(
                make_message(
                    K.REQUEST,
                    handling_code=HandlingCode.H2,
                    originated_from=Country.FR,
                    provider_consent=True,
                )
            ),
        )

        assert effects.rejection is None

    def test_request_in_the_recipients_own_language(self, exchange: Exchange) -> None:
        effects = receive(exchange, inbound_of(make_message(K.REQUEST, language="de")))

        assert effects.rejection is None


class TestNoChannel:
    def test_request_is_rejected_when_every_channel_is_down(self, store: Store) -> None:
        down = frozenset({Channel.SIENA, Channel.INTERPOL_I247, Channel.LIAISON_OFFICER})
        exchange = Exchange(TOPICS, DIRECTIVE_2023_977, RoutingConfig(down=down), store)

        effects = receive(exchange, inbound_of(make_message(K.REQUEST)))

        assert effects.rejection is not None
        assert effects.rejection.reason == "no_channel"


class TestAnswerRejections:
    def test_answer_in_another_language_than_the_request(
        self, exchange: Exchange, delivered: Effects, store: Store
    ) -> None:
        effects = receive(exchange, inbound_of(make_message(K.REPLY, language="de")))

        assert effects.rejection is not None
        assert effects.rejection.reason == "wrong_language"
        assert store[REQUEST_ID] == delivered.opened

    def test_answer_to_an_unknown_request(self, exchange: Exchange) -> None:
        effects = receive(exchange, inbound_of(make_message(K.REPLY)))

        assert effects.rejection is not None
        assert effects.rejection.reason == "unknown_request"

    def test_answer_from_a_third_party(
        self, exchange: Exchange, delivered: Effects, store: Store
    ) -> None:
        effects = receive(exchange, inbound_of(make_message(K.REPLY, sender=Country.FR)))

        assert effects.rejection is not None
        assert effects.rejection.reason == "wrong_party"
        assert "must go from DE to PL, not FR to PL" in effects.rejection.detail
        assert store[REQUEST_ID] == delivered.opened

    def test_reply_after_a_refusal(self, exchange: Exchange, delivered: Effects) -> None:
        send(exchange, K.REFUSAL)

        effects = receive(exchange, inbound_of(make_message(K.REPLY)))

        assert effects.rejection is not None
        assert effects.rejection.reason == "bad_state"
        assert "already refused" in effects.rejection.detail

    def test_reused_request_id(self, exchange: Exchange, delivered: Effects, store: Store) -> None:
        effects = receive(exchange, inbound_of(make_message(K.REQUEST, message_id="PL-request-2")))

        assert effects.rejection is not None
        assert effects.rejection.reason == "bad_state"
        assert store[REQUEST_ID] == delivered.opened

    def test_prum_result_for_a_plain_request(self, exchange: Exchange, delivered: Effects) -> None:
        effects = receive(exchange, inbound_of(make_message(K.PRUM_RESULT)))

        assert effects.rejection is not None
        assert effects.rejection.reason == "bad_state"


def test_record_from_an_inbox_topic_is_rejected(exchange: Exchange, store: Store) -> None:
    effects = receive(exchange, inbound_of(make_message(K.REQUEST), topic=TOPICS.inbox(Country.PL)))

    assert effects.rejection is not None
    assert store == {}


class TestDeadlineDue:
    def due(self, exchange: Exchange, delivered: Effects, after: timedelta) -> Effects:
        assert delivered.opened is not None
        return exchange.deadline_due(REQUEST_ID, NON_URGENT_DEADLINE + after, WALL_TIME)

    def test_nothing_a_second_before(
        self, exchange: Exchange, delivered: Effects, store: Store
    ) -> None:
        effects = self.due(exchange, delivered, -timedelta(seconds=1))

        assert (effects.outputs, effects.audit, effects.overdue) == ([], [], None)
        assert not store[REQUEST_ID].overdue

    def test_overdue_exactly_at_the_deadline(
        self, exchange: Exchange, delivered: Effects, store: Store
    ) -> None:
        effects = self.due(exchange, delivered, timedelta(0))

        assert effects.overdue is not None
        assert store[REQUEST_ID].overdue

    def test_notices_go_to_both_parties(self, exchange: Exchange, delivered: Effects) -> None:
        effects = self.due(exchange, delivered, timedelta(0))

        notices = {
            out.topic: decode(out.record.value, out.record.headers) for out in effects.outputs
        }

        assert sorted(notices) == ["t.inbox.DE", "t.inbox.PL"]
        for topic, notice in notices.items():
            assert isinstance(notice, OverdueNotice)
            assert TOPICS.inbox(notice.recipient) == topic
            assert notice.deadline == NON_URGENT_DEADLINE
            assert (notice.requester, notice.requested) == (Country.PL, Country.DE)

    def test_notices_come_from_the_hub(self, exchange: Exchange, delivered: Effects) -> None:
        effects = self.due(exchange, delivered, timedelta(0))

        assert {header_map(out.record.headers)["ce_source"] for out in effects.outputs} == {"/hub"}

    def test_one_overdue_audit_record(self, exchange: Exchange, delivered: Effects) -> None:
        assert delivered.opened is not None

        effects = self.due(exchange, delivered, timedelta(0))

        assert [(a.event, a.record_id, a.partition) for a in effects.audit] == [
            (AuditEvent.OVERDUE, f"{REQUEST_ID}.overdue/overdue", delivered.opened.partition)
        ]

    def test_only_once(self, exchange: Exchange, delivered: Effects) -> None:
        self.due(exchange, delivered, timedelta(0))

        again = self.due(exchange, delivered, timedelta(hours=1))

        assert (again.outputs, again.audit, again.overdue) == ([], [], None)

    def test_nothing_for_an_answered_request(
        self, exchange: Exchange, delivered: Effects, store: Store
    ) -> None:
        send(exchange, K.REPLY)

        effects = self.due(exchange, delivered, timedelta(0))

        assert (effects.outputs, effects.audit, effects.overdue) == ([], [], None)
        assert not store[REQUEST_ID].overdue

    def test_nothing_for_an_unknown_request(self, exchange: Exchange) -> None:
        effects = exchange.deadline_due("PL-REQ-NONE", NON_URGENT_DEADLINE, WALL_TIME)

        assert (effects.outputs, effects.audit, effects.overdue) == ([], [], None)

    def test_long_request_id_is_flagged(self, exchange: Exchange, store: Store) -> None:
        request_id = "PL-REQ-" + "7" * 73  # 80 characters: a valid request id
        send(exchange, K.REQUEST, request_id=request_id)

        effects = exchange.deadline_due(request_id, NON_URGENT_DEADLINE, WALL_TIME)

        assert effects.overdue is not None


def test_a_party_the_hub_does_not_serve_is_refused_as_recipient() -> None:
    topics = Topics(namespace="t")
    exchange = Exchange(
        topics, DIRECTIVE_2023_977, RoutingConfig(), {}, frozenset({Country.PL, Country.LT})
    )
    message = make_message(MessageKind.REQUEST)  # PL -> DE

    effects = exchange.receive(make_inbound(message, topics), SENT_AT, WALL_TIME)

    assert effects.rejection is not None
    assert effects.rejection.reason == "unknown_recipient"
    assert [o.topic for o in effects.outputs] == [topics.deadletter]


class TestLateAnswer:
    def late(self, exchange: Exchange, after: timedelta) -> Effects:
        reply = inbound_of(make_message(K.REPLY))
        return exchange.receive(reply, NON_URGENT_DEADLINE + after, WALL_TIME)

    def test_an_answer_after_the_deadline_flags_the_request_overdue_first(
        self, exchange: Exchange, delivered: Effects, store: Store
    ) -> None:
        effects = self.late(exchange, timedelta(minutes=1))

        assert [a.event for a in effects.audit] == [AuditEvent.OVERDUE, AuditEvent.ANSWERED]
        assert effects.overdue is not None and effects.settled is not None
        assert effects.audit[1].details.wire()["on_time"] is False
        notices = [
            o
            for o in effects.outputs
            if o.record.header("ce_type") == b"eu.onestop.overdue_notice.v1"
        ]
        assert len(notices) == 2
        assert store[REQUEST_ID].overdue and store[REQUEST_ID].settled

    def test_an_answer_exactly_at_the_deadline_is_on_time(
        self, exchange: Exchange, delivered: Effects
    ) -> None:
        effects = self.late(exchange, timedelta(0))

        assert [a.event for a in effects.audit] == [AuditEvent.ANSWERED]
        assert effects.audit[0].details.wire()["on_time"] is True

    def test_the_overdue_record_is_the_one_a_deadline_check_would_write(self, store: Store) -> None:
        by_answer = Exchange(TOPICS, DIRECTIVE_2023_977, RoutingConfig(), {})
        by_check = Exchange(TOPICS, DIRECTIVE_2023_977, RoutingConfig(), {})
        for hub in (by_answer, by_check):
            receive(hub, inbound_of(make_message(K.REQUEST)))
        late = NON_URGENT_DEADLINE + timedelta(minutes=1)
        flagged = by_check.deadline_due(REQUEST_ID, late, WALL_TIME).audit[0]
        answered = by_answer.receive(inbound_of(make_message(K.REPLY)), late, WALL_TIME).audit[0]

        assert answered.record_id == flagged.record_id  # the same record, recognised by id


class TestExercises:
    def test_requests_carry_the_exercise_they_were_received_in(
        self, exchange: Exchange, store: Store
    ) -> None:
        exchange.exercise_id = "drill-1"
        send(exchange, K.REQUEST)

        assert store[REQUEST_ID].exercise_id == "drill-1"

    def test_a_request_of_an_exercise_that_is_over_never_falls_overdue(
        self, exchange: Exchange, store: Store
    ) -> None:
        exchange.exercise_id = "drill-1"
        send(exchange, K.REQUEST)
        exchange.exercise_id = "drill-2"  # the next run started

        effects = exchange.deadline_due(REQUEST_ID, NON_URGENT_DEADLINE, WALL_TIME)

        assert (effects.audit, effects.outputs, effects.overdue) == ([], [], None)
        assert not store[REQUEST_ID].overdue


class TestLimitsFollowTheParties:
    def test_a_request_to_europol_without_a_configured_limit_opens_without_deadline(
        self, exchange: Exchange, store: Store
    ) -> None:
        effects = send(exchange, K.REQUEST, recipient=Country.EUROPOL)

        request = store[REQUEST_ID]
        assert effects.opened is request
        assert request.deadline is None and not request.one_way
        details = effects.audit[0].details.wire()
        assert details["limit_seconds"] is None and details["limit_basis"] == "none"

    def test_a_fallback_channel_keeps_the_directive_limit(self, store: Store) -> None:
        rules = DIRECTIVE_2023_977.model_copy(
            update={"channel_limits": {Channel.INTERPOL_I247: 72 * 3600.0}}
        )
        siena_down = RoutingConfig(down=frozenset({Channel.SIENA}))
        exchange = Exchange(TOPICS, rules, siena_down, store)
        urgent = make_message(K.REQUEST, urgency=Urgency.URGENT, urgency_reason="threat to life")

        effects = receive(exchange, inbound_of(urgent))

        assert store[REQUEST_ID].channel is Channel.INTERPOL_I247
        details = effects.audit[0].details.wire()
        assert details["fallback_from"] == "siena"
        assert details["limit_seconds"] == 8 * 3600.0
        assert details["limit_basis"] == "directive_2023_977"


class TestChosenChannel:
    def test_a_choice_that_differs_from_art13_is_recorded_as_a_deviation(
        self, exchange: Exchange
    ) -> None:
        effects = send(exchange, K.REQUEST, requested_channel=Channel.INTERPOL_I247)

        details = effects.audit[0].details.wire()
        assert effects.outputs[0].record.header("ce_channel") == b"siena"  # Art. 13 decides
        assert details["requested_channel"] == "interpol_i247"
        assert details["deviation"].startswith("PL chose interpol_i247; Art. 13 gives siena")

    def test_the_rule_s_own_channel_is_no_deviation(self, exchange: Exchange) -> None:
        effects = send(exchange, K.REQUEST, requested_channel=Channel.SIENA)

        details = effects.audit[0].details.wire()
        assert details["requested_channel"] == "siena" and "deviation" not in details


class TestBuiltWithoutValidation:
    """The hot path builds audit records, their details and request entries without
    validating them again; what it builds must be exactly what validation would give."""

    @staticmethod
    def assert_valid(model: BaseModel) -> None:
        again = type(model).model_validate_json(model.model_dump_json())
        assert again.model_dump_json() == model.model_dump_json()

    def assert_valid_details(self, details: BaseModel) -> None:
        """Details go on the wire with only the fields given: those must agree too."""
        self.assert_valid(details)
        again = type(details).model_validate(details.model_dump(exclude_unset=True))
        assert again.model_fields_set == details.model_fields_set

    @pytest.mark.parametrize(
        "answers",
        [
            [K.REPLY],
            [K.REFUSAL],
            [K.DELAY_NOTICE, K.PARTIAL_REPLY],
            [K.CLARIFICATION_REQUEST, K.CLARIFICATION_REPLY, K.REPLY],
        ],
    )
    def test_a_request_and_its_answers(
        self, exchange: Exchange, delivered: Effects, store: Store, answers: list[MessageKind]
    ) -> None:
        every = [delivered, *(send(exchange, kind) for kind in answers)]
        for effects in every:
            for record in effects.audit:
                self.assert_valid(record)
                self.assert_valid_details(record.details)
        self.assert_valid(store[REQUEST_ID])

    def test_spontaneous_information(self, exchange: Exchange) -> None:
        effects = send(exchange, K.SPONTANEOUS_INFORMATION)
        for record in effects.audit:
            self.assert_valid(record)
            self.assert_valid_details(record.details)
