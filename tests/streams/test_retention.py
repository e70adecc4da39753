"""The retention queue of finished requests (pure)."""

from __future__ import annotations

import gc

import pytest

from streams.retention import Finished, RetentionQueue


def test_expired_gives_those_past_retention_in_finishing_order() -> None:
    queue = RetentionQueue(seconds=60)
    queue.add("a", 0, since=100.0)
    queue.add("b", 1, since=130.0)
    queue.add("c", 2, since=170.0)

    assert queue.expired(now=159.0) == []
    assert [f.request_id for f in queue.expired(now=190.0)] == ["a", "b"]
    assert len(queue) == 1
    assert queue.expired(now=230.0) == [Finished(170.0, "c", 2)]
    assert len(queue) == 0


def test_zero_retention_lets_go_at_once_and_negative_is_refused() -> None:
    queue = RetentionQueue(seconds=0)
    queue.add("a", 0, since=10.0)
    assert [f.request_id for f in queue.expired(now=10.0)] == ["a"]
    with pytest.raises(ValueError, match="zero or more seconds"):
        RetentionQueue(seconds=-1)


def test_rebuild_orders_by_finish_time() -> None:
    queue = RetentionQueue(seconds=10)
    queue.add("stale", 0, since=0.0)
    queue.rebuild([Finished(50.0, "late", 1), Finished(20.0, "early", 0)])
    assert [f.request_id for f in queue.expired(now=100.0)] == ["early", "late"]


def test_a_long_queue_adds_nothing_for_the_garbage_collector_to_scan() -> None:
    queue = RetentionQueue(seconds=60)
    gc.collect()
    before = len(gc.get_objects())
    for n in range(10_000):
        queue.add(f"PL-REQ-{n}", n % 4, since=float(n))
    gc.collect()
    assert len(gc.get_objects()) - before < 100
    assert queue.expired(now=61.0) == [Finished(0.0, "PL-REQ-0", 0), Finished(1.0, "PL-REQ-1", 1)]
