"""Which requests fall due next (pure): a min-heap of deadlines.

Finding what is due costs in proportion to what falls due (each pop is O(log n)), not to
the number of open requests. Entries are never removed eagerly: a request answered or
paused meanwhile is skipped when its entry comes up (the store has the truth), and a
deadline that moves gets a new entry.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple


class DueEntry(NamedTuple):
    """A deadline (epoch seconds, exercise time) of one request."""

    deadline: float
    request_id: str
    partition: int


class DeadlineIndex:
    """Deadlines of the requests in the partitions a worker owns.

    The heap holds plain tuples, which Python's garbage collector stops tracking (it
    untracks exact tuples of untracked values, not named tuples): a heap of a million
    entries adds nothing to the hub's collection pauses."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str, int]] = []

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, request_id: str, deadline: datetime, partition: int) -> None:
        """Remember that `request_id` falls due at exercise time `deadline`."""
        heapq.heappush(self._heap, (deadline.timestamp(), request_id, partition))

    def due(self, now: datetime, limit: int = 10_000) -> list[DueEntry]:
        """Take out the entries due at exercise time `now`, earliest first, at most `limit`."""
        cutoff = now.timestamp()
        taken: list[DueEntry] = []
        while self._heap and self._heap[0][0] <= cutoff and len(taken) < limit:
            taken.append(DueEntry(*heapq.heappop(self._heap)))
        return taken

    def next_deadline(self) -> float | None:
        """The earliest deadline held (epoch seconds), or None."""
        return self._heap[0][0] if self._heap else None

    def rebuild(self, entries: Iterable[DueEntry]) -> None:
        """Replace the index with `entries` (after a restart or a rebalance)."""
        self._heap = [(e.deadline, e.request_id, e.partition) for e in entries]
        heapq.heapify(self._heap)
