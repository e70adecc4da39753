"""The bookkeeping of one load run (pure): per message a state byte, counters, latency
histograms, and the intended send times of an open-loop schedule."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator

from producers.load.histogram import (
    LATENCY_HIGHEST_US,
    LATENCY_LOWEST_US,
    new_histogram,
    percentile_ms,
)
from producers.load.results import LoadStep

_SENT, _FAILED, _DELIVERED, _DEADLETTERED = 1, 2, 3, 4


class LoadRun:
    """The bookkeeping of one run: per message a state byte, counters and latency
    histograms (microseconds); `t0_wall` (epoch seconds) and `t0_mono` (loop seconds) are
    its start."""

    def __init__(self, tag: str, rate: float, duration: float) -> None:
        self.tag = tag
        self.rate = rate
        self.duration = duration
        self.t0_wall = 0.0
        self.t0_mono = 0.0
        self.states = bytearray()
        self.sent = 0
        self.unsent = 0
        self.delivered = 0
        self.deadlettered = 0
        self.errors = 0
        self.duplicates = 0
        self.outstanding = 0
        self.last_outcome_mono = 0.0
        self.latency = new_histogram()
        self.window = new_histogram()
        self.at_window_end: tuple[int, int, int] | None = None  # sent, delivered, deadlettered
        self.sending_done = False
        self.settled = asyncio.Event()  # set once everything sent has an outcome

    def all_sent(self) -> None:
        """Nothing more will be sent in this run."""
        self.sending_done = True
        self._check_settled()

    def _check_settled(self) -> None:
        if self.sending_done and self.outstanding == 0:
            self.settled.set()

    def sending(self, index: int) -> None:
        """Message `index` is about to be handed to the producer."""
        if index >= len(self.states):
            self.states.extend(bytes(index + 1024 - len(self.states)))
        self.states[index] = _SENT
        self.sent += 1
        self.outstanding += 1

    def failed(self, index: int) -> None:
        """The producer could not send message `index`."""
        self.errors += 1
        if self.states[index] == _SENT:
            self.states[index] = _FAILED
            self.outstanding -= 1
            self._check_settled()

    def outcome(self, index: int, deadletter: bool, latency_us: int | None, now: float) -> None:
        """Message `index` was seen in an inbox (or the dead-letter topic)."""
        if index >= len(self.states):
            return  # not one of ours: a number this run never sent
        state = self.states[index]
        if state in (_DELIVERED, _DEADLETTERED):
            self.duplicates += 1
            return
        if state == 0:
            return
        if state == _SENT:
            self.outstanding -= 1
            self._check_settled()
        self.last_outcome_mono = now
        if deadletter:
            self.states[index] = _DEADLETTERED
            self.deadlettered += 1
            return
        self.states[index] = _DELIVERED
        self.delivered += 1
        if latency_us is not None:
            value = min(max(latency_us, LATENCY_LOWEST_US), LATENCY_HIGHEST_US)
            self.latency.record_value(value)
            self.window.record_value(value)

    def close_window(self) -> None:
        """Note the counts at the end of the sending window."""
        self.at_window_end = (self.sent, self.delivered, self.deadlettered)

    @property
    def missing(self) -> int:
        """Sent and not (yet) seen delivered or dead-lettered."""
        return self.outstanding

    def seconds(self) -> float:
        """The run's length: the sending window, or until the last outcome when later."""
        if self.last_outcome_mono <= 0:
            return self.duration
        return max(self.duration, self.last_outcome_mono - self.t0_mono)

    def step(self) -> LoadStep:
        """This run judged as a step of the max-rate search."""
        sent, delivered, deadlettered = self.at_window_end or (
            self.sent,
            self.delivered,
            self.deadlettered,
        )
        backlog = sent - delivered - deadlettered
        completed_per_s = (delivered + deadlettered) / self.duration
        sustained = (
            backlog < self.rate * 1.0
            and completed_per_s >= 0.9 * self.rate
            and self.errors == 0
            and self.unsent == 0
        )
        return LoadStep(
            rate=self.rate,
            seconds=self.duration,
            sent=self.sent,
            delivered=self.delivered,
            deadlettered=self.deadlettered,
            errors=self.errors,
            missing=self.missing,
            backlog_at_end=backlog,
            completed_per_s=completed_per_s,
            p99_ms=percentile_ms(self.latency, 99),
            sustained=sustained,
        )


def arrival_offsets(
    rate: float, duration: float, poisson: bool, rng: random.Random
) -> Iterator[float]:
    """Intended send times in seconds after the start, below `duration`: every 1/rate, or
    exponential gaps of mean 1/rate (Poisson arrivals)."""
    if not poisson:
        count = math.ceil(rate * duration)
        for index in range(count):
            offset = index / rate
            if offset >= duration:
                return
            yield offset
        return
    offset = rng.expovariate(rate)
    while offset < duration:
        yield offset
        offset += rng.expovariate(rate)
