"""What the audit trail says about each request, and the Art. 18 statistics (pure, no I/O).

The trail is the single source of truth: a request is an opening message the hub received
(an `AuditEvent.RECEIVED` record of an opening kind: a request, a SIRENE form, a Prüm query
or follow-up); everything after it is read from the records that name its request id. A
record redelivered after a crash has the same `record_id` and is counted once.

Directive (EU) 2023/977 Art. 18 asks, per Member State, for "the exchanges of information
with other Member States under this Directive": requests sent; requests received and
answered, split urgent / non-urgent and by requesting country; refusals by country and by
ground; time limits exceeded because of judicial authorisation, by country. Exchanges with
Europol, Interpol and third countries are not among them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from schemas.audit import AuditEvent, AuditRecord, exercise_iso
from schemas.audit_details import AnswerDetails, OverdueDetails, ReceivedDetails
from schemas.countries import EU_MEMBERS, SCHENGEN_ASSOCIATED
from schemas.deadlines import LimitBasis
from schemas.enums import Accessibility, Channel, Country, MessageKind, Outcome, Urgency
from schemas.messages import OPENING_KINDS

#: Kinds counted in the Art. 18 statistics by default: requests under Directive 2023/977.
#: SIRENE forms and Prüm queries fall under other instruments with their own statistics.
DIRECTIVE_KINDS: Final = frozenset({MessageKind.REQUEST})
#: Parties bound by the rule sets (`schemas.countries.bound_by`).
BOUND: Final = EU_MEMBERS | SCHENGEN_ASSOCIATED


def unique_records(records: Iterable[AuditRecord]) -> list[AuditRecord]:
    """`records` with each `record_id` kept once (its first occurrence), order kept."""
    seen: set[str] = set()
    unique: list[AuditRecord] = []
    for record in records:
        if record.record_id not in seen:
            seen.add(record.record_id)
            unique.append(record)
    return unique


@dataclass
class RequestHistory:
    """One request's life as the audit trail tells it. Times are exercise time (aware
    datetimes); durations are exercise seconds."""

    request_id: str
    case_id: str | None
    kind: MessageKind
    requester: Country
    requested: Country
    channel: Channel | None
    urgency: Urgency | None
    accessibility: Accessibility | None
    received_at: datetime
    limit_seconds: float | None  # None: no limit applies (outside the rule set)
    original_deadline: datetime | None
    deadline: datetime | None
    settled_at: datetime | None = None
    settlement: AuditEvent | None = None  # ANSWERED or REFUSED
    on_time_at_settlement: bool | None = None
    answer_seconds: float | None = None
    overdue: bool = False
    overdue_at: datetime | None = None
    clarifications: int = 0
    delayed: bool = False
    delayed_at: datetime | None = None
    expected_delay_hours: float | None = None
    delay_reason: str | None = None
    grounds: list[str] = field(default_factory=list)
    partial_answers: int = 0
    acknowledged: bool = False
    limit_basis: LimitBasis | None = None  # None on trails written before it was recorded
    limit_why: str | None = None
    route_reason: str | None = None
    fallback_from: Channel | None = None
    requested_channel: Channel | None = None
    deviation: str | None = None
    _deadline_seen: tuple[datetime, int] | None = field(default=None, repr=False, compare=False)

    @property
    def settled(self) -> bool:
        """Answered or refused."""
        return self.settlement is not None

    @property
    def outcome(self) -> Outcome:
        """answered / refused; overdue (flagged and not settled); else open."""
        if self.settlement is AuditEvent.ANSWERED:
            return Outcome.ANSWERED
        if self.settlement is AuditEvent.REFUSED:
            return Outcome.REFUSED
        return Outcome.OVERDUE if self.overdue else Outcome.OPEN

    @property
    def on_time(self) -> bool:
        """Settled: the hub's verdict at settlement. Unsettled: false once flagged overdue,
        true so far otherwise."""
        if self.settled:
            if self.on_time_at_settlement is not None:
                return self.on_time_at_settlement
            return not self.overdue
        return not self.overdue

    @property
    def under_rule_set(self) -> bool:
        """An exchange between two parties bound by the rule set (Member States and the
        Schengen associated states): what the Art. 18 statistics count."""
        return self.requester in BOUND and self.requested in BOUND

    @property
    def urgent(self) -> bool:
        """Urgent under Art. 4 (kinds without an urgency count as non-urgent)."""
        return self.urgency is Urgency.URGENT

    def exceeded_for_judicial_authorisation(self, as_of: datetime) -> bool:
        """Delayed for judicial authorisation and settled after its original deadline, or
        still unsettled at exercise time `as_of` past it (Art. 5(2), Art. 18)."""
        if not self.delayed or self.original_deadline is None:
            return False
        if self.settled_at is not None:
            return self.settled_at > self.original_deadline
        return as_of > self.original_deadline


def _open_history(record: AuditRecord) -> RequestHistory | None:
    """The history a RECEIVED record with a time limit starts, else None."""
    details = record.details
    if (
        record.event is not AuditEvent.RECEIVED
        or not isinstance(details, ReceivedDetails)
        or record.kind not in OPENING_KINDS
        or record.request_id is None
        or record.kind is None
        or record.sender is None
        or record.recipient is None
    ):
        return None
    return RequestHistory(
        request_id=record.request_id,
        case_id=record.case_id,
        kind=record.kind,
        requester=record.sender,
        requested=record.recipient,
        channel=record.channel,
        urgency=details.urgency,
        accessibility=details.accessibility,
        received_at=record.exercise_time,
        limit_seconds=details.limit_seconds,
        original_deadline=details.deadline,
        deadline=details.deadline,
        limit_basis=details.limit_basis,
        limit_why=details.limit_why,
        route_reason=details.route_reason,
        fallback_from=details.fallback_from,
        requested_channel=details.requested_channel,
        deviation=details.deviation,
    )


def _apply(history: RequestHistory, record: AuditRecord, index: int) -> None:
    """Fold one later record of the request into its history."""
    details = record.details
    deadline = details.deadline if isinstance(details, AnswerDetails | OverdueDetails) else None
    if deadline is not None:
        seen = (record.exercise_time, index)
        if history._deadline_seen is None or seen >= history._deadline_seen:
            history._deadline_seen = seen
            history.deadline = deadline
    answer = details if isinstance(details, AnswerDetails) else AnswerDetails()
    match record.event:
        case AuditEvent.ANSWERED | AuditEvent.REFUSED if not history.settled:
            history.settlement = record.event
            history.settled_at = record.exercise_time
            history.on_time_at_settlement = answer.on_time
            history.answer_seconds = (
                answer.answer_seconds
                if answer.answer_seconds is not None
                else (record.exercise_time - history.received_at).total_seconds()
            )
            history.grounds = sorted(g.value for g in answer.grounds or [])
        case AuditEvent.CLARIFICATION_REQUESTED:
            history.clarifications += 1
        case AuditEvent.DELAYED:
            history.delayed = True
            history.delayed_at = history.delayed_at or record.exercise_time
            history.expected_delay_hours = answer.expected_delay_hours
            history.delay_reason = answer.reason or None
        case AuditEvent.OVERDUE:
            history.overdue = True
            history.overdue_at = history.overdue_at or record.exercise_time
        case AuditEvent.PARTIALLY_ANSWERED:
            history.partial_answers += 1
        case AuditEvent.ACKNOWLEDGED:
            history.acknowledged = True
        case _:
            pass


def request_histories(records: Iterable[AuditRecord]) -> list[RequestHistory]:
    """Every request the trail shows, with what happened to it, sorted by receipt time
    then request id. Duplicates count once; rejected input and one-way messages (no time
    limit) are not requests."""
    unique = unique_records(records)
    histories: dict[str, RequestHistory] = {}
    for record in unique:
        history = _open_history(record)
        if history is not None and history.request_id not in histories:
            histories[history.request_id] = history
    for index, record in enumerate(unique):
        if record.request_id is None or record.event in (
            AuditEvent.RECEIVED,
            AuditEvent.REJECTED,
        ):
            continue
        history = histories.get(record.request_id)
        if history is not None:
            _apply(history, record, index)
    return sorted(histories.values(), key=lambda h: (h.received_at, h.request_id))


def trail_end(records: Iterable[AuditRecord]) -> datetime | None:
    """The latest exercise time on the trail: "now" for requests still open."""
    return max((r.exercise_time for r in records), default=None)


# ---- Art. 18 ----------------------------------------------------------------------------


class UrgencySplit(BaseModel):
    """A count split urgent / non-urgent."""

    model_config = ConfigDict(extra="forbid")

    urgent: int = 0
    non_urgent: int = 0
    total: int = 0

    def count(self, urgent: bool) -> None:
        """Add one."""
        if urgent:
            self.urgent += 1
        else:
            self.non_urgent += 1
        self.total += 1


class CountryFigures(BaseModel):
    """The Art. 18 figures of one party (or of all, with country "ALL")."""

    model_config = ConfigDict(extra="forbid")

    country: str
    requests_sent: int = 0
    requests_received: UrgencySplit = Field(default_factory=UrgencySplit)
    requests_received_by_requester: dict[str, UrgencySplit] = Field(default_factory=dict)
    requests_answered: UrgencySplit = Field(default_factory=UrgencySplit)
    requests_answered_by_requester: dict[str, UrgencySplit] = Field(default_factory=dict)
    refusals: int = Field(default=0, description="Requests this party refused")
    refusals_by_ground: dict[str, int] = Field(
        default_factory=dict, description="A refusal on two grounds counts under both"
    )
    judicial_delays: int = Field(
        default=0, description="Requests this party delayed for judicial authorisation"
    )
    time_limits_exceeded_judicial: int = Field(
        default=0,
        description="Of those, settled after (or still open past) the original deadline",
    )


class Art18Statistics(BaseModel):
    """Directive 2023/977 Art. 18 statistics, per party, from the audit trail."""

    model_config = ConfigDict(extra="forbid")

    as_of: str | None = Field(description="Exercise time (ISO 8601, Z) the figures hold at")
    kinds: list[str] = Field(description="Message kinds counted as requests")
    countries: list[CountryFigures]
    totals: CountryFigures


def _sorted_figures(figures: CountryFigures) -> CountryFigures:
    return figures.model_copy(
        update={
            "requests_received_by_requester": dict(
                sorted(figures.requests_received_by_requester.items())
            ),
            "requests_answered_by_requester": dict(
                sorted(figures.requests_answered_by_requester.items())
            ),
            "refusals_by_ground": dict(sorted(figures.refusals_by_ground.items())),
        }
    )


def art18_statistics(
    records: Iterable[AuditRecord],
    *,
    kinds: frozenset[MessageKind] = DIRECTIVE_KINDS,
    as_of: datetime | None = None,
) -> Art18Statistics:
    """The Art. 18 figures of every party on the trail, counting each record once.

    `kinds`: which opening kinds count as requests (default: Directive requests).
    `as_of`: exercise time at which unsettled requests are judged (default: the trail's
    latest exercise time). Received / answered / refusals / judicial figures belong to the
    requested party, "sent" to the requester; "answered" means settled by a reply."""
    records = list(records)
    end = as_of or trail_end(records)
    histories = [h for h in request_histories(records) if h.kind in kinds and h.under_rule_set]
    figures: dict[str, CountryFigures] = {}
    totals = CountryFigures(country="ALL")

    def of(country: Country) -> CountryFigures:
        return figures.setdefault(country.value, CountryFigures(country=country.value))

    for history in histories:
        requester = history.requester.value
        for target in (of(history.requester), totals):
            target.requests_sent += 1
        for target in (of(history.requested), totals):
            target.requests_received.count(history.urgent)
            target.requests_received_by_requester.setdefault(requester, UrgencySplit()).count(
                history.urgent
            )
            if history.settlement is AuditEvent.ANSWERED:
                target.requests_answered.count(history.urgent)
                target.requests_answered_by_requester.setdefault(requester, UrgencySplit()).count(
                    history.urgent
                )
            if history.settlement is AuditEvent.REFUSED:
                target.refusals += 1
                grounds = Counter(history.grounds)
                for ground, count in grounds.items():
                    target.refusals_by_ground[ground] = (
                        target.refusals_by_ground.get(ground, 0) + count
                    )
            if history.delayed:
                target.judicial_delays += 1
            if end is not None and history.exceeded_for_judicial_authorisation(end):
                target.time_limits_exceeded_judicial += 1
    return Art18Statistics(
        as_of=exercise_iso(end) if end else None,
        kinds=sorted(k.value for k in kinds),
        countries=[_sorted_figures(figures[c]) for c in sorted(figures)],
        totals=_sorted_figures(totals),
    )
