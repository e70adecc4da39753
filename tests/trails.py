"""Audit trails written by the real exchange: messages fed to `streams.exchange.Exchange` at
chosen exercise times, its audit records sealed into per-partition hash chains as the hub's
auditor does. Statistics and report tests read what the hub writes, not a copy of it.

    trail = ExchangeTrail()
    trail.request("R1", Country.PL, Country.LT, at=T0, urgency=Urgency.URGENT)
    trail.answer("R1", MessageKind.REPLY, at=T0 + timedelta(hours=2))
    records = trail.records
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.audit import AuditRecord, ChainHead
from schemas.deadlines import DIRECTIVE_2023_977, RuleSet
from schemas.enums import (
    Accessibility,
    Country,
    MessageKind,
    RefusalGround,
    Urgency,
)
from schemas.envelope import encode
from schemas.messages import ANSWER_KINDS_FROM_REQUESTER, MessageBase
from schemas.topics import Topics, partition_for
from streams.effects import Effects, Inbound
from streams.exchange import Exchange
from streams.lifecycle import RequestEntry
from streams.routing import RoutingConfig
from tests.factories import make_message

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def hours(h: float) -> datetime:
    """Exercise time `h` hours after T0."""
    return T0 + timedelta(hours=h)


@dataclass
class ExchangeTrail:
    """An exchange and the audit trail it writes, in the order written (each partition's
    chain intact). Wall time is taken equal to exercise time."""

    rules: RuleSet = DIRECTIVE_2023_977
    topics: Topics = field(default_factory=lambda: Topics("onestop"))
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    records: list[AuditRecord] = field(default_factory=list)
    store: dict[str, RequestEntry] = field(default_factory=dict)
    _heads: dict[int, ChainHead] = field(default_factory=dict)
    _offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    _serial: int = 0

    def __post_init__(self) -> None:
        self.exchange = Exchange(self.topics, self.rules, self.routing, self.store)

    # ---- feeding the exchange ----------------------------------------------------------

    def send(self, message: MessageBase, at: datetime) -> Effects:
        """`message` read from its sender's outbox at exercise time `at`."""
        record = encode(message, wall_time=at)
        assert record.key is not None
        partition = partition_for(record.key, self.topics.partitions)
        topic = self.topics.outbox(message.sender)
        offset = self._offsets.get((topic, partition), 0)
        self._offsets[(topic, partition)] = offset + 1
        inbound = Inbound(
            topic, partition, offset, record.key, record.value, record.headers, at.timestamp()
        )
        return self._seal(self.exchange.receive(inbound, at, at))

    def due(self, at: datetime) -> list[Effects]:
        """The hub's deadline check at exercise time `at`: every request whose deadline
        has come is flagged overdue."""
        due = [r for r in list(self.store.values()) if r.deadline is not None and r.deadline <= at]
        return [
            self._seal(self.exchange.deadline_due(r.request_id, at, at))
            for r in sorted(due, key=lambda r: (r.deadline or at, r.request_id))
        ]

    def redeliver(self, record: AuditRecord) -> AuditRecord:
        """`record` written again after a crash: same record id, chained at the head."""
        return self._append(record)

    def _seal(self, effects: Effects) -> Effects:
        for record in effects.audit:
            self._append(record)
        return effects

    def _append(self, record: AuditRecord) -> AuditRecord:
        head = self._heads.setdefault(record.partition, ChainHead())
        sealed = head.seal(record)
        self.records.append(sealed)
        return sealed

    # ---- messages ------------------------------------------------------------------------

    def request(
        self,
        request_id: str,
        requester: Country,
        requested: Country,
        *,
        at: datetime,
        kind: MessageKind = MessageKind.REQUEST,
        urgency: Urgency = Urgency.NON_URGENT,
        accessibility: Accessibility = Accessibility.DIRECT,
        **fields: Any,
    ) -> Effects:
        """An opening (or one-way) message from `requester` to `requested`."""
        if kind is MessageKind.REQUEST:
            fields |= {"urgency": urgency, "accessibility": accessibility}
            if urgency is Urgency.URGENT:
                fields.setdefault("urgency_reason", "imminent threat to life (Art. 4)")
        message = make_message(
            kind,
            message_id=request_id,
            request_id=request_id,
            case_id=f"case-{request_id}",
            sender=requester,
            recipient=requested,
            sent_at=at,
            **fields,
        )
        return self.send(message, at)

    def answer(self, request_id: str, kind: MessageKind, *, at: datetime, **fields: Any) -> Effects:
        """An answer of `kind` on `request_id`, from the party that sends such answers."""
        opened = self.store[request_id]
        sender, recipient = opened.requested, opened.requester
        if kind in ANSWER_KINDS_FROM_REQUESTER:
            sender, recipient = recipient, sender
        self._serial += 1
        message = make_message(
            kind,
            message_id=f"{request_id}.{kind.value}.{self._serial}",
            request_id=request_id,
            case_id=opened.case_id,
            sender=sender,
            recipient=recipient,
            language=opened.language,
            sent_at=at,
            **fields,
        )
        return self.send(message, at)

    def refuse(self, request_id: str, grounds: list[RefusalGround], *, at: datetime) -> Effects:
        """A refusal of `request_id` on `grounds`."""
        return self.answer(request_id, MessageKind.REFUSAL, at=at, grounds=grounds)

    def delay(
        self, request_id: str, *, at: datetime, hours: float, reason: str = "court order"
    ) -> Effects:
        """A delay notice for judicial authorisation (Art. 5(2))."""
        return self.answer(
            request_id,
            MessageKind.DELAY_NOTICE,
            at=at,
            expected_delay_hours=hours,
            reason=reason,
        )


