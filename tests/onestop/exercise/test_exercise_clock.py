"""Steering a running exercise from the clock topic: a pause holds exercise time and the
injects, a jump moves it forward at once, a speed change makes the nodes answer faster.
The test drives the clock and waits for what it causes; it never sleeps for a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from onestop.exercise.clock_control import clock_command, publish_clock
from onestop.exercise.runner import ExerciseOptions, ExerciseRunner
from onestop.exercise.scenario import Scenario
from schemas.audit import AuditEvent
from schemas.clock import ClockAction
from schemas.topics import Topics

START = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)
STEADY = {
    "answer_time": {"median_minutes": 60, "sigma": 0},
    "refusal_share": 0,
    "clarification_share": 0,
    "judicial_share": 0,
    "partial_share": 0,
    "acknowledge": False,
}


async def until(condition: Callable[[], bool], wait_seconds: float = 60.0) -> None:
    """Poll `condition` until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while not condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_pause_jump_and_speed_steer_a_running_exercise(
    bootstrap: str, namespace: str
) -> None:
    scenario = Scenario.model_validate(
        {
            "name": "clock drill",
            "clock": {"start": START, "speed": 60, "end": "7d"},
            "nodes": {"PL": {"profile": STEADY}, "LT": {"profile": STEADY}},
            "injects": [{"id": "one", "at": "01:00", "from": "PL", "to": "LT"}],
        }
    )
    runner = ExerciseRunner(scenario, ExerciseOptions(bootstrap=bootstrap, namespace=namespace))
    running = asyncio.create_task(runner.run())
    topics = Topics(namespace)

    async def steer(
        action: ClockAction, *, speed: float | None = None, jump_seconds: float | None = None
    ) -> None:
        command = clock_command(namespace, action, speed=speed, jump_seconds=jump_seconds)
        await publish_clock(bootstrap, topics, command)

    await until(lambda: runner.host is not None and runner.host.clock.exercise_id is not None)
    assert runner.host is not None
    clock = runner.host.clock

    await steer(ClockAction.PAUSE)
    await until(lambda: clock.paused)
    held = clock.now()
    assert held < START + timedelta(hours=1)
    assert not runner.plan.sent  # the inject at T+01:00 waits

    await steer(ClockAction.JUMP, jump_seconds=2 * 3600)
    await until(lambda: "one" in runner.plan.sent)  # due at once, although paused
    assert clock.now() == held + timedelta(hours=2)

    await steer(ClockAction.SPEED, speed=36_000)
    await steer(ClockAction.RESUME)
    result = await asyncio.wait_for(running, 120)

    assert result.ended_by == "settled"
    events = {r.event: r for r in result.records if r.request_id == result.injects["one"]}
    received = events[AuditEvent.RECEIVED].exercise_time
    answered = events[AuditEvent.ANSWERED].exercise_time
    # Received in the paused, jumped time; answered one exercise hour later at high speed.
    assert held + timedelta(hours=2) <= received < held + timedelta(hours=2, minutes=1)
    assert timedelta(hours=1) <= answered - received < timedelta(hours=1, minutes=30)
    # The speed took effect: the exercise hour passed in a tenth of a wall second (at the
    # scenario's speed of 60 it would have taken a wall minute).
    wall = events[AuditEvent.ANSWERED].wall_time - events[AuditEvent.RECEIVED].wall_time
    assert wall < timedelta(seconds=5)
