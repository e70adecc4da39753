"""The max-rate search doubles until a step fails, then bisects to within 10 %."""

from __future__ import annotations

from producers.load.rate_search import RateSearch
from producers.load.results import LoadStep


def step(rate: float, sustained: bool) -> LoadStep:
    return LoadStep(
        rate=rate, seconds=5.0, sent=0, delivered=0, deadlettered=0, errors=0, missing=0,
        backlog_at_end=0, completed_per_s=rate, p99_ms=1.0, sustained=sustained,
    )  # fmt: skip


def play(search: RateSearch, capacity: float) -> list[float]:
    """Run the search against a hub that sustains every rate up to `capacity`."""
    tried = []
    while (rate := search.next_rate()) is not None:
        tried.append(rate)
        search.record(step(rate, rate <= capacity))
    return tried


def test_doubles_then_bisects_to_within_ten_percent() -> None:
    search = RateSearch(250.0)
    tried = play(search, capacity=1_300.0)
    assert tried[:4] == [250.0, 500.0, 1_000.0, 2_000.0]
    assert tried[4] == 1_500.0  # halfway between the best sustained and the first failure
    assert search.low <= 1_300.0 < search.high
    assert search.high - search.low <= 0.1 * search.high


def test_best_is_the_highest_sustained_step() -> None:
    search = RateSearch(100.0)
    assert search.record(step(100.0, True))
    assert not search.record(step(200.0, False))
    assert search.low == 100.0
    assert search.next_rate() == 150.0


def test_stops_after_the_step_limit() -> None:
    search = RateSearch(1.0, max_steps=3)
    assert len(play(search, capacity=1e12)) == 3


def test_stops_below_one_message_a_second() -> None:
    search = RateSearch(1.5)
    tried = play(search, capacity=0.0)
    assert tried == [1.5]  # the next guess (0.75/s) is below 1/s: no rate is sustained
    assert search.low == 0.0
