"""The exercise clock, driven by commands against a wall clock moved by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.clock import ClockAction, ClockCommand, ExerciseClock, ManualClock

WALL_START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
EXERCISE_START = datetime(2030, 6, 15, 6, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def command(
    action: ClockAction,
    at_wall_second: float,
    *,
    exercise_start: datetime | None = None,
    speed: float | None = None,
    jump_seconds: float | None = None,
) -> ClockCommand:
    """A clock command issued `at_wall_second` seconds after WALL_START."""
    return ClockCommand(
        exercise_id="EMPACT-THB-2030",
        action=action,
        issued_at=WALL_START + at_wall_second * SECOND,
        exercise_start=exercise_start,
        speed=speed,
        jump_seconds=jump_seconds,
    )


def wall_epoch(at_wall_second: float) -> float:
    """Epoch seconds of the wall instant `at_wall_second` after WALL_START."""
    return (WALL_START + at_wall_second * SECOND).timestamp()


@pytest.fixture
def wall() -> ManualClock:
    return ManualClock(WALL_START)


@pytest.fixture
def clock(wall: ManualClock) -> ExerciseClock:
    """Started at WALL_START: exercise time EXERCISE_START, 60 exercise seconds a second."""
    exercise = ExerciseClock(wall)
    exercise.apply(command(ClockAction.START, 0, exercise_start=EXERCISE_START, speed=60))
    return exercise


class TestBeforeStart:
    def test_runs_at_wall_time(self, wall: ManualClock) -> None:
        exercise = ExerciseClock(wall)
        wall.advance(90)

        assert exercise.now() == WALL_START + 90 * SECOND

    def test_has_no_exercise_yet(self, wall: ManualClock) -> None:
        exercise = ExerciseClock(wall)

        assert exercise.exercise_id is None
        assert exercise.speed == 1.0
        assert not exercise.paused


class TestStart:
    def test_starts_at_the_exercise_start(self, clock: ExerciseClock) -> None:
        assert clock.now() == EXERCISE_START

    def test_runs_at_the_given_speed(self, clock: ExerciseClock, wall: ManualClock) -> None:
        wall.advance(10)

        assert clock.now() == EXERCISE_START + 600 * SECOND

    def test_records_the_exercise(self, clock: ExerciseClock) -> None:
        assert clock.exercise_id == "EMPACT-THB-2030"
        assert clock.speed == 60

    def test_without_speed_runs_in_real_time(self, wall: ManualClock) -> None:
        exercise = ExerciseClock(wall)
        exercise.apply(command(ClockAction.START, 0, exercise_start=EXERCISE_START))
        wall.advance(10)

        assert exercise.now() == EXERCISE_START + 10 * SECOND

    def test_issued_in_the_past_counts_from_its_issue(self, wall: ManualClock) -> None:
        exercise = ExerciseClock(wall)
        wall.advance(5)
        exercise.apply(command(ClockAction.START, 0, exercise_start=EXERCISE_START, speed=60))

        assert exercise.now() == EXERCISE_START + 300 * SECOND


class TestPause:
    def test_exercise_time_stands_still(self, clock: ExerciseClock, wall: ManualClock) -> None:
        wall.advance(10)
        clock.apply(command(ClockAction.PAUSE, 10))
        wall.advance(3600)

        assert clock.paused
        assert clock.now() == EXERCISE_START + 600 * SECOND

    def test_jump_while_paused_stays_paused(self, clock: ExerciseClock, wall: ManualClock) -> None:
        clock.apply(command(ClockAction.PAUSE, 0))
        clock.apply(command(ClockAction.JUMP, 0, jump_seconds=3600))
        wall.advance(10)

        assert clock.paused
        assert clock.now() == EXERCISE_START + 3600 * SECOND


class TestResume:
    def test_continues_from_where_it_paused(self, clock: ExerciseClock, wall: ManualClock) -> None:
        clock.apply(command(ClockAction.PAUSE, 10))
        clock.apply(command(ClockAction.RESUME, 100))
        wall.set(WALL_START + 101 * SECOND)

        assert not clock.paused
        assert clock.now() == EXERCISE_START + (600 + 60) * SECOND

    def test_keeps_the_speed(self, clock: ExerciseClock) -> None:
        clock.apply(command(ClockAction.PAUSE, 10))
        clock.apply(command(ClockAction.RESUME, 100))

        assert clock.speed == 60


class TestSpeed:
    def test_time_is_continuous_at_the_change(self, clock: ExerciseClock) -> None:
        clock.apply(command(ClockAction.SPEED, 10, speed=3600))

        assert clock.at(wall_epoch(10)) == EXERCISE_START + 600 * SECOND

    def test_new_rate_applies_after_the_change(
        self, clock: ExerciseClock, wall: ManualClock
    ) -> None:
        clock.apply(command(ClockAction.SPEED, 10, speed=3600))
        wall.set(WALL_START + 12 * SECOND)

        assert clock.speed == 3600
        assert clock.now() == EXERCISE_START + (600 + 7200) * SECOND


class TestJump:
    def test_skips_forward_at_once(self, clock: ExerciseClock) -> None:
        clock.apply(command(ClockAction.JUMP, 0, jump_seconds=6 * 3600))

        assert clock.now() == EXERCISE_START + 6 * 3600 * SECOND

    def test_keeps_running_at_the_same_speed(self, clock: ExerciseClock, wall: ManualClock) -> None:
        clock.apply(command(ClockAction.JUMP, 0, jump_seconds=6 * 3600))
        wall.advance(1)

        assert clock.now() == EXERCISE_START + (6 * 3600 + 60) * SECOND


class TestPastInstants:
    def test_stay_exact_after_later_commands(self, clock: ExerciseClock) -> None:
        clock.apply(command(ClockAction.PAUSE, 10))
        clock.apply(command(ClockAction.RESUME, 20))
        clock.apply(command(ClockAction.SPEED, 30, speed=1))
        clock.apply(command(ClockAction.JUMP, 40, jump_seconds=86_400))

        assert clock.at(wall_epoch(5)) == EXERCISE_START + 300 * SECOND
        assert clock.at(wall_epoch(15)) == EXERCISE_START + 600 * SECOND
        assert clock.at(wall_epoch(25)) == EXERCISE_START + 900 * SECOND
        assert clock.at(wall_epoch(35)) == EXERCISE_START + 1205 * SECOND
        assert clock.at(wall_epoch(45)) == EXERCISE_START + (86_400 + 1215) * SECOND

    def test_before_the_start_are_wall_time(self, clock: ExerciseClock) -> None:
        assert clock.at(wall_epoch(-60)) == WALL_START - 60 * SECOND

    def test_out_of_order_command_replaces_what_followed(self, clock: ExerciseClock) -> None:
        clock.apply(command(ClockAction.PAUSE, 20))
        clock.apply(command(ClockAction.SPEED, 10, speed=2))

        assert not clock.paused
        assert clock.at(wall_epoch(15)) == EXERCISE_START + (600 + 10) * SECOND


class TestWallSecondsUntil:
    def test_divides_exercise_time_by_the_speed(self, clock: ExerciseClock) -> None:
        assert clock.wall_seconds_until(EXERCISE_START + 3600 * SECOND) == 60.0

    def test_counts_from_now(self, clock: ExerciseClock, wall: ManualClock) -> None:
        wall.advance(45)

        assert clock.wall_seconds_until(EXERCISE_START + 3600 * SECOND) == 15.0

    def test_is_zero_for_a_moment_already_passed(self, clock: ExerciseClock) -> None:
        assert clock.wall_seconds_until(EXERCISE_START - 3600 * SECOND) == 0.0

    def test_is_none_while_paused(self, clock: ExerciseClock) -> None:
        clock.apply(command(ClockAction.PAUSE, 0))

        assert clock.wall_seconds_until(EXERCISE_START + 3600 * SECOND) is None

    def test_follows_a_speed_change(self, clock: ExerciseClock) -> None:
        clock.apply(command(ClockAction.SPEED, 0, speed=3600))

        assert clock.wall_seconds_until(EXERCISE_START + 3600 * SECOND) == 1.0


class TestManualClock:
    def test_advance_and_set(self, wall: ManualClock) -> None:
        wall.advance(30)
        assert wall.now() == WALL_START + 30 * SECOND

        wall.set(EXERCISE_START)
        assert wall.now() == EXERCISE_START


class TestWallAt:
    """When exercise time reached a moment: the stamp of a message planned for it."""

    def test_a_moment_of_the_running_clock(self, clock: ExerciseClock, wall: ManualClock) -> None:
        wall.advance(100)
        moment = EXERCISE_START + 60 * 30 * SECOND  # reached after 30 wall seconds

        assert clock.wall_at(moment) == wall_epoch(30)

    def test_a_moment_not_reached_yet(self, clock: ExerciseClock, wall: ManualClock) -> None:
        wall.advance(10)

        assert clock.wall_at(EXERCISE_START + 60 * 30 * SECOND) is None

    def test_across_a_speed_change(self, clock: ExerciseClock, wall: ManualClock) -> None:
        clock.apply(command(ClockAction.SPEED, 10, speed=600))
        wall.advance(100)
        # 10 s at 60 (600 exercise s), then 5 s at 600 (3000 exercise s)
        moment = EXERCISE_START + 3600 * SECOND

        assert clock.wall_at(moment) == pytest.approx(wall_epoch(15))
        assert clock.wall_at(EXERCISE_START + 300 * SECOND) == pytest.approx(wall_epoch(5))

    def test_a_moment_skipped_by_a_jump_was_reached_at_the_jump(
        self, clock: ExerciseClock, wall: ManualClock
    ) -> None:
        clock.apply(command(ClockAction.PAUSE, 10))
        clock.apply(command(ClockAction.JUMP, 20, jump_seconds=3600))
        clock.apply(command(ClockAction.RESUME, 30))
        wall.advance(60)

        assert clock.wall_at(EXERCISE_START + 1800 * SECOND) == wall_epoch(20)

    def test_nothing_of_an_earlier_run(self, clock: ExerciseClock, wall: ManualClock) -> None:
        later = EXERCISE_START + 10 * 24 * 3600 * SECOND
        clock.apply(command(ClockAction.START, 50, exercise_start=later, speed=60))
        wall.advance(100)

        assert clock.wall_at(EXERCISE_START + 60 * SECOND) is None
        assert clock.run_started == wall_epoch(50)


class TestStamp:
    """The record timestamp of a message sent at a moment: whole milliseconds."""

    def test_is_the_next_millisecond(self, clock: ExerciseClock, wall: ManualClock) -> None:
        wall.advance(100)
        moment = EXERCISE_START + 60 * 30.0004 * SECOND  # reached 30.0004 wall s in

        assert clock.stamp_ms(moment) == round(wall_epoch(30.001) * 1000)
        assert clock.stamp_ms(EXERCISE_START + 3600 * 24 * SECOND) is None

    def test_never_stands_before_the_moment_at_a_high_speed(
        self, clock: ExerciseClock, wall: ManualClock
    ) -> None:
        """At 36,000x a millisecond is 36 exercise seconds and a float epoch carries a
        few exercise milliseconds of rounding: an answer planned one hour after a resume
        on a whole millisecond could be stamped short of its hour."""
        clock.apply(command(ClockAction.PAUSE, 1))
        clock.apply(command(ClockAction.SPEED, 2, speed=36_000))
        wall.advance(10_000)
        for step in range(2_000):
            resumed = 3 + step * 1.001  # whole milliseconds, as issued_at often is
            clock.apply(command(ClockAction.RESUME, resumed))
            held = clock.at(wall_epoch(resumed) - 0.5)
            moment = held + 3600 * SECOND
            stamp = clock.stamp_ms(moment)
            assert stamp is not None
            assert clock.at(stamp / 1000) >= moment, f"resumed {resumed} s in"
            assert clock.at((stamp - 1) / 1000) < moment
            clock.apply(command(ClockAction.PAUSE, resumed + 0.5))


class TestEnd:
    def test_end_stops_time_and_a_new_start_runs_it_again(
        self, clock: ExerciseClock, wall: ManualClock
    ) -> None:
        clock.apply(command(ClockAction.END, 10))
        wall.advance(100)
        assert clock.ended and clock.paused
        assert clock.now() == EXERCISE_START + 600 * SECOND

        clock.apply(command(ClockAction.START, 100, exercise_start=EXERCISE_START, speed=60))
        assert not clock.ended

    def test_listeners_hear_every_command(self, clock: ExerciseClock) -> None:
        heard: list[ClockAction] = []
        clock.on_change(lambda c: heard.append(c.action))
        clock.apply(command(ClockAction.PAUSE, 1))
        clock.apply(command(ClockAction.END, 2))

        assert heard == [ClockAction.PAUSE, ClockAction.END]


def test_before_never_reaches_back_into_another_run(
    clock: ExerciseClock, wall: ManualClock
) -> None:
    wall.advance(10)
    assert clock.before(2) == EXERCISE_START + 8 * 60 * SECOND
    assert clock.before(60) == EXERCISE_START  # not the wall time before the START
