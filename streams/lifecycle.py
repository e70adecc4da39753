"""A request's life at the hub (pure): the entry the hub keeps for it, and how answers move it.

The deadline is counted in exercise time from receipt. A clarification request pauses the
clock until the requester answers; a delay notice (judicial authorisation, Art. 5(2))
suspends it until the answer. `elapsed` holds the running time counted before the current
run; the deadline is `running_since + (limit - elapsed)` while the clock runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

from schemas.audit import AuditEvent
from schemas.enums import (
    Accessibility,
    Channel,
    Country,
    MessageKind,
    RefusalGround,
    RequestState,
    Urgency,
)
from schemas.messages import ONE_WAY_KINDS

SETTLED_STATES = frozenset({RequestState.ANSWERED, RequestState.REFUSED, RequestState.CLOSED})


class RequestEntry(BaseModel):
    """What the hub keeps about one request (or one-way message, for deduplication).
    Times are exercise time; durations are exercise seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str
    case_id: str
    kind: MessageKind
    opened_by: str  # message id of the opening message
    requester: Country
    requested: Country
    language: str
    channel: Channel
    urgency: Urgency | None = None
    accessibility: Accessibility | None = None
    partition: int
    state: RequestState
    received_at: AwareDatetime
    limit_seconds: float | None = None
    elapsed_seconds: float = 0.0
    running_since: AwareDatetime | None = None
    overdue: bool = False
    delayed: bool = False
    settled_at: AwareDatetime | None = None
    handled: tuple[str, ...] = ()  # ids of the messages already processed for it
    exercise_id: str | None = None  # the exercise running when it was received

    @property
    def deadline(self) -> datetime | None:
        """When the request falls overdue, if its clock runs; None when settled or paused."""
        if self.limit_seconds is None or self.running_since is None or self.settled:
            return None
        return self.running_since + timedelta(seconds=self.limit_seconds - self.elapsed_seconds)

    @property
    def settled(self) -> bool:
        """Answered, refused or closed."""
        return self.state in SETTLED_STATES

    @property
    def one_way(self) -> bool:
        """A message that opens no request (nothing to answer, no deadline)."""
        return self.kind in ONE_WAY_KINDS


class Transition(BaseModel):
    """The effect of one answer on a request."""

    model_config = ConfigDict(frozen=True)

    event: AuditEvent
    before: RequestEntry
    after: RequestEntry


class LifecycleError(ValueError):
    """An answer that the request's state does not allow; the message says why."""


def _stopped(request: RequestEntry, now: datetime) -> dict[str, object]:
    """Fields that stop the request's clock at `now`."""
    if request.running_since is None:
        return {}
    ran = (now - request.running_since).total_seconds()
    return {"elapsed_seconds": request.elapsed_seconds + max(ran, 0.0), "running_since": None}


def apply_answer(
    request: RequestEntry,
    kind: MessageKind,
    message_id: str,
    now: datetime,
    grounds: list[RefusalGround] | None = None,
) -> Transition:
    """The request after an answer of `kind` received at exercise time `now`.

    Raises LifecycleError when the state does not allow it (for example a reply to a
    request already settled, or a clarification reply nobody asked for)."""
    if request.settled:
        raise LifecycleError(
            f"request {request.request_id} is already {request.state.value}; "
            f"a {kind.value} cannot follow"
        )
    handled = (*request.handled, message_id)
    update: dict[str, object] = {"handled": handled}
    match kind:
        case MessageKind.REPLY | MessageKind.PRUM_RESULT:
            event = AuditEvent.ANSWERED
            update |= _stopped(request, now) | {
                "state": RequestState.ANSWERED,
                "settled_at": now,
            }
        case MessageKind.REFUSAL:
            event = AuditEvent.REFUSED
            update |= _stopped(request, now) | {"state": RequestState.REFUSED, "settled_at": now}
        case MessageKind.PARTIAL_REPLY:
            event = AuditEvent.PARTIALLY_ANSWERED
        case MessageKind.ACKNOWLEDGEMENT:
            event = AuditEvent.ACKNOWLEDGED
        case MessageKind.CLARIFICATION_REQUEST:
            if request.state is RequestState.CLARIFICATION_PENDING:
                raise LifecycleError(f"request {request.request_id} already awaits a clarification")
            event = AuditEvent.CLARIFICATION_REQUESTED
            update |= _stopped(request, now) | {"state": RequestState.CLARIFICATION_PENDING}
        case MessageKind.CLARIFICATION_REPLY:
            if request.state is not RequestState.CLARIFICATION_PENDING:
                raise LifecycleError(
                    f"request {request.request_id} awaits no clarification "
                    f"(state {request.state.value})"
                )
            event = AuditEvent.CLARIFIED
            resumed = not request.delayed
            update |= {
                "state": RequestState.DELIVERED if resumed else RequestState.AWAITING_JUDICIAL_AUTH,
                "running_since": now if resumed else None,
            }
        case MessageKind.DELAY_NOTICE:
            if request.delayed:
                raise LifecycleError(f"request {request.request_id} is already delayed")
            event = AuditEvent.DELAYED
            update |= _stopped(request, now) | {
                "state": RequestState.AWAITING_JUDICIAL_AUTH,
                "delayed": True,
            }
        case _:
            raise LifecycleError(f"a {kind.value} does not answer a request")
    return Transition(event=event, before=request, after=request.model_copy(update=update))


def mark_overdue(request: RequestEntry, now: datetime) -> RequestEntry | None:
    """The request flagged overdue if its deadline has passed at `now`, else None."""
    deadline = request.deadline
    if request.overdue or deadline is None or deadline > now:
        return None
    return request.model_copy(update={"overdue": True})
