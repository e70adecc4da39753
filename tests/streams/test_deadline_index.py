"""The deadline heap: what falls due comes out earliest first, and finding it costs one pop
per due entry, whatever the number of requests still running."""

from __future__ import annotations

import gc
import heapq
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from streams.deadline_index import DeadlineIndex, DueEntry

NOW = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.fixture
def pops(monkeypatch: pytest.MonkeyPatch) -> list[DueEntry]:
    """Every entry popped off any heap during the test."""
    popped: list[DueEntry] = []
    real_pop: Callable[[list[Any]], Any] = heapq.heappop

    def counting_pop(heap: list[Any]) -> Any:
        entry = real_pop(heap)
        popped.append(entry)
        return entry

    monkeypatch.setattr(heapq, "heappop", counting_pop)
    return popped


def far_future(count: int) -> list[DueEntry]:
    return [
        DueEntry((NOW + timedelta(days=1) + n * SECOND).timestamp(), f"PL-REQ-F{n}", n % 4)
        for n in range(count)
    ]


class TestDue:
    def test_returns_exactly_the_due_entries_earliest_first(self) -> None:
        index = DeadlineIndex()
        index.schedule("PL-REQ-3", NOW, partition=3)
        index.schedule("PL-REQ-4", NOW + SECOND, partition=0)
        index.schedule("PL-REQ-1", NOW - 60 * SECOND, partition=1)
        index.schedule("PL-REQ-2", NOW - 30 * SECOND, partition=2)

        due = index.due(NOW)

        assert [(e.request_id, e.partition) for e in due] == [
            ("PL-REQ-1", 1),
            ("PL-REQ-2", 2),
            ("PL-REQ-3", 3),
        ]
        assert len(index) == 1

    def test_takes_entries_out(self) -> None:
        index = DeadlineIndex()
        index.schedule("PL-REQ-1", NOW, partition=0)
        index.due(NOW)

        assert index.due(NOW + timedelta(days=30)) == []

    def test_keeps_the_entries_not_yet_due(self) -> None:
        index = DeadlineIndex()
        index.schedule("PL-REQ-1", NOW + SECOND, partition=0)

        assert index.due(NOW) == []
        assert [e.request_id for e in index.due(NOW + SECOND)] == ["PL-REQ-1"]

    def test_at_most_limit_entries(self) -> None:
        index = DeadlineIndex()
        for n in range(5):
            index.schedule(f"PL-REQ-{n}", NOW - n * SECOND, partition=0)

        due = index.due(NOW, limit=2)

        assert [e.request_id for e in due] == ["PL-REQ-4", "PL-REQ-3"]
        assert len(index) == 3

    def test_a_moved_deadline_is_a_new_entry(self) -> None:
        index = DeadlineIndex()
        index.schedule("PL-REQ-1", NOW, partition=0)
        index.schedule("PL-REQ-1", NOW + timedelta(hours=5), partition=0)

        assert [e.request_id for e in index.due(NOW)] == ["PL-REQ-1"]
        assert index.next_deadline() == (NOW + timedelta(hours=5)).timestamp()


class TestCost:
    def test_nothing_due_among_100_000_touches_nothing(self, pops: list[DueEntry]) -> None:
        index = DeadlineIndex()
        index.rebuild(far_future(100_000))

        assert index.due(NOW) == []
        assert pops == []
        assert len(index) == 100_000

    def test_one_pop_per_due_entry(self, pops: list[DueEntry]) -> None:
        index = DeadlineIndex()
        index.rebuild(far_future(100_000))
        for n in range(3):
            index.schedule(f"PL-REQ-D{n}", NOW - n * SECOND, partition=0)

        due = index.due(NOW)

        assert [e.request_id for e in due] == ["PL-REQ-D2", "PL-REQ-D1", "PL-REQ-D0"]
        assert pops == due


class TestNextDeadlineAndRebuild:
    def test_next_deadline_of_an_empty_index(self) -> None:
        assert DeadlineIndex().next_deadline() is None

    def test_rebuild_replaces_the_entries(self) -> None:
        index = DeadlineIndex()
        index.schedule("PL-REQ-OLD", NOW - SECOND, partition=0)

        index.rebuild([DueEntry((NOW + SECOND).timestamp(), "PL-REQ-NEW", 1)])

        assert index.due(NOW) == []
        assert index.next_deadline() == (NOW + SECOND).timestamp()


def test_a_large_index_adds_nothing_for_the_garbage_collector_to_scan() -> None:
    index = DeadlineIndex()
    gc.collect()
    before = len(gc.get_objects())
    for n in range(10_000):
        index.schedule(f"PL-REQ-{n}", NOW + n * SECOND, n % 4)
    gc.collect()
    assert len(gc.get_objects()) - before < 100
    assert index.due(NOW + 2 * SECOND) == [
        DueEntry((NOW + n * SECOND).timestamp(), f"PL-REQ-{n}", n % 4) for n in range(3)
    ]
