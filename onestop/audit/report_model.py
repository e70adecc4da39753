"""The after-action report's shape (pure): one request as the report shows it, the
summary, compliance and answer-time tables, refusals, clarifications and delays, the
timeline of exercise control and observations, the desks and the Art. 18 figures.
Times are exercise time as ISO 8601 with a Z; durations are exercise hours."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from onestop.audit.desks import DeskAssessment
from onestop.audit.statistics import Art18Statistics
from schemas.enums import Outcome


class RequestRow(BaseModel):
    """One request as the report shows it. Times: exercise time, ISO 8601 with Z;
    durations: exercise hours."""

    model_config = ConfigDict(extra="forbid")

    request_id: str
    case_id: str | None
    from_: str = Field(serialization_alias="from", description="Requesting party")
    to: str = Field(description="Requested party")
    kind: str
    urgency: str | None
    accessibility: str | None
    channel: str | None
    channel_reason: str | None = Field(description="Why the hub chose the channel (Art. 13)")
    fallback_from: str | None = Field(
        description="The channel the rule chose, when it was down (Art. 13(c))"
    )
    received_at: str
    limit_hours: float | None = Field(description="None: no limit applies")
    limit_basis: str | None = Field(description="Where the limit comes from")
    limit_why: str | None
    under_rule_set: bool = Field(description="Between parties bound by the rule set")
    original_deadline: str | None = Field(description="Deadline set at receipt")
    deadline: str | None = Field(description="Final deadline (a clarification moves it)")
    settled_at: str | None
    outcome: Outcome
    on_time: bool = Field(description="Open and not overdue: on time so far")
    answer_hours: float | None = Field(description="Receipt to settlement")
    overdue_flagged: bool
    clarifications: int
    delayed: bool = Field(description="A judicial-authorisation delay notice was sent")
    exceeded_for_judicial_authorisation: bool
    refusal_grounds: list[str]


class Summary(BaseModel):
    """The figures at the top of the report."""

    model_config = ConfigDict(extra="forbid")

    requests: int
    answered: int
    refused: int
    overdue: int = Field(description="Flagged overdue and not settled")
    open: int = Field(description="Neither settled nor overdue")
    on_time: int
    late: int
    on_time_share: float | None = Field(description="on_time / requests (open count so far)")
    one_way_messages: int = Field(description="Spontaneous information, notices, diffusions")
    rejected: int = Field(description="Inputs rejected to the dead-letter topic")
    clarification_requests: int
    delayed: int
    records: int = Field(description="Audit records read, duplicates included")
    unique_records: int
    duplicates: int = Field(description="Records seen again (redelivery after a crash)")
    first_received_at: str | None
    as_of: str | None = Field(description="Latest exercise time on the trail")


class ComplianceRow(BaseModel):
    """How one group kept its time limits."""

    model_config = ConfigDict(extra="forbid")

    group: str
    requests: int
    on_time: int
    late: int
    share: float | None = Field(description="on_time / requests")


class Compliance(BaseModel):
    """Time-limit compliance per requested party, per channel and per urgency."""

    model_config = ConfigDict(extra="forbid")

    by_country: list[ComplianceRow]
    by_channel: list[ComplianceRow]
    by_urgency: list[ComplianceRow]


class CounterpartRow(BaseModel):
    """Exchanges with one party outside the rule set (Europol, Interpol, a third country):
    not counted in the Art. 18 statistics, shown on their own."""

    model_config = ConfigDict(extra="forbid")

    counterpart: str
    requests: int
    answered: int
    refused: int
    open: int = Field(description="Neither settled nor overdue")
    overdue: int
    limits: list[str] = Field(description="The limits that applied, and why")


class AnswerTimeRow(BaseModel):
    """Answer times (receipt to reply or refusal) of one group, in exercise hours."""

    model_config = ConfigDict(extra="forbid")

    group: str
    settled: int
    p50_hours: float | None
    p90_hours: float | None
    max_hours: float | None


class AnswerTimes(BaseModel):
    """Answer-time percentiles per channel and per urgency."""

    model_config = ConfigDict(extra="forbid")

    by_channel: list[AnswerTimeRow]
    by_urgency: list[AnswerTimeRow]


class GroundCount(BaseModel):
    """Refusals on one ground of Art. 6(1)."""

    model_config = ConfigDict(extra="forbid")

    ground: str
    refusals: int


class ClarificationRow(BaseModel):
    """A request on which clarification was asked."""

    model_config = ConfigDict(extra="forbid")

    request_id: str
    from_: str = Field(serialization_alias="from")
    to: str
    clarifications: int
    deadline: str | None = Field(description="Final deadline, after the clock's pauses")


class DelayRow(BaseModel):
    """A request delayed for judicial authorisation (Art. 5(2))."""

    model_config = ConfigDict(extra="forbid")

    request_id: str
    from_: str = Field(serialization_alias="from")
    to: str
    delayed_at: str | None
    expected_delay_hours: float | None
    reason: str | None
    original_deadline: str | None
    settled_at: str | None
    exceeded: bool = Field(description="Settled after, or still open past, the original deadline")


class TimelineNote(BaseModel):
    """An act of exercise control (a clock command, from the audit trail) or an
    observation, on the exercise's timeline. Times: exercise time, ISO 8601 with Z."""

    model_config = ConfigDict(extra="forbid")

    exercise_time: str
    wall_time: str
    what: str = Field(description="'clock <action>' or 'observation'")
    by: str
    text: str
    request_id: str | None = None
    party: str | None = None


class ChainCheck(BaseModel):
    """The audit trail's hash-chain check."""

    model_config = ConfigDict(extra="forbid")

    intact: bool
    records: int
    unique: int
    duplicates: int
    faults: list[str]


class Report(BaseModel):
    """The after-action report of one exercise."""

    model_config = ConfigDict(extra="forbid")

    exercise: dict[str, Any]
    summary: Summary
    requests: list[RequestRow]
    compliance: Compliance
    answer_times: AnswerTimes
    refusals_by_ground: list[GroundCount]
    clarifications: list[ClarificationRow]
    delays: list[DelayRow]
    art18: Art18Statistics
    outside_rule_set: list[CounterpartRow] = Field(
        description="Exchanges with Europol, Interpol and third countries"
    )
    timeline: list[TimelineNote] = Field(
        default_factory=list, description="Exercise control's acts and observations, in order"
    )
    desks: list[DeskAssessment] = Field(
        default_factory=list, description="How each trainee desk did"
    )
    chain: ChainCheck
