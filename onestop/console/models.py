"""What the console's HTTP API takes and gives: the contract between the server and its
page (and any script a trainer writes against it; OpenAPI at `/api/openapi.json`).

Times are ISO 8601 with a UTC offset; `exercise_*` times are exercise time, `wall_*` times
are wall time; durations are seconds unless a name says otherwise.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.enums import (
    Accessibility,
    Channel,
    Country,
    HandlingCode,
    MessageKind,
    Outcome,
    RequestState,
    Urgency,
)
from schemas.observations import Observation

Reason = Field(min_length=1, max_length=300, description="Why: it goes into the audit trail")


class Role(StrEnum):
    """Who a session is: exercise control, a watcher, or a trainee at a party's desk."""

    TRAINER = "trainer"
    OBSERVER = "observer"
    DESK = "desk"


class Strict(BaseModel):
    """A request body: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


# ---- sessions -----------------------------------------------------------------------------


class Login(Strict):
    code: str = Field(
        min_length=1, max_length=100, description="An access code the console printed"
    )


class Session(BaseModel):
    role: Role
    party: Country | None = Field(default=None, description="The desk's party, for a desk")


# ---- status ---------------------------------------------------------------------------------


class ClockState(BaseModel):
    """The exercise clock as of `wall_time`: the page runs it on from there (exercise time
    advances `speed` seconds per wall second unless paused)."""

    exercise_id: str | None
    wall_time: AwareDatetime
    exercise_time: AwareDatetime
    speed: float
    paused: bool
    ended: bool
    exercise_start: AwareDatetime | None = None
    exercise_end: AwareDatetime | None = Field(default=None, description="The scenario's end")
    parties: list[Country] = Field(default_factory=list, description="The exercise's parties")
    trainees: list[Country] = Field(default_factory=list, description="Played by trainees")


class ExercisePhase(StrEnum):
    IDLE = "idle"
    STARTING = "starting"
    RUNNING = "running"
    ENDING = "ending"  # past its end: the requests already sent settle
    ENDED = "ended"
    FAILED = "failed"


class ExerciseStatus(BaseModel):
    phase: ExercisePhase
    scenario: str | None = None
    run_id: str | None = None
    seed: int | None = None
    speed: float | None = None
    started_by_console: bool = Field(
        default=False, description="Played by this console (it can send injects and end it)"
    )
    ended_by: str | None = None
    report: str | None = Field(default=None, description="URL of the after-action report")
    error: str | None = None
    trainee_parties: list[Country] = Field(default_factory=list)


class Health(BaseModel):
    """Links: who is connected, and how far behind the hub is."""

    checked_at: AwareDatetime | None = None
    hub_members: int = 0
    nodes: dict[str, int] = Field(default_factory=dict, description="Party -> live members")
    hub_lag: int | None = Field(default=None, description="Outbox records not yet read")
    kafka: bool = Field(default=True, description="Kafka answered the last check")


class Status(BaseModel):
    clock: ClockState
    exercise: ExerciseStatus
    health: Health
    last_event_id: int = Field(
        description="The newest event as of this status: follow /api/events from there"
    )


# ---- the deadline board ---------------------------------------------------------------------


class BoardEntry(BaseModel):
    """A request of the running exercise as the audit trail tells it."""

    request_id: str
    name: str = Field(description="Its name in the scenario: the id without the run's prefix")
    case_id: str | None = None
    language: str = "en"
    kind: MessageKind
    from_: Country = Field(serialization_alias="from")
    to: Country
    urgency: Urgency | None = None
    accessibility: Accessibility | None = None
    channel: Channel | None = None
    received_at: AwareDatetime
    limit_seconds: float | None = None
    limit_why: str | None = None
    deadline: AwareDatetime | None = Field(default=None, description="While its clock runs")
    remaining_seconds: float | None = Field(
        default=None, description="Left of its limit while its clock is stopped"
    )
    state: RequestState
    outcome: Outcome
    overdue: bool = False
    settled_at: AwareDatetime | None = None
    trainee_desk: bool = Field(default=False, description="The requested party is a trainee")


class Board(BaseModel):
    entries: list[BoardEntry]


class Step(BaseModel):
    """One audit record of a request, and where it sits on Kafka."""

    record_id: str
    event: str
    operation: str
    actor: str
    exercise_time: AwareDatetime
    wall_time: AwareDatetime
    justification: str
    sender: Country | None = None
    recipient: Country | None = None
    channel: Channel | None = None
    state_before: RequestState | None = None
    state_after: RequestState | None = None
    details: dict[str, Any]
    topic: str
    partition: int
    offset: int


class RawEvent(BaseModel):
    """A record as Kafka holds it: a CloudEvent in binary mode (attributes in headers)."""

    topic: str
    partition: int
    offset: int
    timestamp: AwareDatetime | None
    key: str | None
    headers: dict[str, str]
    data: Any


class Inspection(BaseModel):
    request: BoardEntry
    steps: list[Step]
    raw: list[RawEvent]


# ---- clock control ----------------------------------------------------------------------


class Pause(Strict):
    reason: str = Reason


class Resume(Strict):
    reason: str = Reason


class SpeedChange(Strict):
    speed: float = Field(gt=0, le=1_000_000, description="Exercise seconds per wall second")
    reason: str = Reason


class Jump(Strict):
    by: str = Field(
        min_length=1,
        max_length=20,
        description="How far forward in exercise time: '02:00', '1d', '1d 06:00' or minutes",
    )
    reason: str = Reason


class EndExercise(Strict):
    reason: str = Reason


class Preview(BaseModel):
    """What a clock change would do: the open requests it affects."""

    change: str
    affected: list[BoardEntry]


# ---- starting an exercise -----------------------------------------------------------------


class ScenarioInfo(BaseModel):
    file: str
    name: str
    description: str
    nodes: list[Country]
    trainees: list[Country] = Field(default_factory=list)
    injects: int
    speed: float
    seed: int
    end: str


class ScenarioText(Strict):
    text: str = Field(min_length=1, max_length=200_000, description="A scenario file's YAML")


class FieldProblem(BaseModel):
    """One thing wrong with an input: where (a line of a file, a field) and what."""

    line: int | None = None
    field: str | None = None
    message: str


class ScenarioCheck(BaseModel):
    ok: bool
    name: str | None = None
    problems: list[FieldProblem] = Field(default_factory=list)


class StartExercise(Strict):
    scenario: str | None = Field(default=None, description="A shipped scenario's file name")
    text: str | None = Field(default=None, max_length=200_000, description="Or an uploaded one")
    speed: float | None = Field(default=None, gt=0, le=1_000_000)
    seed: int | None = None


# ---- injects and observations ---------------------------------------------------------------


class InjectWhen(StrEnum):
    NOW = "now"
    AT = "at"
    AFTER = "after"


class ManualInject(Strict):
    """A message of exercise control, sent as `from` exactly as a node sends it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$",
        max_length=40,
        description="Its name in the exercise; default: manual-<n>",
    )
    kind: MessageKind = MessageKind.REQUEST
    sender: Country = Field(alias="from")
    recipient: Country = Field(alias="to")
    urgency: Urgency = Urgency.NON_URGENT
    urgency_reason: str | None = Field(default=None, max_length=300)
    accessibility: Accessibility = Accessibility.DIRECT
    handling_code: HandlingCode = HandlingCode.H0
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    subject: str = Field(default="", max_length=300)
    payload: dict[str, Any] = Field(default_factory=dict)
    when: InjectWhen = InjectWhen.NOW
    at: AwareDatetime | None = Field(default=None, description="For `at`: exercise time")
    after_inject: str | None = Field(default=None, description="For `after`: its name")
    after_outcome: Literal["answered", "refused", "overdue"] | None = None
    delay: str | None = Field(
        default=None, max_length=20, description="For `after`: how long after, e.g. '00:30'"
    )


