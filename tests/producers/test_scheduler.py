"""The exercise scheduler runs actions when exercise time reaches them, tells each action
its planned moment, and reads the clock again for every action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from producers.scheduler import ExerciseScheduler
from schemas.clock import ManualClock

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


async def test_actions_get_their_planned_moment_not_the_time_they_ran() -> None:
    clock = ManualClock(T0)
    scheduler = ExerciseScheduler(clock)
    ran: list[datetime] = []

    async def note(moment: datetime) -> None:
        ran.append(moment)

    scheduler.at(T0 + HOUR, note)
    scheduler.at(T0 + 2 * HOUR, note)
    clock.advance(3 * 3600)  # the loop got round to them late

    assert await scheduler.run_due() == 2
    assert ran == [T0 + HOUR, T0 + 2 * HOUR]


async def test_the_clock_is_read_again_for_every_action() -> None:
    # An action that takes a while (a send) while the clock starts over (a new exercise
    # whose time begins earlier): what was queued meanwhile must wait for its own time.
    clock = ManualClock(T0 + 72 * HOUR)
    scheduler = ExerciseScheduler(clock)
    ran: list[str] = []

    async def first(moment: datetime) -> None:
        ran.append("first")
        clock.set(T0)  # the next exercise starts at T0
        scheduler.at(T0 + 24 * HOUR, later)

    async def later(moment: datetime) -> None:
        ran.append("later")

    scheduler.at(T0 + 71 * HOUR, first)

    await scheduler.run_due()

    assert ran == ["first"]
    assert len(scheduler) == 1


async def test_clear_drops_what_is_pending() -> None:
    scheduler = ExerciseScheduler(ManualClock(T0))

    async def never(moment: datetime) -> None:
        raise AssertionError("dropped actions never run")

    scheduler.at(T0 + HOUR, never)
    scheduler.at(T0 + 2 * HOUR, never)

    assert scheduler.clear() == 2
    assert len(scheduler) == 0
