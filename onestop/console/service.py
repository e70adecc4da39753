"""The console's parts put together: access, live view, exercise runs, manual injects,
clock commands and observations. Every act of exercise control goes to Kafka like any
client's: clock commands (with who and why, audited by the hub), injects (on the sender's
outbox), observations (on their topic)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer

from onestop.console.access import Access
from onestop.console.board import due_soon_after_speed, overdue_after_jump
from onestop.console.events import EventLog
from onestop.console.injector import Injector, check_inject
from onestop.console.live import ConsoleLive
from onestop.console.models import (
    BoardEntry,
    ExerciseStatus,
    InjectAccepted,
    ManualInject,
    NewObservation,
    Preview,
    Status,
)
from onestop.console.runs import ConsoleRuns
from onestop.exercise.clock_control import publish_clock
from schemas.clock import ClockAction, ClockCommand
from schemas.observations import Observation
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


class ConsoleService:
    """One console: started with the web server, stopped with it."""

    def __init__(self, settings: ConsoleSettings, access: Access | None = None) -> None:
        self.settings = settings
        self.topics = Topics(settings.namespace, settings.partitions)
        self.access = access or Access.fresh()
        self.events = EventLog()
        self.live = ConsoleLive(settings.bootstrap, self.topics, self.events)
        self.runs = ConsoleRuns(
            settings.bootstrap,
            settings.namespace,
            settings.partitions,
            settings.reports,
            self._exercise_changed,
        )
        self.injector = Injector(
            settings.bootstrap, self.topics, self.live.clock, self.live.clock_feed, self.live.board
        )
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect to Kafka and catch up with the namespace."""
        await self.live.start()
        self.live.on_entry = self._entry_changed
        await self.injector.start()
        self._producer = AIOKafkaProducer(bootstrap_servers=self.settings.bootstrap, acks="all")
        await self._producer.start()

    async def stop(self) -> None:
        """End this console's exercise, disconnect."""
        await self.runs.stop()
        await self.injector.stop()
        if self._producer is not None:
            await self._producer.stop()
        await self.live.stop()

    def _exercise_changed(self, status: ExerciseStatus) -> None:
        if status.run_id and self.runs.scenario is not None:
            self.live.exercise_end = self.runs.scenario.clock.start + self.runs.scenario.clock.end
        self.events.publish("exercise", status)

    def _entry_changed(self, entry: BoardEntry) -> None:
        run_id = self.live.clock.exercise_id
        if run_id:
            self.injector.entry_changed(entry, run_id)

    # ---- status ----------------------------------------------------------------------------

    def status(self) -> Status:
        """The exercise, its clock and the links, now."""
        return Status(
            clock=self.live.clock_state(), exercise=self.runs.status, health=self.live.health
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
        offset = await publish_clock(self.settings.bootstrap, self.topics, command)
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

    async def observe(self, note: NewObservation, author: str) -> Observation:
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
        )
        await self._producer.send_and_wait(
            self.topics.observations,
            value=observation.model_dump_json().encode(),
            key=(observation.exercise_id or "none").encode(),
        )
        return observation
