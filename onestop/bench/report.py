"""What a benchmark measured and how it is judged (pure, no I/O): per service its max-rate
search and its fixed-rate runs with their CPU, the ratios between the hub and its two
yardsticks, latency as median and spread of runs, the targets, and the JSON report.

Rates and throughputs in messages per second (delivered), latencies in milliseconds, CPU
in seconds (and microseconds per message), memory in bytes."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from onestop.bench.capacity import CapacityReport
from producers.load.results import LoadResult
from streams.settings import DEFAULT_INPUT

TARGET_RAW_SHARE: Final = 0.25  # hub max throughput >= 25 % of the raw passthrough's
TARGET_CPU_FACTOR: Final = 4.0  # hub CPU per message <= 4x the raw passthrough's
TARGET_PEER_SHARE: Final = 1.0  # hub max throughput >= the plain Faust peer's
TARGET_P99_MS: Final = 50.0  # p99 at half the hub's max rate, median of the runs
LATENCY_FIGURES: Final = ("p50", "p99", "p99_9", "max")
DEFAULT_PATH: Final = DEFAULT_INPUT.value  # the hub's default input path: JSON section `hub`


def hub_section(path: str) -> str:
    """The JSON section of the hub on input `path`: `hub` for the default, else `hub_<path>`."""
    return "hub" if path == DEFAULT_PATH else f"hub_{path}"


@dataclass(frozen=True)
class Spread:
    """Median, lowest and highest of one figure over several runs."""

    median: float
    low: float
    high: float

    @staticmethod
    def of(values: Sequence[float]) -> Spread:
        """The spread of `values` (all 0 when there are none)."""
        if not values:
            return Spread(0.0, 0.0, 0.0)
        return Spread(statistics.median(values), min(values), max(values))

    def as_json(self) -> dict[str, float]:
        """`{"median", "min", "max"}`."""
        return {"median": self.median, "min": self.low, "max": self.high}


@dataclass(frozen=True)
class Measured:
    """One service under test (`name`, e.g. "hub" or "raw passthrough") with `workers`
    processes: its max-rate search `search`, then the fixed-rate `runs` it did from idle
    (backlog drained, then a settle period), and the CPU seconds its processes used
    during those runs (None where /proc cannot tell); `drained_seconds`: how long each
    run waited for the backlog of what came before. `floor` (the raw passthrough only): the
    same service's runs from idle at the hub's run rate, the latency that the generator,
    the broker and the machine take there without the hub."""

    name: str
    search: LoadResult
    runs: Sequence[LoadResult] = ()
    cpu_seconds: float | None = None
    workers: int = 1
    drained_seconds: Sequence[float | None] = field(default_factory=tuple)
    floor: Measured | None = None

    @property
    def max_rate(self) -> float:
        """The highest offered rate sustained in the search (0 when none was)."""
        return self.search.max_rate or 0.0

    @property
    def throughput(self) -> float:
        """Delivered messages per second at the max rate."""
        return self.search.throughput

    @property
    def run_rate(self) -> float | None:
        """The offered rate of the fixed-rate runs, if there were any."""
        return self.runs[0].offered_rate if self.runs else None

    @property
    def cpu_us_per_message(self) -> float | None:
        """CPU (all processes, all threads) per message delivered in the runs, in us."""
        delivered = sum(run.delivered for run in self.runs)
        if self.cpu_seconds is None or not delivered:
            return None
        return self.cpu_seconds / delivered * 1e6

    def latency(self, figure: str) -> Spread:
        """Median and range of latency `figure` (p50, p99, p99_9, max) over the runs, ms."""
        return Spread.of([run.latency_ms[figure] for run in self.runs])

    def runs_json(self) -> dict[str, Any]:
        """The fixed-rate runs as JSON-ready values: rate, CPU, latency spread, each run."""
        return {
            "run_rate": self.run_rate,
            "cpu_seconds": self.cpu_seconds,
            "cpu_us_per_message": self.cpu_us_per_message,
            "latency_ms": {f: self.latency(f).as_json() for f in LATENCY_FIGURES},
            "runs": [run.as_json() for run in self.runs],
        }

    def as_json(self) -> dict[str, Any]:
        """JSON-ready values, the search and every run in full."""
        return {
            "name": self.name,
            "workers": self.workers,
            "max_rate": self.max_rate,
            "throughput": self.throughput,
            **self.runs_json(),
            "drained_seconds": list(self.drained_seconds),
            "max_search": self.search.as_json(),
            "at_hub_rate": self.floor.runs_json() if self.floor is not None else None,
        }


def share(part: float | None, whole: float | None) -> float | None:
    """`part / whole`, None when either is unknown or `whole` is 0."""
    if part is None or not whole:
        return None
    return part / whole


@dataclass(frozen=True)
class BenchReport:
    """One benchmark run: the raw passthrough, the plain Faust peer, the hub on each input
    path measured (`hubs`; ratios and targets without a path are those of the first), the
    hub's max with more workers (`scale_out`, by worker count), the capacity figures, and
    `notes` on what the figures cannot show (cores shared)."""

    date: str
    machine: Mapping[str, Any]
    raw: Measured
    faust_peer: Measured
    hubs: Mapping[str, Measured]
    capacity: CapacityReport
    scale_out: Mapping[int, Measured] = field(default_factory=dict)
    notes: Sequence[str] = ()

    @property
    def hub(self) -> Measured:
        """The hub on the first input path measured (the default path unless not asked)."""
        return next(iter(self.hubs.values()))

    def hub_vs_raw(self, path: str | None = None) -> float | None:
        """Hub max throughput over the raw passthrough's."""
        return share(self._hub(path).throughput, self.raw.throughput)

    def hub_vs_faust_peer(self, path: str | None = None) -> float | None:
        """Hub max throughput over the plain Faust peer's."""
        return share(self._hub(path).throughput, self.faust_peer.throughput)

    def hub_cpu_vs_raw(self, path: str | None = None) -> float | None:
        """Hub CPU per message over the raw passthrough's."""
        return share(self._hub(path).cpu_us_per_message, self.raw.cpu_us_per_message)

    def targets_met(self, path: str | None = None) -> dict[str, bool]:
        """The targets for the hub on input `path` (default: the default path); a figure
        that could not be measured misses its target."""
        raw_share = self.hub_vs_raw(path)
        peer_share = self.hub_vs_faust_peer(path)
        cpu_factor = self.hub_cpu_vs_raw(path)
        hub = self._hub(path)
        return {
            "hub_vs_raw": raw_share is not None and raw_share >= TARGET_RAW_SHARE,
            "hub_cpu_vs_raw": cpu_factor is not None and cpu_factor <= TARGET_CPU_FACTOR,
            "hub_vs_faust_peer": peer_share is not None and peer_share >= TARGET_PEER_SHARE,
            "p99_at_half_max": bool(hub.runs) and hub.latency("p99").median <= TARGET_P99_MS,
        }

    def _hub(self, path: str | None) -> Measured:
        return self.hub if path is None else self.hubs[path]

    def _hub_json(self, path: str) -> dict[str, Any]:
        return {
            **self.hubs[path].as_json(),
            "input": path,
            "hub_vs_raw": self.hub_vs_raw(path),
            "hub_vs_faust_peer": self.hub_vs_faust_peer(path),
            "hub_cpu_vs_raw": self.hub_cpu_vs_raw(path),
            "targets_met": self.targets_met(path),
        }

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready values: sections `raw_passthrough`, `faust_peer`, `hub`
        (default input path) and `hub_<path>` for each other path, `workers`."""
        paths = list(self.hubs)
        data: dict[str, Any] = {
            "date": self.date,
            "machine": dict(self.machine),
            "raw_passthrough": self.raw.as_json(),
            "faust_peer": self.faust_peer.as_json(),
        }
        for path in paths:
            data[hub_section(path)] = {"measured": True, **self._hub_json(path)}
        data.update(
            hub_vs_raw=self.hub_vs_raw(),
            hub_vs_faust_peer=self.hub_vs_faust_peer(),
            hub_cpu_vs_raw=self.hub_cpu_vs_raw(),
            workers=[
                {
                    "workers": count,
                    "input": paths[0],
                    "max_rate": measured.max_rate,
                    "throughput": measured.throughput,
                    "steps": [asdict(step) for step in measured.search.steps],
                }
                for count, measured in sorted(self.scale_out.items())
            ],
            capacity=self.capacity.as_json(),
            targets={
                "hub_vs_raw": TARGET_RAW_SHARE,
                "hub_cpu_vs_raw": TARGET_CPU_FACTOR,
                "hub_vs_faust_peer": TARGET_PEER_SHARE,
                "p99_ms_at_half_max": TARGET_P99_MS,
            },
            targets_met=self.targets_met(),
            notes=list(self.notes),
        )
        return data
