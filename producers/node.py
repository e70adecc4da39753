"""A simulated national SPOC: answers what reaches its inbox the way its profile says, and
sends the requests it is told to send. Kafka stays outside: messages go out through the
injected `send` (with the exercise moment they are sent at), and come in through `receive`
(with the moment the hub received them).

Its decisions are the same in every run of an exercise with the same seed: they are drawn
from the seed, the party and the request's name in the scenario (its id without the run's
prefix), and timed from the hub's receipt of the request, not from when this process got
round to reading it. A running exercise's START carries the seed and the parties' profiles,
so every node process plays the scenario's parties alike."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from producers.metrics import NodeMetrics
from producers.profile import Plan, Step, plan_answer, request_rng
from producers.scheduler import ExerciseScheduler
from schemas.clock import ExerciseClock
from schemas.enums import Country, MessageKind, PrumOutcome, Urgency
from schemas.messages import (
    OPENING_KINDS,
    Acknowledgement,
    ClarificationReply,
    ClarificationRequest,
    DelayNotice,
    MessageBase,
    PartialReply,
    PrumResult,
    Refusal,
    Reply,
    kind_of,
)
from schemas.profiles import NodeProfile

log = logging.getLogger(__name__)

# Writes a message to the outbox; the moment is the exercise time it is sent at.
Send = Callable[[MessageBase, datetime], Awaitable[None]]
# Called when the node has finished with an inbox message (all its answers sent).
Done = Callable[[], None]

SETTLING = {
    MessageKind.REPLY: "answered",
    MessageKind.PRUM_RESULT: "answered",
    MessageKind.REFUSAL: "refused",
}


@dataclass
class SentRequest:
    """What a node knows of a request it sent."""

    request_id: str
    recipient: Country
    kind: MessageKind
    sent_at: datetime
    status: str = "sent"  # sent, answered, refused
    overdue: bool = False
    events: list[str] = field(default_factory=list)


@dataclass
class ReceivedRequest:
    """A request this node must answer."""

    opening: MessageBase
    received_at: datetime
    plan: Plan
    done: Done | None = None


class SimulatedNode:
    """One country's (or organisation's) SPOC."""

    def __init__(
        self,
        country: Country,
        profile: NodeProfile,
        clock: ExerciseClock,
        scheduler: ExerciseScheduler,
        send: Send,
        metrics: NodeMetrics,
        seed: int = 0,
    ) -> None:
        self.country = country
        self._profile = profile
        self.clock = clock
        self.scheduler = scheduler
        self._send = send
        self.metrics = metrics
        self._seed = seed
        self.sent: dict[str, SentRequest] = {}
        self.received: dict[str, ReceivedRequest] = {}
        self.inbox_ids: set[str] = set()

    # ---- out -------------------------------------------------------------------------

    async def send(self, message: MessageBase) -> None:
        """Write `message` to this node's outbox, sent at its `sent_at` (and remember the
        requests it opens)."""
        kind = kind_of(message)
        if kind in OPENING_KINDS and message.request_id not in self.sent:
            self.sent[message.request_id] = SentRequest(
                message.request_id, message.recipient, kind, message.sent_at
            )
        await self._send(message, message.sent_at)
        self.metrics.sent.labels(self.country.value, kind.value).inc()

    def forget(self) -> None:
        """Forget every request sent and received (a new exercise begins)."""
        self.sent.clear()
        self.received.clear()
        self.inbox_ids.clear()

    @property
    def seed(self) -> int:
        """The seed of the running exercise (from its START), else the node's own."""
        setup = self.clock.setup
        return setup.seed if setup is not None else self._seed

    @property
    def profile(self) -> NodeProfile:
        """This party's profile in the running exercise (from its START), else its own."""
        setup = self.clock.setup
        if setup is not None and self.country in setup.profiles:
            profile: NodeProfile = setup.profiles[self.country]
            return profile
        return self._profile

    def scenario_name(self, request_id: str) -> str:
        """`request_id` without the running exercise's prefix (`<exercise id>.`): the same
        in every run of the scenario."""
        exercise = self.clock.exercise_id
        return request_id.removeprefix(f"{exercise}.") if exercise else request_id

    # ---- in --------------------------------------------------------------------------

    def receive(
        self, message: MessageBase, done: Done | None = None, received_at: datetime | None = None
    ) -> None:
        """Take one inbox message, received by the hub at exercise time `received_at`
        (default: now). `done` is called once everything it causes was sent (at once for a
        message that needs no answer)."""
        received_at = received_at or self.clock.now()
        if message.message_id in self.inbox_ids:
            self.metrics.duplicates.labels(self.country.value).inc()
            if done:
                done()
            return
        self.inbox_ids.add(message.message_id)
        kind = kind_of(message)
        self.metrics.received.labels(self.country.value, kind.value).inc()
        if kind in OPENING_KINDS and message.recipient is self.country:
            self._plan(message, done, received_at)
            return
        self._note_answer(message, kind, received_at)
        if done:
            done()

    def _plan(self, opening: MessageBase, done: Done | None, received_at: datetime) -> None:
        if opening.request_id in self.received:
            if done:
                done()
            return
        name = self.scenario_name(opening.request_id)
        rng = request_rng(self.seed, self.country.value, name)
        urgent = getattr(opening, "urgency", None) is Urgency.URGENT
        plan = plan_answer(kind_of(opening), urgent, self.profile, rng)
        entry = ReceivedRequest(opening, received_at, plan, done)
        self.received[opening.request_id] = entry
        self._schedule(entry, plan.steps, received_at, final=not plan.after_clarification)

    def _schedule(
        self, entry: ReceivedRequest, steps: tuple[Step, ...], base: datetime, final: bool
    ) -> None:
        for index, step in enumerate(steps):
            last = final and index == len(steps) - 1

            async def act(moment: datetime, step: Step = step, last: bool = last) -> None:
                await self.send(self._answer(entry.opening, step, moment))
                if last and entry.done:
                    entry.done()

            self.scheduler.at(base + timedelta(seconds=step.after), act, f"{step.kind}")

    def _note_answer(self, message: MessageBase, kind: MessageKind, received_at: datetime) -> None:
        mine = self.sent.get(message.request_id)
        if mine is not None:
            mine.events.append(kind.value)
            if kind in SETTLING:
                mine.status = SETTLING[kind]
            elif kind is MessageKind.OVERDUE_NOTICE:
                mine.overdue = True
            elif kind is MessageKind.CLARIFICATION_REQUEST:
                self._clarify(message, received_at)
            return
        theirs = self.received.get(message.request_id)
        if theirs is not None and kind is MessageKind.CLARIFICATION_REPLY:
            self._schedule(theirs, theirs.plan.after_clarification, received_at, final=True)

    def _clarify(self, question: MessageBase, received_at: datetime) -> None:
        async def reply(moment: datetime) -> None:
            answer = (
                f"Clarification for request {question.request_id}: the subject is the person "
                "named in the case file; the period is the last 12 months."
            )
            await self.send(
                ClarificationReply.model_validate(
                    {**self._envelope(question, "clarification_reply", moment), "answer": answer}
                )
            )

        moment = received_at + timedelta(minutes=self.profile.clarification_minutes)
        self.scheduler.at(moment, reply, "clarification_reply")

    # ---- message building ------------------------------------------------------------

    def _envelope(self, about: MessageBase, suffix: str, moment: datetime) -> dict[str, object]:
        """Fields of an answer to `about` sent at exercise time `moment`: same case and
        request, back to its sender."""
        return {
            "message_id": f"{about.request_id}.{self.country.value}.{suffix}",
            "case_id": about.case_id,
            "request_id": about.request_id,
            "sender": self.country,
            "recipient": about.sender,
            "language": about.language,
            "handling_code": about.handling_code,
            "sent_at": moment,
        }

    def _answer(self, opening: MessageBase, step: Step, moment: datetime) -> MessageBase:
        base = self._envelope(opening, step.kind.value, moment)
        subject = getattr(opening, "subject", opening.request_id)
        choices: dict[MessageKind, tuple[type[MessageBase], dict[str, object]]] = {
            MessageKind.ACKNOWLEDGEMENT: (Acknowledgement, {}),
            MessageKind.REPLY: (
                Reply,
                {"information": f"{self.country.value} SPOC: information on {subject}"},
            ),
            MessageKind.PARTIAL_REPLY: (
                PartialReply,
                {"information": f"first part on {subject}", "remaining": "the rest follows"},
            ),
            MessageKind.REFUSAL: (
                Refusal,
                {"grounds": list(step.grounds), "explanation": "refused under Art. 6(1)"},
            ),
            MessageKind.CLARIFICATION_REQUEST: (
                ClarificationRequest,
                {"question": f"Please specify the period and identity for {subject}"},
            ),
            MessageKind.DELAY_NOTICE: (
                DelayNotice,
                {
                    "expected_delay_hours": step.delay_hours,
                    "reason": "judicial authorisation required (Art. 5(2))",
                },
            ),
            MessageKind.PRUM_RESULT: (
                PrumResult,
                {"outcome": step.prum_outcome or PrumOutcome.NO_HIT},
            ),
        }
        model, fields = choices[step.kind]
        return model.model_validate({**base, **fields})
