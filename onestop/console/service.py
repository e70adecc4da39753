"""The console's parts put together: access, live view, exercise runs, manual injects,
clock commands and observations. Every act of exercise control goes to Kafka like any
client's: clock commands (with who and why, audited by the hub), injects (on the sender's
outbox), observations (on their topic).

On a secure broker each of its clients logs in as its own principal: the live view as
``reader``, clock commands and observations as ``clock`` (exercise control), injects and
desk messages as the party whose outbox they go to, exercises it plays as the runner
does (`onestop.exercise.runner`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from onestop.console.access import Access, Grant
from onestop.console.board import due_soon_after_speed, overdue_after_jump
from onestop.console.desks import (
    DeskAnswer,
    DeskOpening,
    DeskProblem,
    answer_message,
    opening_message,
)
from onestop.console.events import EventLog
from onestop.console.injector import Injector, check_inject
from onestop.console.live import ConsoleLive
from onestop.console.models import (
    BoardEntry,
    Desks,
    DeskSent,
    DeskSummary,
    DeskView,
    ExerciseStatus,
    InjectAccepted,
    ManualInject,
    NewObservation,
    Preview,
    Role,
    Status,
)
from onestop.console.runs import ConsoleRuns
from onestop.exercise.clock_control import publish_clock
from onestop.kafka.credentials import KafkaLogins
from schemas.access import CLOCK, READER
from schemas.clock import ClockAction, ClockCommand
from schemas.enums import Country
from schemas.messages import kind_of
from schemas.observations import Observation
from schemas.refusals import explained
from schemas.topics import Topics


class ControlError(RuntimeError):
    """A command that does not fit the exercise's state (a jump while running, no
    exercise running); the message says what to do."""


@dataclass
class ConsoleSettings:
    """Where a console works: the broker, the namespace, its reports."""

    bootstrap: str
    namespace: str = "onestop"
    partitions: int = 4
    reports: Path = Path("reports/console")
    logins: KafkaLogins | None = None  # a secure broker's credentials (None: plain)

    @property
    def kafka(self) -> KafkaLogins:
        """The console's logins (plain ones at `bootstrap` when none were given)."""
        return self.logins or KafkaLogins(self.bootstrap)


