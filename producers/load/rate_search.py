"""The max-rate search (pure): double the offered rate until a step is not sustained, then
bisect between the best sustained and the first failed rate to within 10 %."""

from __future__ import annotations

import math
from typing import Final

from producers.load.results import LoadStep

MAX_SEARCH_STEPS: Final = 12


class RateSearch:
    """Which rate to try next, given the steps measured so far (messages per second)."""

    def __init__(self, start_rate: float, max_steps: int = MAX_SEARCH_STEPS) -> None:
        self.steps: list[LoadStep] = []
        self.low = 0.0  # best sustained rate so far
        self.high = math.inf  # lowest rate not sustained so far
        self._next: float | None = start_rate
        self._max_steps = max_steps

    def next_rate(self) -> float | None:
        """The rate of the next step, or None when the search is over."""
        return self._next

    def record(self, step: LoadStep) -> bool:
        """Take the measured `step` of the rate `next_rate()` gave; True when it is the
        best sustained step so far."""
        rate = step.rate
        self.steps.append(step)
        best = step.sustained
        if best:
            self.low = rate
        else:
            self.high = rate
        if len(self.steps) >= self._max_steps:
            self._next = None
        elif math.isinf(self.high):
            self._next = rate * 2
        elif self.low > 0 and (self.high - self.low) <= 0.1 * self.high:
            self._next = None
        else:
            self._next = (self.low + self.high) / 2
        if self._next is not None and self._next < 1.0:
            self._next = None
        return best
