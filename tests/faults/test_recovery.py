"""The fault suite's time to recover, from the ticks of a load run (no broker)."""

from onestop.faults.harness import Timeline
from producers.load.results import LoadTick


def tick(elapsed: float, delivered_per_s: float) -> LoadTick:
    return LoadTick(elapsed, 100.0, delivered_per_s, 0, 1.0, 2.0)


def test_recovery_counts_from_the_end_of_the_fault_to_the_first_full_tick_after_it() -> None:
    timeline = Timeline(
        ticks=[tick(t, r) for t, r in [(1, 100), (2, 100), (3, 0), (4, 0), (5, 20), (6, 90)]]
    )
    # The fault was over at 2.5 s; deliveries were back at half the rate in the tick to 6 s.
    assert timeline.recovery_after(2.5, 100.0) == 3.5


def test_a_flow_that_never_came_back_is_not_measured() -> None:
    timeline = Timeline(ticks=[tick(1, 100), tick(2, 0), tick(3, 10)])
    assert timeline.recovery_after(1.5, 100.0) is None


def test_a_backlog_drained_between_two_ticks_recovers_when_the_run_settled() -> None:
    timeline = Timeline(ticks=[tick(1, 100), tick(2, 0)], settled_at=2.4)
    assert timeline.recovery_after(2.1, 100.0) == 0.3