class ConsoleService:
    """One console: started with the web server, stopped with it."""

    def __init__(self, settings: ConsoleSettings, access: Access | None = None) -> None:
        self.settings = settings
        self.topics = Topics(settings.namespace, settings.partitions)
        self.access = access or Access.fresh()
        self.events = EventLog()
        logins = settings.kafka
        self.control = logins.access(CLOCK)
        self.live = ConsoleLive(logins.access(READER), self.topics, self.events)
        self.runs = ConsoleRuns(
            logins,
            settings.namespace,
            settings.partitions,
            settings.reports,
            self._exercise_changed,
        )
        self.injector = Injector(
            logins.bootstrap,
            self.topics,
            self.live.clock,
            self.live.clock_feed,
            self.live.board,
            party_access=logins.access if logins.secure else None,
        )
        self._producer: AIOKafkaProducer | None = None
        self._sent = 0  # messages sent from desks, for their ids

    async def start(self) -> None:
        """Connect to Kafka and catch up with the namespace."""
        self.live.clock.on_change(self._clock_changed)
        await self.live.start()
        self.live.on_entry = self._entry_changed
        await self.injector.start()
        self._producer = AIOKafkaProducer(**self.control.client_options(), acks="all")
        async with explained(self.control, "write", self.topics.observations):
            await self._producer.start()  # stop() stops it, started or not

    async def stop(self) -> None:
        """End this console's exercise, disconnect."""
        await self.runs.stop()
        await self.injector.stop()
        if self._producer is not None:
            await self._producer.stop()
        await self.live.stop()

    def _exercise_changed(self, status: ExerciseStatus) -> None:
        self.events.publish("exercise", status)

    def _entry_changed(self, entry: BoardEntry) -> None:
        run_id = self.live.clock.exercise_id
        if run_id:
            self.injector.entry_changed(entry, run_id)

    def _clock_changed(self, command: ClockCommand) -> None:
        if command.action is ClockAction.START and command.setup is not None:
            for party in command.setup.trainees:
                grant = Grant(Role.DESK, party)
                if self.access.code_of(grant) is None:
                    code = self.access.issue(grant)
                    print(f"  desk {party.value} code: {code}", flush=True)

    # ---- trainee desks -----------------------------------------------------------------------

    def trainees(self) -> frozenset[Country]:
        """The parties trainees play in the running exercise."""
        setup = self.live.clock.setup
        return frozenset(setup.trainees) if setup else frozenset()

    def desks(self, with_codes: bool) -> Desks:
        """What each trainee desk has waiting, and how close it is to its limits."""
        entries = self.live.board.open_entries()
        summaries = []
        for party in sorted(self.trainees()):
            waiting = [e for e in entries if e.to is party]
            deadlines = [e.deadline for e in waiting if e.deadline is not None and not e.overdue]
            summaries.append(
                DeskSummary(
                    party=party,
                    code=self.access.code_of(Grant(Role.DESK, party)) if with_codes else None,
                    waiting=len(waiting),
                    overdue=sum(1 for e in waiting if e.overdue),
                    next_deadline=min(deadlines, default=None),
                )
            )
        return Desks(desks=summaries)

    def desk_view(self, party: Country) -> DeskView:
        """The desk of `party`: its inbox and its own requests."""
        entries = list(self.live.board.entries.values())
        inbox = [e for e in entries if e.to is party]
        outgoing = [e for e in entries if e.from_ is party]
        order = self.live.board.sort_key
        return DeskView(
            party=party,
            clock=self.live.clock_state(),
            inbox=sorted(inbox, key=order),
            outgoing=sorted(outgoing, key=order),
        )

    async def desk_answer(self, party: Country, action: DeskAnswer) -> DeskSent:
        """Send `party`'s answer on one of its requests, as its node would."""
        self._running_exercise()
        entry = self.live.board.entries.get(action.request_id)
        if entry is None or party not in (entry.from_, entry.to):
            raise DeskProblem(
                f"no request {action.request_id!r} at the {party.value} desk", [], 404
            )
        self._sent += 1
        message_id = f"{entry.request_id}.{party.value}.{action.kind}.{self._sent}"
        now = self.live.clock.now()
        message = answer_message(
            party, entry, action, message_id, entry.case_id or entry.request_id, entry.language, now
        )
        await self.injector.publish(message, now)
        return DeskSent(message_id=message_id, request_id=entry.request_id, kind=kind_of(message))

    async def desk_open(self, party: Country, action: DeskOpening) -> DeskSent:
        """Send a request (or one-way message) `party`'s desk opens."""
        run_id = self._running_exercise()
        self._sent += 1
        request_id = f"{run_id}.{party.value}-desk-{self._sent}"
        setup = self.live.clock.setup
        parties = frozenset(setup.profiles) if setup else frozenset()
        now = self.live.clock.now()
        try:
            message = opening_message(party, action, request_id, parties, now)
        except DeskProblem as problem:
            if any(f.field == "urgency_reason" for f in problem.fields):
                await self._finding(party, "missing_urgency_reason",
                                    f"the {party.value} desk tried to send an urgent request "
                                    "without its reason (Art. 4)")  # fmt: skip
            raise
        await self.injector.publish(message, now)
        return DeskSent(message_id=message.message_id, request_id=request_id, kind=kind_of(message))

    async def _finding(self, party: Country, finding: str, text: str) -> None:
        """An observation the console makes itself: a training finding at a desk."""
        note = NewObservation(text=text, party=party)
        await self.observe(note, "console", finding=finding)

    # ---- status ----------------------------------------------------------------------------

    def status(self) -> Status:
        """The exercise, its clock and the links, now."""
        return Status(
            clock=self.live.clock_state(),
            exercise=self.runs.status,
            health=self.live.health,
            last_event_id=self.events.last_id,
        )

    # ---- the clock -------------------------------------------------------------------------

    def _running_exercise(self) -> str:
        clock = self.live.clock
        if clock.exercise_id is None or clock.ended:
            raise ControlError("no exercise is running: start one first")
        return clock.exercise_id

    async def steer(
        self,
        action: ClockAction,
        reason: str,
        actor: str,
        *,
        speed: float | None = None,
        jump_seconds: float | None = None,
    ) -> None:
        """Publish a clock command for the running exercise, with who gave it and why."""
        exercise_id = self._running_exercise()
        clock = self.live.clock
        if action is ClockAction.JUMP and not clock.paused:
            raise ControlError("a jump is only allowed while the clock is paused: pause first")
        if action is ClockAction.PAUSE and clock.paused:
            raise ControlError("the clock is paused already")
        if action is ClockAction.RESUME and not clock.paused:
            raise ControlError("the clock is running already")
        command = ClockCommand(
            exercise_id=exercise_id,
            action=action,
            issued_at=datetime.now(UTC),
            speed=speed,
            jump_seconds=jump_seconds,
            reason=reason,
            actor=actor,
        )
        offset = await publish_clock(self.control, self.topics, command)
        await self.live.clock_feed.wait_for(offset + 1, wait_seconds=5.0)

    def preview_jump(self, seconds: float) -> Preview:
        """The open requests a jump of `seconds` would make overdue."""
        now = self.live.clock.now()
        affected = overdue_after_jump(self.live.board.open_entries(), now, seconds)
        return Preview(change=f"jump {seconds:g} s", affected=affected)

    def preview_speed(self, speed: float) -> Preview:
        """The open requests that would fall due within ten wall minutes at `speed`."""
        now = self.live.clock.now()
        affected = due_soon_after_speed(self.live.board.open_entries(), now, speed)
        return Preview(change=f"speed {speed:g}", affected=affected)

    async def end(self, reason: str, actor: str) -> None:
        """End the running exercise: this console's run, or any other by its clock."""
        if self.runs.busy:
            self.runs.end(reason, actor)
            return
        await self.steer(ClockAction.END, reason, actor)

    # ---- injects and observations ----------------------------------------------------------

    def inject(self, form: ManualInject) -> InjectAccepted:
        """Check a manual inject and plan it; raises InjectProblem when it is not valid."""
        run_id = self._running_exercise()
        setup = self.live.clock.setup
        planned = check_inject(
            form,
            run_id=run_id,
            parties=frozenset(setup.profiles) if setup else frozenset(),
            trainees=frozenset(setup.trainees) if setup else frozenset(),
            now=self.live.clock.now(),
            known=self.injector.known(),
            number=self.injector.count + 1,
        )
        self.injector.plan(planned, run_id)
        return InjectAccepted(
            inject_id=planned.inject.id, request_id=planned.request_id, scheduled_for=planned.at
        )

    async def observe(
        self, note: NewObservation, author: str, finding: str | None = None
    ) -> Observation:
        """Store an observation on its topic, stamped with exercise and wall time."""
        assert self._producer is not None, "ConsoleService.start() first"
        now = datetime.now(UTC)
        observation = Observation(
            observation_id=uuid.uuid4().hex,
            exercise_id=self.live.clock.exercise_id,
            author=author,
            wall_time=now,
            exercise_time=self.live.clock.at(now.timestamp()),
            text=note.text,
            request_id=note.request_id,
            party=note.party,
            finding=finding,
        )
        async with explained(self.control, "write", self.topics.observations):
            await self._producer.send_and_wait(
                self.topics.observations,
                value=observation.model_dump_json().encode(),
                key=(observation.exercise_id or "none").encode(),
            )
        return observation
