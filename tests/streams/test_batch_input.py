"""The batch input path's queue and loop, without a broker: which fetched records reach the
core, in which order, and which are dropped after a rebalance."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.batch_input import BatchInput, InputQueue, next_positions


@dataclass(frozen=True)
class Rec:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


def records(topic: str, partition: int, offsets: range) -> list[Rec]:
    return [Rec(topic, partition, o) for o in offsets]


def everywhere(record: Any) -> bool:
    return True


def test_only_the_hubs_inputs_are_taken() -> None:
    queue = InputQueue({"ns.outbox.PL"})
    assert queue.takes(TP("ns.outbox.PL", 0))
    assert not queue.takes(TP("ns-hub-positions-changelog", 0))


def test_records_come_out_in_fetch_order_in_batches_of_at_most_the_size_asked() -> None:
    queue = InputQueue({"a", "b"})
    queue.put(3, 3, {TP("a", 0): records("a", 0, range(0, 4))})
    queue.put(3, 3, {TP("b", 1): records("b", 1, range(10, 13)), TP("a", 0): []})
    first = queue.take(5, 3, everywhere)
    assert [(r.topic, r.offset) for r in first] == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("a", 3),
        ("b", 10),
    ]
    assert queue.held == 2 and queue.arrived.is_set()
    rest = queue.take(5, 3, everywhere)
    assert [r.offset for r in rest] == [11, 12]
    assert queue.held == 0 and not queue.arrived.is_set()


def test_a_fetch_that_spans_a_rebalance_is_dropped() -> None:
    queue = InputQueue({"a"})
    queue.put(3, 4, {TP("a", 0): records("a", 0, range(5))})
    assert queue.held == 0 and queue.dropped == 5
    assert queue.take(10, 4, everywhere) == []


def test_records_of_an_older_generation_or_a_lost_partition_are_dropped_not_processed() -> None:
    queue = InputQueue({"a"})
    queue.put(3, 3, {TP("a", 0): records("a", 0, range(3))})
    queue.put(4, 4, {TP("a", 0): records("a", 0, range(3, 5))})
    queue.put(4, 4, {TP("a", 1): records("a", 1, range(7, 9))})
    taken = queue.take(10, 4, lambda r: r.partition == 1)
    assert [(r.partition, r.offset) for r in taken] == [(1, 7), (1, 8)]
    assert queue.dropped == 5 and queue.held == 0


def test_a_full_queue_says_so_until_records_are_taken() -> None:
    queue = InputQueue({"a"}, limit=4)
    queue.put(1, 1, {TP("a", 0): records("a", 0, range(4))})
    assert not queue.has_room() and not queue.room.is_set()
    queue.take(2, 1, everywhere)
    assert queue.has_room() and queue.room.is_set()


def test_revoking_empties_the_queue() -> None:
    queue = InputQueue({"a"}, limit=4)
    queue.put(1, 1, {TP("a", 0): records("a", 0, range(6))})
    queue.clear()
    assert queue.held == 0 and queue.has_room() and queue.dropped == 6
    assert queue.take(10, 1, everywhere) == []


def test_the_position_to_commit_is_the_offset_after_the_last_record_of_each_partition() -> None:
    batch = records("a", 0, range(3, 6)) + records("b", 2, range(40, 41))
    assert next_positions(batch) == {("a", 0): 6, ("b", 2): 41}


class Group:
    def __init__(self) -> None:
        self.gen = 1
        self.moving = False
        self.held = {(topic, partition) for topic in ("a", "b") for partition in range(4)}
        self.commits: list[dict[tuple[str, int], int]] = []

    def generation(self) -> int:
        return self.gen

    def rebalancing(self) -> bool:
        return self.moving

    def assignment(self) -> set[tuple[str, int]]:
        return self.held

    async def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.commits.append(dict(offsets))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_loop_processes_batches_and_commits_what_was_stored_at_intervals() -> None:
    queue = InputQueue({"a"})
    group = Group()
    clock = Clock()
    processed: list[list[int]] = []
    done = asyncio.Event()

    async def process(batch: list[Any]) -> None:
        processed.append([r.offset for r in batch])
        loop.stored(next_positions(batch))
        clock.now += 0.6
        if sum(len(b) for b in processed) == 7:
            done.set()

    loop = BatchInput(queue, group, process, batch_size=3, commit_interval=1.0, monotonic=clock)
    await loop.start()
    queue.put(1, 1, {TP("a", 0): records("a", 0, range(7))})
    await asyncio.wait_for(done.wait(), 5)
    await loop.stop()
    assert processed == [[0, 1, 2], [3, 4, 5], [6]]
    # At 0.6 s nothing is due; at 1.2 s offsets up to 5 are; at 1.8 s not yet again.
    assert group.commits == [{("a", 0): 6}]
    assert loop.uncommitted == {("a", 0): 7}


async def test_nothing_is_taken_while_the_group_rebalances() -> None:
    queue = InputQueue({"a"})
    group = Group()
    group.moving = True
    loop = BatchInput(queue, group, lambda batch: asyncio.sleep(0))
    queue.put(1, 1, {TP("a", 0): records("a", 0, range(2))})
    assert await loop.next_batch() == []
    assert queue.held == 2
    group.moving = False
    assert [r.offset for r in await loop.next_batch()] == [0, 1]


async def test_a_batch_leaves_out_the_partitions_no_longer_held() -> None:
    queue = InputQueue({"a"})
    group = Group()
    loop = BatchInput(queue, group, lambda batch: asyncio.sleep(0))
    queue.put(1, 1, {TP("a", 0): records("a", 0, range(2)), TP("a", 1): records("a", 1, range(3))})
    group.held = {("a", 1)}
    assert [(r.partition, r.offset) for r in await loop.next_batch()] == [(1, 0), (1, 1), (1, 2)]
    assert queue.dropped == 2 and queue.held == 0


async def test_revoking_forgets_uncommitted_positions() -> None:
    queue = InputQueue({"a"})
    loop = BatchInput(queue, Group(), lambda batch: asyncio.sleep(0))
    loop.uncommitted[("a", 0)] = 12
    queue.put(1, 1, {TP("a", 0): records("a", 0, range(2))})
    loop.revoke()
    assert loop.uncommitted == {} and queue.held == 0


async def test_an_idle_loop_commits_what_it_processed_last() -> None:
    queue = InputQueue({"a"})
    group = Group()
    clock = Clock()
    processed = asyncio.Event()

    async def process(batch: list[Any]) -> None:
        loop.stored(next_positions(batch))
        processed.set()

    loop = BatchInput(queue, group, process, commit_interval=0.05, monotonic=clock)
    await loop.start()
    queue.put(1, 1, {TP("a", 0): records("a", 0, range(3))})
    await asyncio.wait_for(processed.wait(), 5)
    assert group.commits == []  # processed at once: no commit is due yet
    clock.now = 1.0  # the interval passes with no more input
    for _ in range(100):
        if group.commits:
            break
        await asyncio.sleep(0.02)
    await loop.stop()
    assert group.commits == [{("a", 0): 3}]


async def test_the_loop_stops_when_records_arrive_as_it_is_stopped() -> None:
    """A hub stopped under load: the records of a fetch arrive in the very step the loop
    is stopped in. The loop must end, every time (a lost cancellation left the hub's
    shutdown waiting for ever)."""
    processed: list[int] = []

    async def process(batch: list[Any]) -> None:
        processed.extend(r.offset for r in batch)

    for attempt in range(200):
        queue = InputQueue({"a"})
        loop = BatchInput(queue, Group(), process, batch_wait=0)
        await loop.start()
        await asyncio.sleep(0.001)  # the loop waits for records
        stopping = asyncio.create_task(loop.stop())
        for _ in range(attempt % 8):
            await asyncio.sleep(0)  # the records come at each point of the stop's steps
        queue.put(1, 1, {TP("a", 0): records("a", 0, range(attempt, attempt + 1))})
        done, _ = await asyncio.wait({stopping}, timeout=10)
        assert done, f"stop() had not returned after 10 s (attempt {attempt})"
        # Once stopped, nothing more is processed.
        after_stop = len(processed)
        queue.put(1, 1, {TP("a", 0): records("a", 0, range(1000, 1001))})
        await asyncio.sleep(0.002)
        assert len(processed) == after_stop, f"processed after stop (attempt {attempt})"
    # What was processed was processed once.
    assert len(processed) == len(set(processed))


async def test_held_waits_for_the_batch_under_way_and_a_batch_taken_meanwhile_is_dropped() -> None:
    """A rebalance holds the loop: the batch under way ends before the hold begins, and
    a batch taken before the rebalance is not begun after it (another worker may own its
    partitions by then; its records come again)."""
    queue = InputQueue({"a"})
    group = Group()
    under_way = asyncio.Event()
    finish = asyncio.Event()
    processed: list[list[int]] = []

    async def process(batch: list[Any]) -> None:
        processed.append([r.offset for r in batch])
        under_way.set()
        await finish.wait()
        loop.stored(next_positions(batch))

    loop = BatchInput(queue, group, process, batch_size=2, batch_wait=0)
    await loop.start()
    queue.put(1, 1, {TP("a", 0): records("a", 0, range(2))})
    await asyncio.wait_for(under_way.wait(), 5)
    queue.put(1, 1, {TP("a", 0): records("a", 0, range(2, 4))})

    async def rebalance() -> bool:
        async with loop.held():
            finished = finish.is_set()
            await asyncio.sleep(0.05)  # the loop takes its next batch and waits
            assert queue.held == 0
            group.gen = 2  # the partitions moved
            return finished

    holding = asyncio.create_task(rebalance())
    await asyncio.sleep(0.02)
    assert not holding.done()  # waits for the batch under way
    finish.set()
    assert await asyncio.wait_for(holding, 5) is True
    await asyncio.sleep(0.05)
    await loop.stop()
    assert processed == [[0, 1]]
    assert loop.uncommitted == {("a", 0): 2}
