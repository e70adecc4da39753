"""The exercise clock: commands on the clock topic, and the pure fold that turns them into
"now" in exercise time. Everything that needs the time asks a `Clock`, so tests drive time
by hand and nothing sleeps to wait for a deadline."""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.deadlines import RuleSet
from schemas.enums import Channel, Country
from schemas.profiles import NodeProfile


class ClockAction(StrEnum):
    """What a clock command does."""

    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    SPEED = "speed"
    JUMP = "jump"
    END = "end"  # the exercise is over: time stands still, nodes stop answering


class ChannelOutage(BaseModel):
    """A channel down between two instants of exercise time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel
    start: AwareDatetime
    end: AwareDatetime


class ExerciseSetup(BaseModel):
    """What an exercise configures when it starts, for the hub: the rule set, PCCCs and
    liaison officers by pair of parties, and channel outages; for every node process: the
    seed of all random choices and the behaviour profile of each simulated party."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    profiles: dict[Country, NodeProfile] = Field(default_factory=dict)
    trainees: list[Country] = Field(
        default_factory=list, description="Parties played by trainees: no node answers them"
    )
    exercise_end: AwareDatetime | None = Field(
        default=None, description="When the scenario ends, in exercise time"
    )
    rules: RuleSet | None = None
    pcccs: list[tuple[Country, Country]] = Field(default_factory=list)
    liaison_officers: list[tuple[Country, Country]] = Field(default_factory=list)
    outages: list[ChannelOutage] = Field(default_factory=list)

    def down_at(self, moment: datetime) -> frozenset[Channel]:
        """Channels down at exercise time `moment`."""
        return frozenset(o.channel for o in self.outages if o.start <= moment < o.end)


