"""Runs actions at moments of exercise time. It follows the exercise clock: a pause holds
everything, a speed change or a jump takes effect at once. Nothing sleeps longer than a
short poll, so clock commands are obeyed within a fraction of a wall second.

An action is called with the moment it was scheduled for, so that what it sends can carry
that moment rather than the instant the loop got round to it: a node answering "after
2 hours" answers at exactly 2 hours, however busy its process was."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from schemas.clock import Clock, ExerciseClock

log = logging.getLogger(__name__)

Action = Callable[[datetime], Awaitable[None]]  # called with its scheduled exercise moment
POLL_SECONDS = 0.1


@dataclass(order=True)
class _Entry:
    at: float  # exercise epoch seconds
    order: int
    action: Action = field(compare=False)
    name: str = field(compare=False, default="")


class ExerciseScheduler:
    """A queue of actions keyed by exercise time."""

    def __init__(self, clock: ExerciseClock | Clock) -> None:
        self.clock = clock
        self._queue: list[_Entry] = []
        self._counter = itertools.count()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0

    def __len__(self) -> int:
        return len(self._queue)

    def at(self, moment: datetime, action: Action, name: str = "") -> None:
        """Run `action` when exercise time reaches `moment`."""
        heapq.heappush(self._queue, _Entry(moment.timestamp(), next(self._counter), action, name))
        self._wakeup.set()

    def next_at(self) -> float | None:
        """Exercise epoch seconds of the next action, or None."""
        return self._queue[0].at if self._queue else None

    def clear(self) -> int:
        """Drop every pending action (the exercise they belong to is over); return how
        many there were."""
        dropped = len(self._queue)
        self._queue.clear()
        return dropped

    async def run_due(self) -> int:
        """Run every action due now; return how many ran."""
        ran = 0
        # "Now" is read again for every action: an action may take a while, and the clock
        # may be started again meanwhile (a new exercise whose time begins earlier).
        while self._queue and self._queue[0].at <= self.clock.now().timestamp():
            entry = heapq.heappop(self._queue)
            moment = datetime.fromtimestamp(entry.at, UTC)
            try:
                await entry.action(moment)
            except Exception:
                self.failures += 1
                log.exception("scheduled action %s failed", entry.name)
                continue
            ran += 1
        return ran

    async def _loop(self) -> None:
        while True:
            await self.run_due()
            self._wakeup.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation
            # that comes as the event is set, and stop() would wait for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._pause()):
                    await self._wakeup.wait()

    def _pause(self) -> float:
        nxt = self.next_at()
        if nxt is None or not isinstance(self.clock, ExerciseClock):
            return POLL_SECONDS
        wait = self.clock.wall_seconds_until(datetime.fromtimestamp(nxt, self.clock.now().tzinfo))
        return POLL_SECONDS if wait is None else min(max(wait, 0.0), POLL_SECONDS)

    def start(self) -> None:
        """Start running actions in the background."""
        self._task = asyncio.create_task(self._loop(), name="exercise-scheduler")

    async def stop(self) -> None:
        """Stop; pending actions stay queued."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
