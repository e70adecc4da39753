"""Live figures of a running exercise (pure), folded from its audit records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from schemas.audit import AuditEvent, AuditRecord
from schemas.enums import Outcome
from schemas.messages import ONE_WAY_KINDS

OUTCOME_OF = {
    AuditEvent.ANSWERED: Outcome.ANSWERED,
    AuditEvent.REFUSED: Outcome.REFUSED,
    AuditEvent.OVERDUE: Outcome.OVERDUE,
}

Trigger = Callable[[str, Outcome, datetime], None]


@dataclass
class RequestProgress:
    """Where one request stands, as far as the audit trail tells."""

    received: bool = False
    settled: Outcome | None = None  # answered / refused
    overdue: bool = False


@dataclass
class ExerciseProgress:
    """Counts for the live display, and outcome triggers for conditional injects."""

    requests: dict[str, RequestProgress] = field(default_factory=dict)
    rejected: int = 0
    seen: set[str] = field(default_factory=set)
    exercise_time: datetime | None = None
    on_outcome: Trigger | None = None

    def observe(self, record: AuditRecord) -> None:
        """Take one audit record (duplicates by record id are ignored)."""
        if record.record_id in self.seen:
            return
        self.seen.add(record.record_id)
        if self.exercise_time is None or record.exercise_time > self.exercise_time:
            self.exercise_time = record.exercise_time
        if record.event is AuditEvent.REJECTED:
            self.rejected += 1
            return
        if record.request_id is None:
            return
        if record.event is AuditEvent.RECEIVED and record.kind in ONE_WAY_KINDS:
            return  # one-way message: nothing to settle
        progress = self.requests.setdefault(record.request_id, RequestProgress())
        if record.event is AuditEvent.RECEIVED:
            progress.received = True
        outcome = OUTCOME_OF.get(record.event)
        if outcome is None:
            return
        if outcome is Outcome.OVERDUE:
            progress.overdue = True
        else:
            progress.settled = outcome
        if self.on_outcome is not None:
            self.on_outcome(record.request_id, outcome, record.exercise_time)

    def outcome(self, request_id: str) -> Outcome | None:
        """answered / refused, else overdue, else None."""
        progress = self.requests.get(request_id)
        if progress is None:
            return None
        return progress.settled or (Outcome.OVERDUE if progress.overdue else None)

    @property
    def open(self) -> int:
        """Requests received and not settled."""
        return sum(1 for p in self.requests.values() if p.received and p.settled is None)

    @property
    def overdue(self) -> int:
        """Requests flagged overdue, settled since or not."""
        return sum(1 for p in self.requests.values() if p.overdue)

    def count(self, outcome: Outcome) -> int:
        """Requests settled with `outcome`."""
        return sum(1 for p in self.requests.values() if p.settled == outcome)
