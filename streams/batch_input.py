"""The hub's batch input path: outbox records straight from Faust's Kafka consumer to the
core, hundreds at a time, while Faust still runs the worker (app, clock, timers, web,
rebalances, the tables and their changelogs).

On the stream path every record becomes a Faust Message and Event, goes through a stream
buffer to the agent and is acknowledged one by one; that per-event path costs more than
everything the hub decides. On this path the worker's consumer (`streams.transport`) hands
the records of the outbox partitions, as its fetch returned them, to `InputQueue` instead
of to Faust; `BatchInput` takes them from there in batches and processes each batch as the
agent would (`Hub.process_batch_or_die`: the ledger orders it, the core decides, writes,
waits for the acknowledgements and stores state and positions).

Why partition ownership, state recovery and committed offsets stay consistent:

- Ownership. Faust's consumer stays the only member of the hub's group and still subscribes
  to the outboxes (the `exchange` agent is declared on both paths), so the assignor gives a
  worker the same partition number of every outbox and of both tables' changelogs, as on the
  stream path. Records are diverted only from partitions in the consumer's assignment.
- Recovery before input. After an assignment Faust keeps the outbox partitions out of its
  active set until the tables are recovered from their changelogs, and it fetches only its
  active set, so the first outbox record diverted after a rebalance is judged against the
  recovered positions. Changelog records go on to Faust unchanged.
- One generation. Each fetch is tagged with the group generation before and after it; a
  fetch that spans a rebalance is dropped, the queue is emptied when partitions are revoked,
  and a batch is taken only from records of the current generation that are still assigned.
  A dropped record lies above the stored position of its partition: Faust seeks to the
  committed offset (never above the stored position) after the next assignment, so it comes
  again, or the ledger reads it back (a later record beyond the gap, or the stall watch:
  the consumer's position past what was processed for longer than `stall_patience`).
- Positions are the truth, as on the stream path: the ledger judges every record against
  the next offset the core stored in the position table after the batch's outputs were
  acknowledged (below it: a redelivery, skipped; beyond a gap: read back).
- Committed offsets are only where to start reading. Faust never sees these records, so it
  never acknowledges or commits them; `BatchInput` commits the positions the core stored
  (`stored`, called by the core) through the worker's consumer (the group member) at most
  every `commit_interval`, so a restarted worker or a new owner starts near the stored
  position instead of at the log's start. Only stored positions: on the pipelined path a
  batch returns before it is stored.
- Bounded memory. While the queue holds `limit` records the consumer leaves the outbox
  partitions undrained: their fetched records wait in aiokafka's buffer, which fetches no
  more for them, while the changelogs keep flowing.
- Failure. As on the stream path: a batch that still fails after a few tries ends the
  process, and its records come again after the restart.
- Pipelined (`--input pipelined`): the same, with the core keeping one batch in flight
  between calls (`streams.core`): its outputs sent, its state stored once acknowledged.
  A rebalance and shutdown store it first (the worker drains the core holding its lock);
  a batch never acknowledged is stored never, and its records lie above the stored
  positions, so they are read back like any others there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

log = logging.getLogger(__name__)
STOP_PATIENCE: Final = 5.0  # seconds a batch under way may take to finish at shutdown


class Record(Protocol):
    """An aiokafka consumer record, as far as the batch path reads it."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...


@dataclass(frozen=True)
class Chunk:
    """The records of one partition from one fetch, and the generation they belong to."""

    generation: int
    records: Sequence[Any]


class InputQueue:
    """Fetched outbox records waiting for the core, oldest first (pure: no I/O)."""

    def __init__(self, inputs: Collection[str], limit: int = 8192) -> None:
        """`inputs`: the topics to divert (the outboxes read); `limit`: records held
        before the consumer stops draining them."""
        self.inputs = frozenset(inputs)
        self.limit = limit
        self.chunks: deque[Chunk] = deque()
        self.held = 0
        self.dropped = 0  # records of a stale generation, never processed from here
        self.arrived = asyncio.Event()
        self.room = asyncio.Event()
        self.room.set()

    def takes(self, tp: Any) -> bool:
        """Whether records of partition `tp` go to the hub rather than to Faust."""
        return bool(tp.topic in self.inputs)

    def has_room(self) -> bool:
        return self.held < self.limit

    def put(self, before: int, after: int, fetched: Mapping[Any, Sequence[Any]]) -> None:
        """Records of one fetch made between generations `before` and `after`."""
        count = sum(len(records) for records in fetched.values())
        if before != after:
            self.dropped += count  # the fetch spans a rebalance
            return
        for records in fetched.values():
            if records:
                self.chunks.append(Chunk(after, records))
        self.held += count
        if count:
            self.arrived.set()
        if not self.has_room():
            self.room.clear()

    def take(self, most: int, generation: int, assigned: Callable[[Any], bool]) -> list[Any]:
        """Up to `most` records of generation `generation` on partitions still
        `assigned`, in order; records of other generations or partitions are dropped."""
        taken: list[Any] = []
        while self.chunks and len(taken) < most:
            chunk = self.chunks.popleft()
            records = chunk.records
            if chunk.generation != generation or not assigned(records[0]):
                self._release(len(records))
                self.dropped += len(records)
                continue
            room = most - len(taken)
            if len(records) > room:
                self.chunks.appendleft(Chunk(chunk.generation, records[room:]))
                records = records[:room]
            taken.extend(records)
            self._release(len(records))
        if not self.chunks:
            self.arrived.clear()
        return taken

    def clear(self) -> None:
        """Partitions were revoked: nothing fetched before counts any more."""
        self.dropped += self.held
        self.chunks.clear()
        self._release(self.held)
        self.arrived.clear()

    def _release(self, count: int) -> None:
        self.held -= count
        if self.has_room():
            self.room.set()

    async def wait_for_room(self, seconds: float) -> None:
        """Return once there is room again, or after `seconds`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.room.wait()


def next_positions(records: Sequence[Record]) -> dict[tuple[str, int], int]:
    """The offset after the last of `records` per partition: what to commit."""
    return {(r.topic, r.partition): r.offset + 1 for r in records}


class InputGroup(Protocol):
    """What `BatchInput` needs of the worker: its group and its consumer."""

    def generation(self) -> int: ...

    def rebalancing(self) -> bool: ...

    def assignment(self) -> Collection[tuple[str, int]]:
        """The (topic, partition) pairs the worker's consumer holds now."""
        ...

    async def commit(self, offsets: Mapping[tuple[str, int], int]) -> None: ...


