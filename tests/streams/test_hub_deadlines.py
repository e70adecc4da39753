"""Deadlines at a real hub, in exercise time read from the clock topic: the limit of each
rule set from receipt, a clarification pausing the clock, a delay notice suspending it, a
speed change and a jump; overdue flagged within a wall second of the deadline."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from onestop.exercise.clock_control import clock_command, publish_clock
from schemas.audit import AuditEvent, AuditRecord
from schemas.clock import ClockAction, ExerciseSetup
from schemas.deadlines import DAY, HOUR, RULE_SETS
from schemas.enums import Accessibility, Country, MessageKind, RuleSetName, Urgency
from schemas.topics import Topics
from streams.settings import HubSettings
from tests.factories import make_message
from tests.support import (
    HubProcess,
    audit_records,
    create_topics,
    read_all,
    read_until,
    send_messages,
    start_clock,
    wait_for_hub,
)

START = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
CASES = {
    RuleSetName.DIRECTIVE_2023_977: {
        (Urgency.URGENT, Accessibility.DIRECT): 8 * HOUR,
        (Urgency.URGENT, Accessibility.INDIRECT): 3 * DAY,
        (Urgency.NON_URGENT, Accessibility.DIRECT): 7 * DAY,
        (Urgency.NON_URGENT, Accessibility.INDIRECT): 7 * DAY,
    },
    RuleSetName.FRAMEWORK_DECISION_2006_960: {
        (Urgency.URGENT, Accessibility.DIRECT): 8 * HOUR,
        (Urgency.URGENT, Accessibility.INDIRECT): 14 * DAY,
        (Urgency.NON_URGENT, Accessibility.DIRECT): 7 * DAY,
        (Urgency.NON_URGENT, Accessibility.INDIRECT): 14 * DAY,
    },
}


def request(request_id: str, urgency: Urgency, accessibility: Accessibility) -> object:
    return make_message(
        MessageKind.REQUEST,
        message_id=request_id,
        request_id=request_id,
        case_id=request_id,
        urgency=urgency,
        urgency_reason="threat to life" if urgency is Urgency.URGENT else None,
        accessibility=accessibility,
        sent_at=START,
    )


def answer(kind: MessageKind, request_id: str) -> object:
    return make_message(kind, message_id=f"{request_id}.{kind.value}", request_id=request_id,
                        case_id=request_id, sent_at=START)  # fmt: skip


def events_of(records: list[AuditRecord], request_id: str) -> dict[AuditEvent, AuditRecord]:
    return {r.event: r for r in records if r.request_id == request_id}


def has(request_id: str, event: AuditEvent):  # type: ignore[no-untyped-def]
    def check(raw: list) -> bool:  # type: ignore[type-arg]
        return any(r.request_id == request_id and r.event is event for r in audit_records(raw))

    return check


@pytest.mark.parametrize("rules", list(CASES), ids=[r.value for r in CASES])
async def test_limit_runs_from_receipt_under_each_rule_set(
    bootstrap: str, namespace: str, tmp_path: Path, rules: RuleSetName
) -> None:
    topics = Topics(namespace)
    await create_topics(bootstrap, topics, [Country.PL, Country.DE])
    offset = await start_clock(bootstrap, topics, START, 60, ExerciseSetup(rules=RULE_SETS[rules]))
    messages = [request(f"r-{u.value}-{a.value}", u, a) for (u, a) in CASES[rules]]
    with HubProcess(bootstrap, topics, tmp_path):
        await send_messages(bootstrap, topics, messages, offset)  # type: ignore[arg-type]
        raw = await read_until(
            bootstrap,
            topics.audit,
            lambda rs: sum(r.event is AuditEvent.RECEIVED for r in audit_records(rs)) == 4,
        )
    for (urgency, accessibility), limit in CASES[rules].items():
        received = events_of(audit_records(raw), f"r-{urgency.value}-{accessibility.value}")[
            AuditEvent.RECEIVED
        ]
        deadline = datetime.fromisoformat(received.details.wire()["deadline"])
        assert received.details.wire()["limit_seconds"] == limit
        assert deadline - received.exercise_time == timedelta(seconds=limit)


async def test_pause_suspension_speed_change_and_jump(
    bootstrap: str, namespace: str, tmp_path: Path
) -> None:
    topics = Topics(namespace)
    await create_topics(bootstrap, topics, [Country.PL, Country.DE])
    offset = await start_clock(bootstrap, topics, START, 60)
    with HubProcess(bootstrap, topics, tmp_path):
        await wait_for_hub(bootstrap, topics)
        # r1 is paused by a clarification; r2 suspended by a judicial-authorisation delay.
        r1 = request("r1", Urgency.URGENT, Accessibility.DIRECT)
        r2 = request("r2", Urgency.URGENT, Accessibility.DIRECT)
        await send_messages(bootstrap, topics, [r1, r2], offset)  # type: ignore[list-item]
        # A node answers what it was delivered: wait as it would.
        delivered = [has(r, AuditEvent.RECEIVED) for r in ("r1", "r2")]
        await read_until(bootstrap, topics.audit, lambda rs: all(d(rs) for d in delivered))
        await send_messages(
            bootstrap,
            topics,
            [answer(MessageKind.CLARIFICATION_REQUEST, "r1"),  # type: ignore[list-item]
             answer(MessageKind.DELAY_NOTICE, "r2")],  # type: ignore[list-item]
            offset,
        )  # fmt: skip
        await read_until(bootstrap, topics.audit, has("r1", AuditEvent.CLARIFICATION_REQUESTED))
        # Speed up tenfold, then clarify: the time paused is whatever ran in between.
        speed = await publish_clock(
            bootstrap, topics, clock_command(namespace, ClockAction.SPEED, speed=600)
        )
        await send_messages(
            bootstrap,
            topics,
            [answer(MessageKind.CLARIFICATION_REPLY, "r1")],  # type: ignore[list-item]
            speed + 1,
        )
        raw = await read_until(bootstrap, topics.audit, has("r1", AuditEvent.CLARIFIED))
        # Jump ten days: r1 (running again) falls overdue, r2 (suspended) does not.
        jump = clock_command(namespace, ClockAction.JUMP, jump_seconds=10 * DAY)
        await publish_clock(bootstrap, topics, jump)
        await read_until(bootstrap, topics.audit, has("r1", AuditEvent.OVERDUE))
        # r2 would be flagged as soon as r1 (same check, same jump): read on past that.
        await asyncio.sleep(1.5)
        raw = await read_all(bootstrap, topics.audit)

    records = audit_records(raw)
    r1_events = events_of(records, "r1")
    received = r1_events[AuditEvent.RECEIVED]
    asked = r1_events[AuditEvent.CLARIFICATION_REQUESTED]
    clarified = r1_events[AuditEvent.CLARIFIED]
    overdue = r1_events[AuditEvent.OVERDUE]
    paused = clarified.exercise_time - asked.exercise_time
    expected = received.exercise_time + timedelta(hours=8) + paused
    assert paused > timedelta(0)
    assert datetime.fromisoformat(clarified.details.wire()["deadline"]) == expected
    assert datetime.fromisoformat(overdue.details.wire()["deadline"]) == expected
    # Flagged soon after the jump that carried time past the deadline (a few wall seconds
    # on a busy machine), once the check's look back (its lateness) has passed it too.
    assert overdue.exercise_time >= expected
    lateness = HubSettings(bootstrap=bootstrap).lateness
    assert overdue.wall_time - jump.issued_at < timedelta(seconds=lateness + 5)
    assert overdue.wall_time - jump.issued_at >= timedelta(seconds=lateness)
    assert AuditEvent.OVERDUE not in events_of(records, "r2")
    assert AuditEvent.DELAYED in events_of(records, "r2")
