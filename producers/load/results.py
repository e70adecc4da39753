"""What a load run reports: progress ticks, steps of the max-rate search, the result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadTick:
    """Progress over the last tick: rates in messages per second, latency in milliseconds
    (of the messages delivered during the tick), `elapsed` in seconds since the start."""

    elapsed: float
    sent_per_s: float
    delivered_per_s: float
    backlog: int
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class LoadStep:
    """One step of the max-rate search. `rate` offered, `completed_per_s` = delivered plus
    dead-lettered per second during the step's sending window; `backlog_at_end` = sent minus
    delivered minus dead-lettered when the window closed."""

    rate: float
    seconds: float
    sent: int
    delivered: int
    deadlettered: int
    errors: int
    missing: int
    backlog_at_end: int
    completed_per_s: float
    p99_ms: float
    sustained: bool


@dataclass(frozen=True)
class LoadResult:
    """What a load run measured. `throughput` is delivered messages per second over the
    run (sending window, or until the last outcome when later); latencies in milliseconds.
    `missing` messages were sent but neither delivered nor dead-lettered before the drain
    timeout; `unsent` were due but skipped because the sender fell a window behind."""

    sent: int
    delivered: int
    deadlettered: int
    errors: int
    duplicates: int
    missing: int
    unsent: int
    throughput: float
    offered_rate: float
    seconds: float
    latency_ms: dict[str, float]
    settings: dict[str, Any]
    machine: dict[str, Any]
    max_rate: float | None = None
    steps: list[LoadStep] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return asdict(self)