class BatchInput:
    """Takes batches from the queue and processes them, from `start()` to `stop()`."""

    def __init__(
        self,
        queue: InputQueue,
        group: InputGroup,
        process: Callable[[list[Any]], Awaitable[None]],
        *,
        batch_size: int = 500,
        batch_wait: float = 0.005,
        commit_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`process`: what to do with a batch (the worker's batch-or-die)."""
        self.queue = queue
        self.group = group
        self.process = process
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.commit_interval = commit_interval
        self.monotonic = monotonic
        self.uncommitted: dict[tuple[str, int], int] = {}
        self._committed_at = monotonic()
        self._task: asyncio.Task[None] | None = None
        self._busy = asyncio.Lock()
        self._stopping = False

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="hub-batch-input")

    async def stop(self) -> None:
        """Let a batch under way finish (for a few seconds at most), then stop. A batch
        taken and not begun is left for the next reader (it is not committed)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True  # ends the loop even if a cancellation were lost
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_PATIENCE), self._busy:
                pass  # the batch under way is done; the lock is not held past here
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def stored(self, positions: Mapping[tuple[str, int], int]) -> None:
        """The core stored the state of input up to these next offsets: they may be
        committed (only stored input: a worker that finds no stored position for a
        partition starts at its committed offset)."""
        self.uncommitted.update(positions)

    def revoke(self) -> None:
        """A rebalance: what was fetched and not processed is dropped, and what was
        processed is no longer this worker's to commit."""
        self.queue.clear()
        self.uncommitted.clear()

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """While inside, no batch is under way: one under way finishes first, and one
        taken meanwhile is dropped when a rebalance came in between (its records come
        again: they lie above the stored positions)."""
        async with self._busy:
            yield

    async def _run(self) -> None:
        while not self._stopping:
            try:
                batch = await self.next_batch(wait=self.commit_interval)
            except TimeoutError:  # idle: what was processed last is committed now
                await self._maybe_commit()
                continue
            if not batch:
                continue
            generation = self.group.generation()  # the one it was taken in (no await since)
            async with self._busy:
                if self._stopping:
                    return
                if self.group.rebalancing() or self.group.generation() != generation:
                    continue
                await self.process(batch)
            # Outside the batch lock: a commit goes through the group consumer, which waits
            # for a rebalance under way, and a rebalance waits for `held`.
            await self._maybe_commit()

    async def next_batch(self, wait: float | None = None) -> list[Any]:
        """The next batch: as soon as `batch_size` records are there, or `batch_wait`
        after the first arrived. TimeoutError when none arrived within `wait` seconds."""
        queue = self.queue
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation that
        # comes as the event is set, and the loop would then run on past stop().
        async with asyncio.timeout(wait):
            await queue.arrived.wait()
        if queue.held < self.batch_size:
            await asyncio.sleep(self.batch_wait)
        if self.group.rebalancing():
            await asyncio.sleep(self.batch_wait)
            return []
        # One look at the assignment per batch: the consumer builds it anew on each call,
        # and a batch holds a chunk per partition and fetch, often of a single record.
        assigned = self.group.assignment()
        return queue.take(
            self.batch_size,
            self.group.generation(),
            lambda record: (record.topic, record.partition) in assigned,
        )

    async def _maybe_commit(self) -> None:
        now = self.monotonic()
        if now - self._committed_at < self.commit_interval or self.group.rebalancing():
            return
        offsets, self.uncommitted = self.uncommitted, {}
        self._committed_at = now
        if offsets:
            await self.group.commit(offsets)