def worked_scenario() -> ExchangeTrail:
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
       clarified at T0+7h: deadline moves from 12:00+8h = 20:00 to 22:00 (T0+14h); flagged
       overdue then; open.
    R6 LT->DE Prüm query (15 min), received T0+2h, hit/no-hit after 5 min.
    Also: one spontaneous information PL->DE (no clock), one rejected input (a second reply
    to R1), and R1's reply and R3's refusal recorded twice (redelivery after a crash).
    """
    t = ExchangeTrail()
    t.request("R1", Country.PL, Country.LT, at=T0, urgency=Urgency.URGENT)
    t.request("R2", Country.PL, Country.DE, at=hours(0.5))
    t.request(
        "R3",
        Country.LT,
        Country.PL,
        at=hours(1),
        urgency=Urgency.URGENT,
        accessibility=Accessibility.INDIRECT,
    )
    t.request("R4", Country.DE, Country.PL, at=hours(1.5), accessibility=Accessibility.INDIRECT)
    t.answer("R1", MessageKind.REPLY, at=hours(2))
    t.redeliver(t.records[-1])  # the ANSWERED record
    t.request("R6", Country.LT, Country.DE, at=hours(2), kind=MessageKind.PRUM_QUERY)
    t.answer("R6", MessageKind.PRUM_RESULT, at=hours(2) + timedelta(minutes=5))
    t.refuse("R3", [RefusalGround.NATIONAL_SECURITY], at=hours(3))
    r3_refusal = t.records[-1]
    t.answer("R1", MessageKind.REPLY, at=hours(3))  # a second reply: rejected, bad state
    t.redeliver(r3_refusal)
    t.request("R5", Country.PL, Country.LT, at=hours(4), urgency=Urgency.URGENT)
    t.request("SI1", Country.PL, Country.DE, at=hours(5), kind=MessageKind.SPONTANEOUS_INFORMATION)
    t.answer("R5", MessageKind.CLARIFICATION_REQUEST, at=hours(5))
    t.answer("R5", MessageKind.CLARIFICATION_REPLY, at=hours(7))
    t.due(hours(14))
    t.delay("R4", at=hours(25.5), hours=240)
    t.due(hours(168.5))
    t.answer("R2", MessageKind.REPLY, at=hours(172.5))
    t.answer("R4", MessageKind.REPLY, at=hours(241.5))
    return t
