"""The hub core's CPU per input, in memory: no broker, no Faust, only what the hub does
with a record (validate, route, time, audit) and what its output writer does before the
wire (seal each audit record into its chain as JSON, count it in the metrics). Requests,
then a reply to each, go through `HubCore` in batches of 500, as the batch input feeds it.

    python -m tests.core_cost --inputs 20000 --runs 3

The garbage collector is set as the hub's worker sets it (`onestop.cli.hub_worker`: the
start-up heap frozen, young collections every 20,000 net new objects), since at CPython's
defaults it scans each batch's objects dozens of times and takes a quarter of the time.
It prints the CPU per input of each run and their median, the audit records written per
input and the bytes per input the hub would send. BENCHMARKS.md's tenth round was measured
this way; interleave runs of the two trees being compared, since the machine's load moves
every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from onestop.cli.hub_worker import YOUNG_COLLECTION_THRESHOLD
from schemas.audit import ChainHead
from schemas.clock import ClockAction, ClockCommand, ExerciseClock, ManualClock
from schemas.enums import MessageKind
from schemas.topics import Topics
from streams.core import HubCore
from streams.effects import Effects, Inbound
from streams.metrics import HubMetrics
from streams.settings import HubSettings
from tests.factories import make_inbound, make_message
from tests.memory_exchange import ACKNOWLEDGED, Acknowledged, AlwaysCaughtUp

TOPICS = Topics("cost")
WALL = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
BATCH = 500


@dataclass
class SealingSink:
    """The output writer up to the wire: audit records sealed and counted, bytes summed."""

    metrics: HubMetrics
    heads: dict[int, ChainHead] = field(default_factory=dict)
    records: int = 0
    sent_bytes: int = 0

    async def send(self, results: Sequence[Effects]) -> Acknowledged:
        for effects in results:
            for out in effects.outputs:
                self.sent_bytes += len(out.record.value or b"")
            for record in effects.audit:
                head = self.heads.setdefault(record.partition, ChainHead())
                self.sent_bytes += len(head.seal_json(record))
                self.metrics.observe_audit(record)
                self.records += 1
        return ACKNOWLEDGED


@dataclass(frozen=True)
class CoreCost:
    """One run: CPU seconds per input, audit records and bytes sent per input."""

    cpu_per_input: float
    records_per_input: float
    bytes_per_input: float


def _inputs(count: int) -> list[Inbound]:
    """`count` requests, then a reply to each, as read from the senders' outboxes."""
    requests = [
        make_message(MessageKind.REQUEST, request_id=f"R-{i}", message_id=f"req-{i}")
        for i in range(count)
    ]
    replies = [
        make_message(MessageKind.REPLY, request_id=f"R-{i}", message_id=f"rep-{i}")
        for i in range(count)
    ]
    return [make_inbound(m, TOPICS, offset) for offset, m in enumerate(requests + replies)]


async def measure(requests: int) -> CoreCost:
    """Put `requests` requests and their replies through a fresh core."""
    wall = ManualClock(WALL)
    clock = ExerciseClock(wall)
    clock.apply(
        ClockCommand(
            exercise_id="cost",
            action=ClockAction.START,
            issued_at=wall.now(),
            exercise_start=WALL,
            speed=1,
        )
    )
    metrics = HubMetrics(CollectorRegistry())
    sink = SealingSink(metrics)
    core = HubCore(
        HubSettings(bootstrap="unused", topics=TOPICS),
        requests={},
        positions={},
        sink=sink,
        clock=clock,
        clock_source=AlwaysCaughtUp(),
        metrics=metrics,
        wall=wall,
    )
    inputs = _inputs(requests)
    started = time.process_time()
    for at in range(0, len(inputs), BATCH):
        batch = inputs[at : at + BATCH]
        async with core.lock:
            await core.process(batch, len(batch))
    spent = time.process_time() - started
    return CoreCost(
        cpu_per_input=spent / len(inputs),
        records_per_input=sink.records / len(inputs),
        bytes_per_input=sink.sent_bytes / len(inputs),
    )


def _collect_as_the_worker_does() -> None:
    """The start-up heap out of the collector's sight, young collections at the worker's
    threshold (`QuietWorker.on_startup_finished`)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=20_000, help="requests plus replies")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    _collect_as_the_worker_does()
    costs = [asyncio.run(measure(options.inputs // 2)) for _ in range(options.runs)]
    for cost in costs:
        print(f"{cost.cpu_per_input * 1e6:.1f} us per input")
    median = statistics.median(c.cpu_per_input for c in costs)
    last = costs[-1]
    print(
        f"median {median * 1e6:.1f} us per input over {len(costs)} runs; "
        f"{last.records_per_input:.2f} audit records and {last.bytes_per_input:,.0f} B "
        "sent per input"
    )


if __name__ == "__main__":
    main()