class InjectAccepted(BaseModel):
    inject_id: str
    request_id: str
    scheduled_for: AwareDatetime | None = Field(
        default=None, description="Exercise time; None: waits for another's outcome"
    )


class NewObservation(Strict):
    text: str = Field(min_length=1, max_length=2000)
    request_id: str | None = Field(default=None, max_length=80)
    party: Country | None = None


class Observations(BaseModel):
    observations: list[Observation]


class DeskView(BaseModel):
    """What a trainee's desk shows: the requests it must answer, and its own."""

    party: Country
    clock: ClockState
    inbox: list[BoardEntry] = Field(description="Requests to this party, soonest due first")
    outgoing: list[BoardEntry] = Field(description="Requests this party opened")


class DeskSummary(BaseModel):
    """A trainee desk as exercise control sees it."""

    party: Country
    code: str | None = Field(default=None, description="Its access code (exercise control only)")
    waiting: int = Field(description="Requests to it not settled")
    overdue: int
    next_deadline: AwareDatetime | None = None


class Desks(BaseModel):
    desks: list[DeskSummary]


class DeskSent(BaseModel):
    """A message a desk sent."""

    message_id: str
    request_id: str
    kind: MessageKind


class Problem(BaseModel):
    """An error a person can act on: what was wrong and where."""

    detail: str
    fields: list[FieldProblem] = Field(default_factory=list)
