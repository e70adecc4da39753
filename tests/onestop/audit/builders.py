"""Hand-made audit trails: records shaped like the ones `streams.exchange` writes, sealed
into per-partition hash chains in the order they are built.

    trail = TrailBuilder()
    trail.received("R1", Country.PL, Country.LT, at=T0, limit_hours=8, urgency=Urgency.URGENT)
    trail.answered("R1", at=T0 + timedelta(hours=2), on_time=True)
    records = trail.records
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.audit import (
    AuditEvent,
    AuditRecord,
    ChainHead,
    Operation,
    audit_record_id,
    exercise_iso,
)
from schemas.enums import (
    Accessibility,
    Channel,
    Country,
    MessageKind,
    RefusalGround,
    RequestState,
    Urgency,
)
from schemas.topics import partition_for

PARTITIONS = 4


@dataclass
class _Opened:
    request_id: str
    case_id: str
    kind: MessageKind
    requester: Country
    requested: Country
    channel: Channel
    urgency: Urgency | None
    partition: int
    received_at: datetime
    deadline: datetime | None


@dataclass
class TrailBuilder:
    """Builds audit records as the hub would write them; `records` is the trail in the
    order built (each partition's chain intact)."""

    partitions: int = PARTITIONS
    records: list[AuditRecord] = field(default_factory=list)
    heads: dict[int, ChainHead] = field(default_factory=dict)
    opened: dict[str, _Opened] = field(default_factory=dict)
    _serial: int = 0

    def _seal(self, record: AuditRecord) -> AuditRecord:
        sealed = self.heads.setdefault(record.partition, ChainHead()).seal(record)
        self.records.append(sealed)
        return sealed

    def _message_id(self, request_id: str, what: str) -> str:
        self._serial += 1
        return f"{request_id}.{what}.{self._serial}"

    def _record(
        self,
        request: _Opened,
        event: AuditEvent,
        operation: Operation,
        at: datetime,
        *,
        kind: MessageKind,
        sender: Country,
        recipient: Country,
        message_id: str,
        details: dict[str, Any] | None = None,
        before: RequestState | None = None,
        after: RequestState | None = None,
    ) -> AuditRecord:
        return self._seal(
            AuditRecord(
                record_id=audit_record_id(message_id, event),
                partition=request.partition,
                seq=0,
                prev_hash="",
                operation=operation,
                event=event,
                actor="hub",
                wall_time=at,
                exercise_time=at,
                justification=f"{kind.value} from {sender.value}",
                request_id=request.request_id,
                case_id=request.case_id,
                message_id=message_id,
                kind=kind,
                sender=sender,
                recipient=recipient,
                channel=request.channel,
                state_before=before,
                state_after=after,
                details={
                    "request_kind": request.kind.value,
                    "urgency": request.urgency.value if request.urgency else None,
                    **(details or {}),
                },
            )
        )

    def _delivered(
        self, request: _Opened, at: datetime, kind: MessageKind, message_id: str, sender: Country
    ) -> None:
        recipient = request.requested if sender is request.requester else request.requester
        self._record(
            request,
            AuditEvent.DELIVERED,
            Operation.DISCLOSURE,
            at,
            kind=kind,
            sender=sender,
            recipient=recipient,
            message_id=message_id,
        )

    # ---- openings ------------------------------------------------------------------

    def received(
        self,
        request_id: str,
        requester: Country,
        requested: Country,
        *,
        at: datetime,
        limit_hours: float,
        urgency: Urgency | None = Urgency.NON_URGENT,
        accessibility: Accessibility | None = Accessibility.DIRECT,
        kind: MessageKind = MessageKind.REQUEST,
        channel: Channel = Channel.SIENA,
        case_id: str | None = None,
    ) -> AuditRecord:
        """An opening message received at exercise time `at`, its clock started with a
        limit of `limit_hours`; then its delivery."""
        deadline = at + timedelta(hours=limit_hours)
        request = _Opened(
            request_id=request_id,
            case_id=case_id or f"case-{request_id}",
            kind=kind,
            requester=requester,
            requested=requested,
            channel=channel,
            urgency=urgency,
            partition=partition_for(request_id.encode(), self.partitions),
            received_at=at,
            deadline=deadline,
        )
        self.opened[request_id] = request
        record = self._record(
            request,
            AuditEvent.RECEIVED,
            Operation.COLLECTION,
            at,
            kind=kind,
            sender=requester,
            recipient=requested,
            message_id=request_id,
            before=RequestState.SUBMITTED,
            after=RequestState.VALIDATED,
            details={
                "urgency": urgency.value if urgency else None,
                "accessibility": accessibility.value if accessibility else None,
                "route_reason": "default channel",
                "handling_code": "H0",
                "language": "en",
                "sent_at": exercise_iso(at),
                "ce_time": exercise_iso(at),
                "limit_seconds": limit_hours * 3600.0,
                "deadline": exercise_iso(deadline),
            },
        )
        self._delivered(request, at, kind, request_id, requester)
        return record

    def one_way(
        self, message_id: str, sender: Country, recipient: Country, *, at: datetime
    ) -> AuditRecord:
        """A spontaneous-information message: received and delivered, no clock."""
        request = _Opened(
            request_id=message_id,
            case_id=f"case-{message_id}",
            kind=MessageKind.SPONTANEOUS_INFORMATION,
            requester=sender,
            requested=recipient,
            channel=Channel.SIENA,
            urgency=None,
            partition=partition_for(message_id.encode(), self.partitions),
            received_at=at,
            deadline=None,
        )
        record = self._record(
            request,
            AuditEvent.RECEIVED,
            Operation.COLLECTION,
            at,
            kind=request.kind,
            sender=sender,
            recipient=recipient,
            message_id=message_id,
            details={"urgency": None, "accessibility": None, "language": "en"},
        )
        self._delivered(request, at, request.kind, message_id, sender)
        return record

    # ---- answers -------------------------------------------------------------------

    def _answer(
        self,
        request_id: str,
        event: AuditEvent,
        kind: MessageKind,
        at: datetime,
        details: dict[str, Any],
        *,
        from_requester: bool = False,
    ) -> AuditRecord:
        request = self.opened[request_id]
        sender = request.requester if from_requester else request.requested
        recipient = request.requested if from_requester else request.requester
        message_id = self._message_id(request_id, kind.value)
        record = self._record(
            request,
            event,
            Operation.COLLECTION,
            at,
            kind=kind,
            sender=sender,
            recipient=recipient,
            message_id=message_id,
            details=details,
        )
        self._delivered(request, at, kind, message_id, sender)
        return record

    def _settle(self, request_id: str, at: datetime, on_time: bool) -> dict[str, Any]:
        request = self.opened[request_id]
        request.deadline = None
        return {
            "answer_seconds": (at - request.received_at).total_seconds(),
            "on_time": on_time,
        }

    def answered(
        self,
        request_id: str,
        *,
        at: datetime,
        on_time: bool,
        kind: MessageKind = MessageKind.REPLY,
    ) -> AuditRecord:
        """A reply (or Prüm result) settling the request; `on_time` is the hub's verdict."""
        details = self._settle(request_id, at, on_time)
        return self._answer(request_id, AuditEvent.ANSWERED, kind, at, details)

    def refused(
        self, request_id: str, *, at: datetime, grounds: list[RefusalGround], on_time: bool
    ) -> AuditRecord:
        """A refusal on `grounds` settling the request."""
        details = {"grounds": [g.value for g in grounds], **self._settle(request_id, at, on_time)}
        return self._answer(request_id, AuditEvent.REFUSED, MessageKind.REFUSAL, at, details)

    def clarification_requested(self, request_id: str, *, at: datetime) -> AuditRecord:
        """The requested party asks for clarification: the clock stops (no deadline)."""
        self.opened[request_id].deadline = None
        return self._answer(
            request_id,
            AuditEvent.CLARIFICATION_REQUESTED,
            MessageKind.CLARIFICATION_REQUEST,
            at,
            {},
        )

    def clarified(self, request_id: str, *, at: datetime, deadline: datetime) -> AuditRecord:
        """The requester clarifies: the clock runs again towards `deadline`."""
        self.opened[request_id].deadline = deadline
        return self._answer(
            request_id,
            AuditEvent.CLARIFIED,
            MessageKind.CLARIFICATION_REPLY,
            at,
            {"deadline": exercise_iso(deadline)},
            from_requester=True,
        )

    def delayed(
        self, request_id: str, *, at: datetime, hours: float, reason: str = "court order"
    ) -> AuditRecord:
        """A delay notice for judicial authorisation: the clock stops (no deadline)."""
        self.opened[request_id].deadline = None
        return self._answer(
            request_id,
            AuditEvent.DELAYED,
            MessageKind.DELAY_NOTICE,
            at,
            {"expected_delay_hours": hours, "reason": reason},
        )

    def overdue(self, request_id: str, *, at: datetime) -> AuditRecord:
        """The hub flags the request overdue at its deadline `at`."""
        request = self.opened[request_id]
        return self._seal(
            AuditRecord(
                record_id=audit_record_id(f"{request_id}.overdue", AuditEvent.OVERDUE),
                partition=request.partition,
                seq=0,
                prev_hash="",
                operation=Operation.ALTERATION,
                event=AuditEvent.OVERDUE,
                actor="hub",
                wall_time=at,
                exercise_time=at,
                justification=f"time limit of request {request_id} exceeded (Art. 5)",
                request_id=request_id,
                case_id=request.case_id,
                kind=request.kind,
                sender=request.requester,
                recipient=request.requested,
                recipients=[request.requester, request.requested],
                channel=request.channel,
                details={
                    "request_kind": request.kind.value,
                    "urgency": request.urgency.value if request.urgency else None,
                    "deadline": exercise_iso(request.deadline or at),
                    "delayed": False,
                },
            )
        )

    def rejected(
        self, sender: Country, *, at: datetime, request_id: str | None = None, offset: int = 0
    ) -> AuditRecord:
        """A bad input from `sender` kept in the dead-letter topic."""
        dlq_id = f"onestop.outbox.{sender.value}/0/{offset}"
        return self._seal(
            AuditRecord(
                record_id=f"{dlq_id}/{AuditEvent.REJECTED.value}",
                partition=0,
                seq=0,
                prev_hash="",
                operation=Operation.COLLECTION,
                event=AuditEvent.REJECTED,
                actor="hub",
                wall_time=at,
                exercise_time=at,
                justification="rejected: request already settled",
                request_id=request_id,
                sender=sender,
                state_after=RequestState.REJECTED,
                details={"reason": "bad_state", "deadletter_id": dlq_id},
            )
        )

    def redelivered(self, record: AuditRecord) -> AuditRecord:
        """`record` written again after a crash: same record id, chained at the head."""
        return self._seal(record)


# ---- the worked scenario -------------------------------------------------------------

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def hours(h: float) -> datetime:
    """Exercise time `h` hours after T0."""
    return T0 + timedelta(hours=h)


def worked_scenario() -> TrailBuilder:
    """Six requests, worked out by hand (T0 = 2026-03-02 08:00Z, exercise time):

    R1 PL->LT urgent direct (8 h), received T0, answered T0+2h: on time.
    R2 PL->DE non-urgent direct (7 d), received T0+0.5h, flagged overdue at its deadline
       2026-03-09 08:30, answered 4 h later: late.
    R3 LT->PL urgent indirect (3 d), received T0+1h, refused on ground f at T0+3h.
    R4 DE->PL non-urgent indirect (7 d), received T0+1.5h, delayed for judicial
       authorisation a day later (240 h expected), answered T0+241.5h (2026-03-12 09:30),
       past its original deadline 2026-03-09 09:30; the hub counts it on time (clock
       suspended), Art. 18 counts a time limit exceeded because of judicial authorisation.
    R5 PL->LT urgent direct (8 h), received T0+4h, clarification asked at T0+5h (1 h used),
       clarified at T0+7h: deadline moves from 20:00 to 22:00; flagged overdue then; open.
    R6 LT->DE Prüm query (15 min), received T0+2h, hit/no-hit after 5 min.
    Also: one spontaneous information PL->DE (no clock), one rejected input (a second reply
    to R1), and R1's reply and R3's refusal recorded twice (redelivery after a crash).
    """
    t = TrailBuilder()
    t.received("R1", Country.PL, Country.LT, at=T0, limit_hours=8, urgency=Urgency.URGENT)
    t.received("R2", Country.PL, Country.DE, at=hours(0.5), limit_hours=168)
    t.received(
        "R3",
        Country.LT,
        Country.PL,
        at=hours(1),
        limit_hours=72,
        urgency=Urgency.URGENT,
        accessibility=Accessibility.INDIRECT,
    )
    t.received(
        "R4",
        Country.DE,
        Country.PL,
        at=hours(1.5),
        limit_hours=168,
        accessibility=Accessibility.INDIRECT,
    )
    r1_answer = t.answered("R1", at=hours(2), on_time=True)
    t.redelivered(r1_answer)
    t.received(
        "R6",
        Country.LT,
        Country.DE,
        at=hours(2),
        limit_hours=0.25,
        urgency=None,
        accessibility=None,
        kind=MessageKind.PRUM_QUERY,
        channel=Channel.PRUM,
    )
    t.answered("R6", at=hours(2) + timedelta(minutes=5), on_time=True, kind=MessageKind.PRUM_RESULT)
    r3_refusal = t.refused(
        "R3", at=hours(3), grounds=[RefusalGround.NATIONAL_SECURITY], on_time=True
    )
    t.rejected(Country.LT, at=hours(3), request_id="R1")
    t.redelivered(r3_refusal)
    t.received("R5", Country.PL, Country.LT, at=hours(4), limit_hours=8, urgency=Urgency.URGENT)
    t.one_way("SI1", Country.PL, Country.DE, at=hours(5))
    t.clarification_requested("R5", at=hours(5))
    t.clarified("R5", at=hours(7), deadline=hours(14))
    t.overdue("R5", at=hours(14))
    t.delayed("R4", at=hours(25.5), hours=240)
    t.opened["R2"].deadline = hours(168.5)
    t.overdue("R2", at=hours(168.5))
    t.answered("R2", at=hours(172.5), on_time=False)
    t.answered("R4", at=hours(241.5), on_time=True)
    return t
