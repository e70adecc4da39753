"""How long the hub keeps a finished request (pure).

A settled request or a one-way message stays in the hub's table for a while after it
finished, so that a message sent again (a node retrying after a crash) is recognised as a
duplicate rather than answered twice. After `seconds` of wall time it is let go; without
this the table would grow with every message ever exchanged. Finish times only grow, so a
queue in finishing order gives the expired ones first at O(1) each.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import NamedTuple


class Finished(NamedTuple):
    """A request that finished at wall time `since` (epoch seconds)."""

    since: float
    request_id: str
    partition: int


class RetentionQueue:
    """Finished requests in the order they finished, kept as plain tuples that Python's
    garbage collector stops tracking (as in `streams.deadline_index`)."""

    def __init__(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"retention must be zero or more seconds, not {seconds}")
        self.seconds = seconds
        self._queue: deque[tuple[float, str, int]] = deque()

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, request_id: str, partition: int, since: float) -> None:
        """`request_id` finished at wall time `since`."""
        self._queue.append((since, request_id, partition))

    def expired(self, now: float) -> list[Finished]:
        """Take out the requests finished at least `seconds` before wall time `now`."""
        cutoff = now - self.seconds
        taken: list[Finished] = []
        while self._queue and self._queue[0][0] <= cutoff:
            taken.append(Finished(*self._queue.popleft()))
        return taken

    def rebuild(self, entries: Iterable[Finished]) -> None:
        """Replace the queue with `entries` (after a restart or a rebalance)."""
        self._queue = deque(sorted((e.since, e.request_id, e.partition) for e in entries))
