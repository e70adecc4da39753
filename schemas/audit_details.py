"""What each kind of audit record says beyond its common fields: one pydantic model per
audit event, so that the exchange that writes them and the statistics, report and metrics
that read them agree on names and types.

On the wire a record's `details` is a JSON object; which model reads it follows from the
record's `event` (`details_model`). Only the fields a record was given are written
(`exclude_unset`), so a record read back and written again is byte for byte what it was:
its hash still verifies, also for trails written before these models existed.
Times are exercise time; durations are exercise seconds unless a name says hours.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas.deadlines import LimitBasis
from schemas.enums import (
    Accessibility,
    Channel,
    HandlingCode,
    MessageKind,
    RefusalGround,
    Urgency,
)


class Details(BaseModel):
    """Fields every record about a request carries: the kind of the request (not of the
    message) and its urgency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_kind: MessageKind | None = None
    urgency: Urgency | None = None
    input: str | None = None  # the record it came from, `<topic>/<partition>/<offset>`
    # Why the message was passed on to the record's `recipients`, when the operation
    # logged also disclosed it (Art. 25: a disclosure's justification). Trails before
    # 2026-12-06 logged that disclosure as a `delivered` record of its own instead.
    disclosure: str | None = None

    def wire(self) -> dict[str, Any]:
        """The details as written to the audit topic: only the fields that were given."""
        return self.model_dump(mode="json", exclude_unset=True)


class ReceivedDetails(Details):
    """An opening or one-way message was collected; for an opening, its clock started."""

    accessibility: Accessibility | None = None
    route_reason: str | None = None
    fallback_from: Channel | None = None
    requested_channel: Channel | None = None  # the sender's own choice, when it made one
    deviation: str | None = None  # the choice differs from Art. 13: a training finding
    handling_code: HandlingCode | None = None
    language: str | None = None
    sent_at: str | None = None  # the sender's exercise time, as it claimed it
    ce_time: str | None = None  # the sender's wall time (CloudEvents time)
    limit_seconds: float | None = None  # for an opening: None when no limit applies
    limit_basis: LimitBasis | None = None  # for an opening (trails before it lack it)
    limit_why: str | None = None  # the limit's basis for a person
    deadline: AwareDatetime | None = None


class DeliveredDetails(Details):
    """A message was disclosed to its recipient (trails before 2026-12-06: the hub now
    logs the disclosure in the record of the operation that caused it)."""


class AnswerDetails(Details):
    """An answer moved the request on: a reply, refusal, partial reply, acknowledgement,
    clarification request or reply, or delay notice."""

    grounds: list[RefusalGround] | None = None
    answer_seconds: float | None = None  # receipt to settlement, for a settling answer
    on_time: bool | None = None  # the hub's verdict at settlement
    deadline: AwareDatetime | None = None  # the deadline from now on, when the clock runs
    expected_delay_hours: float | None = None  # a delay notice's announced delay
    reason: str | None = None  # a delay notice's reason


class OverdueDetails(Details):
    """The request's time limit passed before it was settled."""

    deadline: AwareDatetime
    delayed: bool = False


class RejectedDetails(BaseModel):
    """Bad input kept in the dead-letter topic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str  # a stable code such as `invalid`, `wrong_sender`, `bad_state`
    deadletter_id: str  # `<topic>/<partition>/<offset>` of the input

    def wire(self) -> dict[str, Any]:
        """The details as written to the audit topic: only the fields that were given."""
        return self.model_dump(mode="json", exclude_unset=True)


class ControlDetails(BaseModel):
    """Exercise control acted on the clock: part of the exercise's record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str  # a `ClockAction` value
    clock_offset: int  # where the command sits on the clock topic
    exercise_id: str
    actor: str | None = None
    reason: str | None = None
    speed: float | None = None
    jump_seconds: float | None = None

    def wire(self) -> dict[str, Any]:
        """The details as written to the audit topic: only the fields that were given."""
        return self.model_dump(mode="json", exclude_unset=True)


AuditDetails = (
    ReceivedDetails
    | DeliveredDetails
    | AnswerDetails
    | OverdueDetails
    | RejectedDetails
    | ControlDetails
)

#: Which model reads the details of a record of each event (by the event's value).
DETAILS_OF_EVENT: Final[dict[str, type[BaseModel]]] = {
    "received": ReceivedDetails,
    "delivered": DeliveredDetails,
    "answered": AnswerDetails,
    "refused": AnswerDetails,
    "partially_answered": AnswerDetails,
    "clarification_requested": AnswerDetails,
    "clarified": AnswerDetails,
    "delayed": AnswerDetails,
    "acknowledged": AnswerDetails,
    "overdue": OverdueDetails,
    "rejected": RejectedDetails,
    "exercise_control": ControlDetails,
}


def details_model(event: str) -> type[BaseModel]:
    """The details model of records of `event` (an `AuditEvent` value)."""
    try:
        return DETAILS_OF_EVENT[event]
    except KeyError:
        raise ValueError(f"no audit event {event!r}") from None
