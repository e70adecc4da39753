"""A simulated SPOC decides the same way in every run of an exercise: its choices come from
the seed, the party and the request's name in the scenario, and are timed from the hub's
receipt; the running exercise's START gives the seed and the profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry

from producers.metrics import NodeMetrics
from producers.node import SimulatedNode
from producers.scheduler import ExerciseScheduler
from schemas.clock import ClockAction, ClockCommand, ExerciseClock, ExerciseSetup, ManualClock
from schemas.enums import Country, MessageKind
from schemas.messages import MessageBase, kind_of
from schemas.profiles import AnswerTime, NodeProfile
from tests.factories import make_message

WALL = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
JUDGING = NodeProfile(refusal_share=0.3, clarification_share=0.2, judicial_share=0.2)


def started(
    exercise_id: str, seed: int, profile: NodeProfile = JUDGING
) -> tuple[ExerciseClock, ManualClock]:
    wall = ManualClock(WALL)
    clock = ExerciseClock(wall)
    clock.apply(
        ClockCommand(
            exercise_id=exercise_id,
            action=ClockAction.START,
            issued_at=WALL,
            exercise_start=START,
            speed=60,
            setup=ExerciseSetup(seed=seed, profiles={Country.DE: profile}),
        )
    )
    return clock, wall


async def plan_of(
    exercise_id: str, seed: int, name: str, profile: NodeProfile = JUDGING
) -> list[tuple[str, float]]:
    """What DE does about request `name` of a run called `exercise_id`: (kind, hours after
    the hub received the request) of each message it sends. Receipt is one exercise hour in;
    the wall clock then jumps far ahead, as a busy process would find it."""
    clock, wall = started(exercise_id, seed, profile)
    sent: list[MessageBase] = []

    async def send(message: MessageBase, at: datetime) -> None:
        assert at == message.sent_at  # sent at its planned moment
        sent.append(message)

    scheduler = ExerciseScheduler(clock)
    de = SimulatedNode(
        Country.DE,
        NodeProfile(),  # its own profile: the exercise's replaces it
        clock,
        scheduler,
        send,
        NodeMetrics(CollectorRegistry()),
        seed=0,
    )
    received = START + timedelta(hours=1)
    request_id = f"{exercise_id}.{name}"
    de.receive(
        make_message(MessageKind.REQUEST, message_id=request_id, request_id=request_id),
        received_at=received,
    )
    wall.advance(30 * 24 * 3600)
    await scheduler.run_due()
    return [(kind_of(m).value, (m.sent_at - received) / timedelta(hours=1)) for m in sent]


async def test_the_same_seed_and_name_give_the_same_plan_in_any_run() -> None:
    for name in ("vehicle-chase", "bg0007", "missing-person"):
        first = await plan_of("drill-20261202090000", 7, name)
        again = await plan_of("drill-20261203100000", 7, name)
        assert first == again and first, name


async def test_another_seed_gives_other_plans() -> None:
    names = [f"bg{n:04d}" for n in range(1, 30)]
    seven = [await plan_of("run", 7, name) for name in names]
    eight = [await plan_of("run", 8, name) for name in names]
    assert seven != eight


async def test_answers_are_timed_from_the_hubs_receipt() -> None:
    steady = NodeProfile(
        answer_time=AnswerTime(median_minutes=120, sigma=0),
        refusal_share=0,
        clarification_share=0,
        judicial_share=0,
        partial_share=0,
    )
    assert await plan_of("run", 1, "a", steady) == [("acknowledgement", 0.0), ("reply", 2.0)]


async def test_a_new_exercise_forgets_the_requests_of_the_one_before() -> None:
    clock, _ = started("first", 1)
    scheduler = ExerciseScheduler(clock)

    async def send(message: MessageBase, at: datetime) -> None:
        raise AssertionError("nothing is sent")

    de = SimulatedNode(
        Country.DE, NodeProfile(), clock, scheduler, send, NodeMetrics(CollectorRegistry())
    )
    de.receive(make_message(MessageKind.REQUEST), received_at=START)
    assert de.received and len(scheduler)

    de.forget()

    assert not de.received and not de.inbox_ids
