"""The deadline board (pure, no I/O): the running exercise's requests folded from its audit
records, each request's steps with their place on Kafka, and what a clock change would do.

A request's countdown runs in exercise time: `deadline` while its clock runs, or the
`remaining_seconds` of its limit while a clarification or a judicial delay stops it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from onestop.console.models import BoardEntry, Step
from schemas.audit import AuditEvent, AuditRecord
from schemas.audit_details import AnswerDetails, ReceivedDetails
from schemas.enums import Country, Outcome, RequestState
from schemas.messages import OPENING_KINDS

#: Wall seconds ahead that a speed change is judged over: requests falling due within them
#: leave trainees no time to act.
SPEED_HORIZON_SECONDS = 600.0


@dataclass(frozen=True)
class Placed:
    """An audit record and where it was read."""

    record: AuditRecord
    topic: str
    partition: int
    offset: int


@dataclass
class RequestBoard:
    """The requests of one exercise (request ids `<run id>.<name>`), as records arrive."""

    run_id: str | None = None
    trainees: frozenset[Country] = frozenset()
    entries: dict[str, BoardEntry] = field(default_factory=dict)
    steps: dict[str, list[Placed]] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    def reset(self, run_id: str | None, trainees: frozenset[Country] = frozenset()) -> None:
        """Start over for the exercise `run_id`."""
        self.run_id = run_id
        self.trainees = trainees
        self.entries.clear()
        self.steps.clear()
        self._seen.clear()

    def take(self, placed: Placed) -> BoardEntry | None:
        """Fold one audit record in; return the entry it changed, if any. Records of other
        exercises and duplicates (the same record id) change nothing."""
        record = placed.record
        if record.request_id is None or record.record_id in self._seen:
            return None
        if self.run_id is not None and not record.request_id.startswith(f"{self.run_id}."):
            return None
        self._seen.add(record.record_id)
        self.steps.setdefault(record.request_id, []).append(placed)
        entry = self.entries.get(record.request_id)
        if record.event is AuditEvent.RECEIVED:
            if record.kind not in OPENING_KINDS:
                return None  # one way: nothing to keep a deadline for
            entry = self._opened(record)
        elif entry is None:
            return None
        else:
            entry = _moved(entry, record)
        self.entries[record.request_id] = entry
        return entry

    def _opened(self, record: AuditRecord) -> BoardEntry:
        details = record.details
        assert isinstance(details, ReceivedDetails)
        assert record.kind is not None and record.sender is not None
        assert record.recipient is not None and record.request_id is not None
        name = record.request_id
        if self.run_id is not None:
            name = name.removeprefix(f"{self.run_id}.")
        return BoardEntry(
            request_id=record.request_id,
            name=name,
            case_id=record.case_id,
            language=details.language or "en",
            kind=record.kind,
            from_=record.sender,
            to=record.recipient,
            urgency=details.urgency,
            accessibility=details.accessibility,
            channel=record.channel,
            received_at=record.exercise_time,
            limit_seconds=details.limit_seconds,
            limit_why=details.limit_why,
            deadline=details.deadline,
            state=RequestState.DELIVERED,
            outcome=Outcome.OPEN,
            trainee_desk=record.recipient in self.trainees,
        )

    def open_entries(self) -> list[BoardEntry]:
        """Requests not settled, the soonest due first (stopped clocks after)."""
        waiting = [e for e in self.entries.values() if e.settled_at is None]
        return sorted(waiting, key=self.sort_key)

    @staticmethod
    def sort_key(entry: BoardEntry) -> tuple[bool, datetime]:
        """Soonest due first; stopped clocks and no limit after, by receipt."""
        return entry.deadline is None, entry.deadline or entry.received_at


def _moved(entry: BoardEntry, record: AuditRecord) -> BoardEntry:
    """`entry` after a later record of its request."""
    update: dict[str, object] = {}
    if record.state_after is not None and record.event is not AuditEvent.DELIVERED:
        update["state"] = record.state_after
    details = record.details
    match record.event:
        case AuditEvent.ANSWERED | AuditEvent.REFUSED:
            answered = record.event is AuditEvent.ANSWERED
            update |= {
                "outcome": Outcome.ANSWERED if answered else Outcome.REFUSED,
                "settled_at": record.exercise_time,
                "deadline": None,
                "remaining_seconds": None,
            }
        case AuditEvent.CLARIFICATION_REQUESTED | AuditEvent.DELAYED:
            # The clock stops: what is left of the limit stays left.
            if entry.deadline is not None:
                left = (entry.deadline - record.exercise_time).total_seconds()
                update |= {"deadline": None, "remaining_seconds": max(left, 0.0)}
        case AuditEvent.CLARIFIED:
            if isinstance(details, AnswerDetails) and details.deadline is not None:
                update |= {"deadline": details.deadline, "remaining_seconds": None}
        case AuditEvent.OVERDUE:
            update["overdue"] = True
            if entry.settled_at is None:
                update["outcome"] = Outcome.OVERDUE
        case _:
            pass
    return entry.model_copy(update=update)


def step_of(placed: Placed) -> Step:
    """An audit record as the inspector shows it."""
    record = placed.record
    return Step(
        record_id=record.record_id,
        event=record.event.value,
        operation=" + ".join(operation.value for operation in record.operations),
        actor=record.actor,
        exercise_time=record.exercise_time,
        wall_time=record.wall_time,
        justification=record.justification,
        sender=record.sender,
        recipient=record.recipient,
        channel=record.channel,
        state_before=record.state_before,
        state_after=record.state_after,
        details=record.details.wire(),
        topic=placed.topic,
        partition=placed.partition,
        offset=placed.offset,
    )


# ---- what a clock change would do ------------------------------------------------------


def overdue_after_jump(
    entries: list[BoardEntry], now: datetime, seconds: float
) -> list[BoardEntry]:
    """The open requests, not overdue yet, that a jump of `seconds` (exercise time) from
    `now` would carry past their deadline."""
    target = now + timedelta(seconds=seconds)
    return [
        e
        for e in entries
        if e.settled_at is None and not e.overdue and e.deadline is not None
        and now < e.deadline <= target
    ]  # fmt: skip


def due_soon_after_speed(
    entries: list[BoardEntry],
    now: datetime,
    speed: float,
    horizon: float = SPEED_HORIZON_SECONDS,
) -> list[BoardEntry]:
    """The open requests that would fall due within `horizon` wall seconds if exercise
    time ran at `speed` from `now`: trainees could no longer act on them."""
    limit = now + timedelta(seconds=horizon * speed)
    return [
        e
        for e in entries
        if e.settled_at is None and not e.overdue and e.deadline is not None
        and now < e.deadline <= limit
    ]  # fmt: skip