class ClockCommand(BaseModel):
    """One command on the clock topic. `issued_at` is the wall time it takes effect."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exercise_id: str = Field(min_length=1, max_length=80)
    action: ClockAction
    issued_at: AwareDatetime
    exercise_start: AwareDatetime | None = Field(default=None, description="For start")
    speed: float | None = Field(
        default=None, gt=0, le=1_000_000, description="Exercise seconds per wall second"
    )
    jump_seconds: float | None = Field(
        default=None, ge=0, description="For jump: exercise seconds to skip forward"
    )
    setup: ExerciseSetup | None = Field(default=None, description="For start")
    reason: str | None = Field(
        default=None, max_length=300, description="Why exercise control gave it (audited)"
    )
    actor: str | None = Field(
        default=None, max_length=40, description="Who gave it: the runner, a console role"
    )


class Clock(Protocol):
    """Anything that tells exercise time."""

    def now(self) -> datetime:
        """The current exercise time (timezone-aware UTC)."""
        ...


@dataclass(frozen=True)
class _Segment:
    """From wall time `wall` on, exercise time runs from `exercise` at `speed` (or stands)."""

    wall: float
    exercise: datetime
    speed: float
    paused: bool
    begins_run: bool = False  # a START: exercise time before it belongs to another run


class ExerciseClock:
    """Exercise time as a function of wall time, driven by clock commands.

    Before any command it runs at wall time, speed 1. It keeps every segment, so the exercise
    time of a past wall instant (a record's timestamp) is exact even after later commands.
    Wall time comes from `wall`, injectable for tests."""

    def __init__(self, wall: Clock | None = None) -> None:
        self._wall = wall
        self.exercise_id: str | None = None
        self.setup: ExerciseSetup | None = None
        self.ended = False  # the running exercise was ended (ClockAction.END)
        self.exercises: set[str] = set()  # ids of every exercise started on this clock
        self._on_change: list[Callable[[ClockCommand], None]] = []
        self._segments: list[_Segment] = [_Segment(0.0, datetime.fromtimestamp(0, UTC), 1.0, False)]

    @property
    def speed(self) -> float:
        """Exercise seconds per wall second, now."""
        return self._segments[-1].speed

    @property
    def paused(self) -> bool:
        """Whether exercise time stands still, now."""
        return self._segments[-1].paused

    def _wall_now(self) -> float:
        return self._wall.now().timestamp() if self._wall else time.time()

    def at(self, wall: float) -> datetime:
        """The exercise time at wall instant `wall` (epoch seconds)."""
        index = bisect.bisect_right(self._segments, wall, key=lambda seg: seg.wall) - 1
        seg = self._segments[max(index, 0)]
        if seg.paused:
            return seg.exercise
        return seg.exercise + timedelta(seconds=(wall - seg.wall) * seg.speed)

    def now(self) -> datetime:
        """The current exercise time."""
        return self.at(self._wall_now())

    def before(self, seconds: float) -> datetime:
        """The exercise time `seconds` of wall time ago, but not before the running
        exercise started (earlier wall time belongs to another run)."""
        wall = self._wall_now() - seconds
        started = self.run_started
        return self.at(max(wall, started) if started is not None else wall)

    def on_change(self, listener: Callable[[ClockCommand], None]) -> None:
        """Call `listener` with every command after it is applied (an exercise starting or
        ending is something a component must react to at once)."""
        self._on_change.append(listener)

    @property
    def run_started(self) -> float | None:
        """The wall instant (epoch seconds) the running exercise started, or None before
        any START."""
        return next((seg.wall for seg in reversed(self._segments) if seg.begins_run), None)

    def wall_at(self, moment: datetime) -> float | None:
        """The wall instant (epoch seconds) at which exercise time reached `moment` in the
        latest run of the clock, or None when it has not reached it (yet). A moment skipped
        by a jump was reached at the jump."""
        target = moment.timestamp()
        later: _Segment | None = None
        for seg in reversed(self._segments):
            start = seg.exercise.timestamp()
            if target >= start:
                if seg.paused:
                    reached = seg.wall if target == start else math.inf  # it stood still
                else:
                    reached = seg.wall + (target - start) / seg.speed
                if later is not None and reached > later.wall:
                    reached = later.wall  # skipped by the jump that began `later`
                return reached if reached <= self._wall_now() else None
            if seg.begins_run:
                return None
            later = seg
        return None

    def stamp_ms(self, moment: datetime) -> int | None:
        """The Kafka record timestamp (epoch milliseconds) of a message sent at exercise
        time `moment`: the first whole millisecond whose exercise time is not before it, or
        None when the clock has not reached `moment`. At a high speed a millisecond spans
        many exercise seconds and float rounding in `wall_at` can land a hair short of the
        moment; such a stamp is moved to the next millisecond."""
        wall = self.wall_at(moment)
        if wall is None:
            return None
        stamp = math.ceil(wall * 1000)
        if self.at(stamp / 1000) < moment:
            stamp += 1
        return stamp

    def wall_seconds_until(self, moment: datetime) -> float | None:
        """Wall seconds until exercise time reaches `moment`; None while paused."""
        if self.paused:
            return None
        return max(0.0, (moment - self.now()).total_seconds() / self.speed)

    def apply(self, command: ClockCommand) -> None:
        """Fold one command into the clock, as of its `issued_at` wall time."""
        wall = command.issued_at.timestamp()
        # A command older than the newest segment (out of order) replaces what followed it.
        while len(self._segments) > 1 and self._segments[-1].wall > wall:
            self._segments.pop()
        current = self.at(wall)
        speed, paused = self.speed, self.paused
        match command.action:
            case ClockAction.START:
                self.exercises.add(command.exercise_id)
                self.exercise_id = command.exercise_id
                self.setup = command.setup
                self.ended = False
                current = command.exercise_start or current
                speed = command.speed or 1.0
                paused = False
            case ClockAction.END:
                self.ended = True
                paused = True
            case ClockAction.PAUSE:
                paused = True
            case ClockAction.RESUME:
                paused = False
            case ClockAction.SPEED:
                speed = command.speed or speed
            case ClockAction.JUMP:
                current = current + timedelta(seconds=command.jump_seconds or 0.0)
        begins_run = command.action is ClockAction.START
        self._segments.append(_Segment(wall, current, speed, paused, begins_run))
        for listener in self._on_change:
            listener(command)


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        """Now, timezone-aware UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock moved by hand, for tests and pure simulations."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        """The time set last."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`."""
        self._now += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        """Set the time."""
        self._now = moment
