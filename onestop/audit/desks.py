"""The assessment of each trainee desk in the after-action report (pure, no I/O): what
arrived at the desk and what the desk did with it, against the legal limits and rules, and
the control team's observations on that desk, on one timeline.

Judged per desk: requests received and answered, the on-time share against the limits,
answer times against the limit, refusals and their Art. 6(1) grounds, clarifications and
delay notices used, channel choices that deviated from Art. 13, and urgent requests the
desk tried to send without their Art. 4 reason (noted by the console as a finding).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from onestop.audit.statistics import RequestHistory
from schemas.audit import AuditEvent, AuditRecord, exercise_iso
from schemas.enums import Country, Outcome
from schemas.observations import Observation

HOUR = 3600.0
MISSING_URGENCY_REASON = "missing_urgency_reason"

#: What the desk's own acts are called on its timeline.
ACTS = {
    AuditEvent.ANSWERED: "answered",
    AuditEvent.REFUSED: "refused",
    AuditEvent.PARTIALLY_ANSWERED: "answered in part",
    AuditEvent.CLARIFICATION_REQUESTED: "asked for clarification",
    AuditEvent.CLARIFIED: "clarified",
    AuditEvent.DELAYED: "sent a delay notice (judicial authorisation)",
    AuditEvent.ACKNOWLEDGED: "acknowledged",
}


class DeskRequest(BaseModel):
    """A request that arrived at the desk, and what became of it. Times: exercise time;
    durations: exercise hours."""

    model_config = ConfigDict(extra="forbid")

    request_id: str
    from_: str = Field(serialization_alias="from")
    kind: str
    urgency: str | None
    received_at: str
    limit_hours: float | None
    answer_hours: float | None
    outcome: Outcome
    on_time: bool
    overdue_flagged: bool
    grounds: list[str]
    clarifications: int
    delayed: bool


class DeskOpened(BaseModel):
    """A request the desk opened itself, and its channel choice against Art. 13."""

    model_config = ConfigDict(extra="forbid")

    request_id: str
    to: str
    kind: str
    channel: str | None = Field(description="The channel the hub chose (Art. 13)")
    requested_channel: str | None = Field(description="The channel the desk chose")
    deviation: str | None
    outcome: Outcome


class DeskMoment(BaseModel):
    """One moment on the desk's timeline: an act of the desk, a deadline passed, or an
    observation on the desk."""

    model_config = ConfigDict(extra="forbid")

    exercise_time: str
    what: str
    request_id: str | None = None
    text: str = ""


class DeskAssessment(BaseModel):
    """How one trainee desk did."""

    model_config = ConfigDict(extra="forbid")

    party: str
    received: int
    answered: int
    refused: int
    overdue: int = Field(description="Flagged overdue and still open")
    open: int
    on_time: int
    on_time_share: float | None
    late: int
    refusals_by_ground: dict[str, int]
    clarifications_asked: int
    delay_notices: int
    deviations: int = Field(description="Channel choices that differ from Art. 13")
    missing_urgency_reasons: int
    requests: list[DeskRequest]
    opened: list[DeskOpened]
    timeline: list[DeskMoment]


def _request(h: RequestHistory) -> DeskRequest:
    return DeskRequest(
        request_id=h.request_id,
        from_=h.requester.value,
        kind=h.kind.value,
        urgency=h.urgency.value if h.urgency else None,
        received_at=exercise_iso(h.received_at),
        limit_hours=round(h.limit_seconds / HOUR, 4) if h.limit_seconds is not None else None,
        answer_hours=round(h.answer_seconds / HOUR, 4) if h.answer_seconds is not None else None,
        outcome=h.outcome,
        on_time=h.on_time,
        overdue_flagged=h.overdue,
        grounds=h.grounds,
        clarifications=h.clarifications,
        delayed=h.delayed,
    )


def assess_desk(
    party: Country,
    histories: list[RequestHistory],
    records: Iterable[AuditRecord],
    observations: Iterable[Observation],
) -> DeskAssessment:
    """The assessment of `party`'s desk from the trail's request histories and records
    (each counted once) and the observations."""
    received = [h for h in histories if h.requested is party]
    opened = [h for h in histories if h.requester is party]
    outcomes = Counter(h.outcome for h in received)
    on_time = sum(1 for h in received if h.on_time and h.limit_seconds is not None)
    timed = sum(1 for h in received if h.limit_seconds is not None)
    grounds: Counter[str] = Counter(g for h in received for g in h.grounds)
    mine = {h.request_id for h in received} | {h.request_id for h in opened}
    timeline = _timeline(party, mine, records, observations)
    notes = [o for o in observations if o.party is party]
    return DeskAssessment(
        party=party.value,
        received=len(received),
        answered=outcomes[Outcome.ANSWERED],
        refused=outcomes[Outcome.REFUSED],
        overdue=outcomes[Outcome.OVERDUE],
        open=outcomes[Outcome.OPEN],
        on_time=on_time,
        on_time_share=round(on_time / timed, 4) if timed else None,
        late=timed - on_time,
        refusals_by_ground=dict(sorted(grounds.items())),
        clarifications_asked=sum(h.clarifications for h in received),
        delay_notices=sum(1 for h in received if h.delayed),
        deviations=sum(1 for h in opened if h.deviation),
        missing_urgency_reasons=sum(1 for o in notes if o.finding == MISSING_URGENCY_REASON),
        requests=[_request(h) for h in received],
        opened=[
            DeskOpened(
                request_id=h.request_id,
                to=h.requested.value,
                kind=h.kind.value,
                channel=h.channel.value if h.channel else None,
                requested_channel=h.requested_channel.value if h.requested_channel else None,
                deviation=h.deviation,
                outcome=h.outcome,
            )
            for h in opened
        ],
        timeline=timeline,
    )


def _timeline(
    party: Country,
    requests: set[str],
    records: Iterable[AuditRecord],
    observations: Iterable[Observation],
) -> list[DeskMoment]:
    moments = []
    for record in records:
        if record.request_id not in requests:
            continue
        if record.sender is party and record.event in ACTS:
            moments.append(
                DeskMoment(
                    exercise_time=exercise_iso(record.exercise_time),
                    what=ACTS[record.event],
                    request_id=record.request_id,
                    text=record.justification,
                )
            )
        elif record.sender is party and record.event is AuditEvent.RECEIVED:
            moments.append(
                DeskMoment(
                    exercise_time=exercise_iso(record.exercise_time),
                    what="opened a request",
                    request_id=record.request_id,
                    text=record.justification,
                )
            )
        elif record.recipient is party and record.event is AuditEvent.RECEIVED:
            moments.append(
                DeskMoment(
                    exercise_time=exercise_iso(record.exercise_time),
                    what="received a request",
                    request_id=record.request_id,
                    text=record.justification,
                )
            )
        elif record.event is AuditEvent.OVERDUE and record.recipient is party:
            moments.append(
                DeskMoment(
                    exercise_time=exercise_iso(record.exercise_time),
                    what="time limit passed",
                    request_id=record.request_id,
                    text=record.justification,
                )
            )
    for note in observations:
        if note.party is party:
            moments.append(
                DeskMoment(
                    exercise_time=exercise_iso(note.exercise_time),
                    what="finding" if note.finding else f"observation ({note.author})",
                    request_id=note.request_id,
                    text=note.text,
                )
            )
    return sorted(moments, key=lambda m: m.exercise_time)
