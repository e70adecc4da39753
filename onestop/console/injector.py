"""Injects sent by hand from the console, and the checks a trainer's form goes through.

An inject is written to its sender's outbox exactly as a simulated node writes it (the same
envelope, key and partition; the clock offset it was sent under; stamped with the exercise
moment it is sent at), so the hub cannot tell it from one of the scenario's. It is sent now,
at an exercise time, or once another request reached an outcome, as scenario injects can.
On a secure broker it is written with the sending party's own login, as its node would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from onestop.console.board import RequestBoard
from onestop.console.models import BoardEntry, FieldProblem, InjectWhen, ManualInject
from onestop.exercise.plan import inject_message
from onestop.exercise.scenario import Inject, parse_offset
from producers.scheduler import ExerciseScheduler
from schemas.access import KafkaAccess, KafkaTarget, client_options
from schemas.clock import ExerciseClock
from schemas.clock_feed import ClockFeed
from schemas.enums import Country, MessageKind, Outcome, Urgency
from schemas.envelope import encode
from schemas.messages import MessageBase
from schemas.refusals import explained
from schemas.topics import Topics


class InjectProblem(ValueError):
    """A manual inject that cannot be sent: what is wrong, field by field."""

    def __init__(self, detail: str, fields: list[FieldProblem]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


def _problems(exc: ValidationError, prefix: str = "") -> list[FieldProblem]:
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or None
        field_name = f"{prefix}{where}" if where else (prefix.rstrip(".") or None)
        problems.append(
            FieldProblem(field=field_name, message=error["msg"].removeprefix("Value error, "))
        )
    return problems


#: The form's own field names (the rest of a message's fields come in its payload).
FORM_FIELDS = frozenset({field.alias or name for name, field in ManualInject.model_fields.items()})


def _summary(problems: list[FieldProblem]) -> str:
    return "the inject is not valid: " + "; ".join(
        f"{p.field}: {p.message}" if p.field else p.message for p in problems
    )


@dataclass(frozen=True)
class Planned:
    """A checked inject: its scenario form, its message id, and when to send it."""

    inject: Inject
    request_id: str
    at: datetime | None  # None: when `after` reaches `outcome`
    after: str | None = None  # request id waited for
    outcome: Outcome | None = None
    delay: timedelta = timedelta(0)


def check_inject(
    form: ManualInject,
    *,
    run_id: str,
    parties: frozenset[object],
    trainees: frozenset[object],
    now: datetime,
    known: set[str],
    number: int,
) -> Planned:
    """`form` checked as the hub and the scenario loader would check it; raises
    InjectProblem naming every field that is wrong."""
    inject_id = form.id or f"manual-{number}"
    request_id = f"{run_id}.{inject_id}"
    problems: list[FieldProblem] = []
    for name, party in (("from", form.sender), ("to", form.recipient)):
        if parties and party not in parties:
            problems.append(
                FieldProblem(field=name, message=f"{party.value} is not in the exercise")
            )
    if form.sender in trainees:
        problems.append(
            FieldProblem(field="from", message=f"{form.sender.value} is played by a trainee")
        )
    if form.sender is form.recipient:
        problems.append(FieldProblem(field="to", message="from and to are the same party"))
    if (
        form.kind is MessageKind.REQUEST
        and form.urgency is Urgency.URGENT
        and not (form.urgency_reason and form.urgency_reason.strip())
    ):
        problems.append(
            FieldProblem(
                field="urgency_reason", message="an urgent request needs its reason (Art. 4)"
            )
        )
    if request_id in known:
        problems.append(FieldProblem(field="id", message=f"{inject_id} is used already"))
    delay = timedelta(0)
    if form.delay:
        try:
            delay = parse_offset(form.delay)
        except ValueError as exc:
            problems.append(FieldProblem(field="delay", message=str(exc)))
    at: datetime | None = now
    after = outcome = None
    if form.when is InjectWhen.AT:
        if form.at is None:
            problems.append(FieldProblem(field="at", message="give the exercise time to send it"))
        elif form.at < now:
            problems.append(FieldProblem(field="at", message="that exercise time has passed"))
        at = form.at
    elif form.when is InjectWhen.AFTER:
        if not form.after_inject or form.after_outcome is None:
            problems.append(
                FieldProblem(
                    field="after_inject", message="name the inject and the outcome to wait for"
                )
            )
        else:
            after = f"{run_id}.{form.after_inject}"
            outcome = Outcome(form.after_outcome)
            if after not in known:
                problems.append(
                    FieldProblem(field="after_inject", message=f"no request {form.after_inject}")
                )
        at = None
    try:
        inject = Inject.model_validate(
            {
                "id": inject_id,
                "at": 0,
                "from": form.sender,
                "to": form.recipient,
                "kind": form.kind,
                "urgency": form.urgency,
                "urgency_reason": form.urgency_reason,
                "accessibility": form.accessibility,
                "subject": form.subject,
                "handling_code": form.handling_code,
                "language": form.language,
                "payload": form.payload,
            }
        )
        inject_message(inject, run_id, now)  # the wire model's own checks
    except ValidationError as exc:
        named = {p.field for p in problems}
        for problem in _problems(exc):
            if problem.field is None and named:
                continue  # a model-wide error already named by its field above
            top = (problem.field or "").split(".")[0]
            if problem.field and top not in FORM_FIELDS:
                # A kind-specific field: it came in the payload.
                problem = problem.model_copy(update={"field": f"payload.{problem.field}"})
            problems.append(problem)
        raise InjectProblem(_summary(problems), problems) from exc
    if problems:
        raise InjectProblem(_summary(problems), problems)
    return Planned(inject, request_id, at, after, outcome, delay)


@dataclass
class Injector:
    """Sends manual injects for the console, on its own producers and scheduler: one
    producer for every sender, or on a secure broker one per sending party, logged in as
    that party (`party_access`: principal name -> its access), made when it first sends."""

    bootstrap: str
    topics: Topics
    clock: ExerciseClock
    clock_feed: ClockFeed
    board: RequestBoard
    waiting: list[Planned] = field(default_factory=list)
    sent: set[str] = field(default_factory=set)
    party_access: Callable[[str], KafkaAccess] | None = None

    def __post_init__(self) -> None:
        self.scheduler = ExerciseScheduler(self.clock)
        self._producers: dict[Country | None, AIOKafkaProducer] = {}
        self._opening = asyncio.Lock()
        self._started = False
        self.count = 0

    async def start(self) -> None:
        """Connect and start sending what falls due."""
        if self.party_access is None:
            await self._producer(None)
        self._started = True
        self.scheduler.start()

    def access(self, sender: Country | None) -> KafkaTarget:
        """How `sender`'s messages reach Kafka."""
        if sender is None or self.party_access is None:
            return self.bootstrap
        return self.party_access(sender.value)

    async def _producer(self, sender: Country | None) -> AIOKafkaProducer:
        """The producer of `sender` (None: the shared one), started when first needed."""
        key = sender if self.party_access is not None else None
        async with self._opening:
            producer = self._producers.get(key)
            if producer is None:
                access = self.access(key)
                producer = AIOKafkaProducer(
                    **client_options(access), acks="all", enable_idempotence=True, linger_ms=1
                )
                outbox = self.topics.outbox(key) if key is not None else None
                try:
                    async with explained(access, "write", outbox):
                        await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producers[key] = producer
            return producer

    async def stop(self) -> None:
        """Stop; injects not sent yet are dropped."""
        await self.scheduler.stop()
        self._started = False
        for producer in self._producers.values():
            with contextlib.suppress(Exception):
                await producer.stop()
        self._producers.clear()

    def known(self) -> set[str]:
        """Request ids in use: the board's, and the injects planned here."""
        planned = {p.request_id for p in self.waiting} | self.sent
        return set(self.board.entries) | planned

    def plan(self, planned: Planned, run_id: str) -> None:
        """Send `planned` when its time comes."""
        self.count += 1
        if planned.at is not None:
            self._schedule(planned, planned.at, run_id)
        else:
            self.waiting.append(planned)

    def entry_changed(self, entry: BoardEntry, run_id: str) -> None:
        """A request moved: send the injects that waited for its outcome."""
        for planned in list(self.waiting):
            if planned.after != entry.request_id:
                continue
            reached = _reached(entry, planned.outcome)
            if reached is not None:
                self.waiting.remove(planned)
                self._schedule(planned, reached + planned.delay, run_id)

    def _schedule(self, planned: Planned, at: datetime, run_id: str) -> None:
        async def send(moment: datetime) -> None:
            await self.publish(inject_message(planned.inject, run_id, moment), moment)
            self.sent.add(planned.request_id)

        self.scheduler.at(at, send, f"manual inject {planned.inject.id}")

    async def publish(self, message: MessageBase, at: datetime) -> None:
        """Write `message` to its sender's outbox as a node does, sent at `at`."""
        assert self._started, "Injector.start() first"
        producer = await self._producer(message.sender)
        record = encode(message, extensions={"clockoffset": str(self.clock_feed.position)})
        outbox = self.topics.outbox(message.sender)
        async with explained(self.access(message.sender), "write", outbox):
            await asyncio.shield(
                producer.send_and_wait(
                    outbox,
                    value=record.value,
                    key=record.key,
                    headers=record.headers,
                    timestamp_ms=self.clock.stamp_ms(at),
                )
            )


def _reached(entry: BoardEntry, outcome: Outcome | None) -> datetime | None:
    """When `entry` reached `outcome` (exercise time), or None if it has not."""
    if outcome is Outcome.OVERDUE and entry.overdue:
        return entry.deadline or entry.settled_at or entry.received_at
    if outcome is not None and entry.outcome is outcome and entry.settled_at is not None:
        return entry.settled_at
    return None
