"""A request's life: how each answer moves it, how its clock pauses and resumes, and when
it falls overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.audit import AuditEvent
from schemas.enums import (
    Accessibility,
    Channel,
    Country,
    MessageKind,
    RefusalGround,
    RequestState,
    Urgency,
)
from streams.lifecycle import LifecycleError, RequestEntry, apply_answer, mark_overdue

RECEIVED = datetime(2030, 6, 15, 6, 0, tzinfo=UTC)
LIMIT = timedelta(hours=8)
DEADLINE = RECEIVED + LIMIT
HOUR = timedelta(hours=1)


def open_request(**overrides: Any) -> RequestEntry:
    """An urgent request PL -> DE on directly accessible information (8 h), delivered at
    RECEIVED with its clock running."""
    fields: dict[str, Any] = {
        "request_id": "PL-REQ-2030-0001",
        "case_id": "SIENA-CASE-2030-0042",
        "kind": MessageKind.REQUEST,
        "opened_by": "PL-MSG-1",
        "requester": Country.PL,
        "requested": Country.DE,
        "language": "en",
        "channel": Channel.SIENA,
        "urgency": Urgency.URGENT,
        "accessibility": Accessibility.DIRECT,
        "partition": 1,
        "state": RequestState.DELIVERED,
        "received_at": RECEIVED,
        "limit_seconds": LIMIT.total_seconds(),
        "running_since": RECEIVED,
        **overrides,
    }
    return RequestEntry(**fields)


def answer(request: RequestEntry, kind: MessageKind, at: datetime, n: int = 1) -> RequestEntry:
    return apply_answer(request, kind, f"DE-MSG-{n}", at).after


class TestOpenRequest:
    def test_deadline_counts_from_receipt(self) -> None:
        assert open_request().deadline == DEADLINE

    def test_one_way_message_has_no_deadline(self) -> None:
        one_way = open_request(
            kind=MessageKind.SPONTANEOUS_INFORMATION, limit_seconds=None, running_since=None
        )

        assert one_way.one_way
        assert one_way.deadline is None

    def test_request_without_a_limit_is_still_a_request(self) -> None:
        unlimited = open_request(limit_seconds=None, running_since=None)

        assert not unlimited.one_way
        assert unlimited.deadline is None


class TestReply:
    def test_settles_the_request(self) -> None:
        transition = apply_answer(open_request(), MessageKind.REPLY, "DE-MSG-1", RECEIVED + HOUR)

        assert transition.event is AuditEvent.ANSWERED
        assert transition.after.state is RequestState.ANSWERED
        assert transition.after.settled
        assert transition.after.settled_at == RECEIVED + HOUR

    def test_stops_the_clock(self) -> None:
        after = answer(open_request(), MessageKind.REPLY, RECEIVED + 3 * HOUR)

        assert after.deadline is None
        assert after.elapsed_seconds == (3 * HOUR).total_seconds()

    def test_leaves_the_request_before_it_untouched(self) -> None:
        request = open_request()

        transition = apply_answer(request, MessageKind.REPLY, "DE-MSG-1", RECEIVED + HOUR)

        assert transition.before == request
        assert request.state is RequestState.DELIVERED

    def test_records_the_message_as_handled(self) -> None:
        after = answer(open_request(handled=("DE-MSG-0",)), MessageKind.REPLY, RECEIVED)

        assert after.handled == ("DE-MSG-0", "DE-MSG-1")

    def test_prum_result_settles_a_prum_query(self) -> None:
        query = open_request(kind=MessageKind.PRUM_QUERY, channel=Channel.PRUM)

        transition = apply_answer(query, MessageKind.PRUM_RESULT, "DE-MSG-1", RECEIVED)

        assert transition.event is AuditEvent.ANSWERED
        assert transition.after.state is RequestState.ANSWERED


class TestRefusal:
    def test_settles_the_request(self) -> None:
        transition = apply_answer(
            open_request(),
            MessageKind.REFUSAL,
            "DE-MSG-1",
            RECEIVED + HOUR,
            grounds=[RefusalGround.NATIONAL_SECURITY],
        )

        assert transition.event is AuditEvent.REFUSED
        assert transition.after.state is RequestState.REFUSED
        assert transition.after.settled_at == RECEIVED + HOUR
        assert transition.after.deadline is None


class TestPartialReply:
    def test_keeps_the_request_open_with_its_deadline(self) -> None:
        transition = apply_answer(
            open_request(), MessageKind.PARTIAL_REPLY, "DE-MSG-1", RECEIVED + HOUR
        )

        assert transition.event is AuditEvent.PARTIALLY_ANSWERED
        assert transition.after.state is RequestState.DELIVERED
        assert not transition.after.settled
        assert transition.after.deadline == DEADLINE


class TestAcknowledgement:
    def test_changes_nothing_but_the_handled_messages(self) -> None:
        request = open_request()

        transition = apply_answer(request, MessageKind.ACKNOWLEDGEMENT, "DE-MSG-1", RECEIVED)

        assert transition.event is AuditEvent.ACKNOWLEDGED
        assert transition.after == request.model_copy(update={"handled": ("DE-MSG-1",)})


class TestClarification:
    def test_request_pauses_the_clock_and_keeps_the_time_used(self) -> None:
        transition = apply_answer(
            open_request(), MessageKind.CLARIFICATION_REQUEST, "DE-MSG-1", RECEIVED + 2 * HOUR
        )

        assert transition.event is AuditEvent.CLARIFICATION_REQUESTED
        assert transition.after.state is RequestState.CLARIFICATION_PENDING
        assert transition.after.deadline is None
        assert transition.after.elapsed_seconds == (2 * HOUR).total_seconds()

    def test_reply_resumes_with_the_deadline_moved_by_the_paused_time(self) -> None:
        paused = answer(open_request(), MessageKind.CLARIFICATION_REQUEST, RECEIVED + 2 * HOUR)

        transition = apply_answer(
            paused, MessageKind.CLARIFICATION_REPLY, "PL-MSG-2", RECEIVED + 7 * HOUR
        )

        assert transition.event is AuditEvent.CLARIFIED
        assert transition.after.state is RequestState.DELIVERED
        assert transition.after.deadline == DEADLINE + 5 * HOUR

    def test_second_pause_adds_up(self) -> None:
        request = open_request()
        request = answer(request, MessageKind.CLARIFICATION_REQUEST, RECEIVED + 1 * HOUR, n=1)
        request = answer(request, MessageKind.CLARIFICATION_REPLY, RECEIVED + 2 * HOUR, n=2)
        request = answer(request, MessageKind.CLARIFICATION_REQUEST, RECEIVED + 3 * HOUR, n=3)
        request = answer(request, MessageKind.CLARIFICATION_REPLY, RECEIVED + 6 * HOUR, n=4)

        assert request.deadline == DEADLINE + 4 * HOUR

    def test_second_request_while_pending_is_refused(self) -> None:
        paused = answer(open_request(), MessageKind.CLARIFICATION_REQUEST, RECEIVED)

        with pytest.raises(LifecycleError, match="already awaits a clarification"):
            apply_answer(paused, MessageKind.CLARIFICATION_REQUEST, "DE-MSG-2", RECEIVED)

    def test_reply_nobody_asked_for_is_refused(self) -> None:
        with pytest.raises(LifecycleError, match="awaits no clarification \\(state delivered\\)"):
            apply_answer(open_request(), MessageKind.CLARIFICATION_REPLY, "PL-MSG-2", RECEIVED)

    def test_reply_on_a_delayed_request_returns_to_awaiting_judicial_auth(self) -> None:
        request = answer(open_request(), MessageKind.DELAY_NOTICE, RECEIVED + HOUR, n=1)
        request = answer(request, MessageKind.CLARIFICATION_REQUEST, RECEIVED + 2 * HOUR, n=2)

        after = answer(request, MessageKind.CLARIFICATION_REPLY, RECEIVED + 3 * HOUR, n=3)

        assert after.deadline is None
        assert after.state is RequestState.AWAITING_JUDICIAL_AUTH


class TestDelayNotice:
    def test_suspends_the_clock(self) -> None:
        transition = apply_answer(
            open_request(), MessageKind.DELAY_NOTICE, "DE-MSG-1", RECEIVED + HOUR
        )

        assert transition.event is AuditEvent.DELAYED
        assert transition.after.state is RequestState.AWAITING_JUDICIAL_AUTH
        assert transition.after.delayed
        assert transition.after.deadline is None
        assert transition.after.elapsed_seconds == HOUR.total_seconds()

    def test_reply_after_the_delay_settles(self) -> None:
        delayed = answer(open_request(), MessageKind.DELAY_NOTICE, RECEIVED + HOUR)

        after = answer(delayed, MessageKind.REPLY, RECEIVED + 72 * HOUR, n=2)

        assert after.state is RequestState.ANSWERED
        assert after.elapsed_seconds == HOUR.total_seconds()

    def test_second_notice_is_refused(self) -> None:
        delayed = answer(open_request(), MessageKind.DELAY_NOTICE, RECEIVED)

        with pytest.raises(LifecycleError, match="already delayed"):
            apply_answer(delayed, MessageKind.DELAY_NOTICE, "DE-MSG-2", RECEIVED)


class TestAfterSettlement:
    @pytest.mark.parametrize(
        ("settling", "state"),
        [
            pytest.param(MessageKind.REPLY, "answered", id="after-reply"),
            pytest.param(MessageKind.REFUSAL, "refused", id="after-refusal"),
        ],
    )
    def test_reply_is_refused(self, settling: MessageKind, state: str) -> None:
        settled = answer(open_request(), settling, RECEIVED)

        with pytest.raises(LifecycleError, match=f"is already {state}; a reply cannot follow"):
            apply_answer(settled, MessageKind.REPLY, "DE-MSG-2", RECEIVED)

    def test_clarification_request_is_refused(self) -> None:
        settled = answer(open_request(), MessageKind.REPLY, RECEIVED)

        with pytest.raises(LifecycleError, match="already answered"):
            apply_answer(settled, MessageKind.CLARIFICATION_REQUEST, "DE-MSG-2", RECEIVED)


def test_a_kind_that_answers_nothing_is_refused() -> None:
    with pytest.raises(LifecycleError, match="a request does not answer a request"):
        apply_answer(open_request(), MessageKind.REQUEST, "PL-MSG-9", RECEIVED)


class TestMarkOverdue:
    def test_not_a_second_before_the_deadline(self) -> None:
        assert mark_overdue(open_request(), DEADLINE - timedelta(seconds=1)) is None

    def test_exactly_at_the_deadline(self) -> None:
        flagged = mark_overdue(open_request(), DEADLINE)

        assert flagged is not None
        assert flagged.overdue

    def test_flag_keeps_the_state(self) -> None:
        flagged = mark_overdue(open_request(), DEADLINE + HOUR)

        assert flagged is not None
        assert flagged.state is RequestState.DELIVERED

    def test_only_once(self) -> None:
        assert mark_overdue(open_request(overdue=True), DEADLINE + HOUR) is None

    def test_not_when_answered(self) -> None:
        answered = answer(open_request(), MessageKind.REPLY, RECEIVED + HOUR)

        assert mark_overdue(answered, DEADLINE + HOUR) is None

    def test_not_while_paused_for_clarification(self) -> None:
        paused = answer(open_request(), MessageKind.CLARIFICATION_REQUEST, RECEIVED + HOUR)

        assert mark_overdue(paused, DEADLINE + HOUR) is None

    def test_not_for_a_one_way_message(self) -> None:
        one_way = open_request(limit_seconds=None, running_since=None)

        assert mark_overdue(one_way, DEADLINE + HOUR) is None

    def test_at_the_moved_deadline_after_a_clarification(self) -> None:
        request = answer(open_request(), MessageKind.CLARIFICATION_REQUEST, RECEIVED + HOUR)
        request = answer(request, MessageKind.CLARIFICATION_REPLY, RECEIVED + 3 * HOUR, n=2)

        assert mark_overdue(request, DEADLINE + 2 * HOUR - timedelta(seconds=1)) is None
        assert mark_overdue(request, DEADLINE + 2 * HOUR) is not None
