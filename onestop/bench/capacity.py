"""What open requests cost the hub: memory per request in its table, and the time to find
due deadlines as the number of open requests grows.

Memory: the hub keeps each open request in its Faust table as
`RequestEntry.model_dump_json(exclude_defaults=True).encode()` keyed by request id
(`streams.stores.RequestStore`), in memory (`store="memory://"`), and schedules its deadline in
`streams.deadline_index.DeadlineIndex`. We build the same bytes for N requests (the first
one made by `Exchange.receive` itself, the others copies with their own ids) and measure the
growth of this process's resident set size. Run in a fresh interpreter
(`python -m onestop.bench.capacity`) so that freed memory of earlier work does not hide growth.

Deadlines: `DeadlineIndex.due()` is timed for the same number of due entries among 1,000
and among 1,000,000 open requests; a full scan of all requests, what a hub without the index
would do every tick, is timed beside it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from schemas.deadlines import DIRECTIVE_2023_977
from schemas.enums import Accessibility, Country, Urgency
from schemas.envelope import encode
from schemas.messages import Request
from schemas.topics import Topics, partition_for
from streams.deadline_index import DeadlineIndex, DueEntry
from streams.effects import Inbound
from streams.exchange import Exchange
from streams.lifecycle import RequestEntry
from streams.routing import RoutingConfig

DEFAULT_REQUESTS: Final = 1_000_000
DEFAULT_SIZES: Final = (1_000, 1_000_000)
DEFAULT_DUE: Final = 100
REPEATS: Final = 30
_PAGE_BYTES: Final = os.sysconf("SC_PAGE_SIZE")
_START: Final = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def rss_bytes() -> int:
    """This process's resident set size in bytes (/proc/self/statm)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * _PAGE_BYTES


def request_id(number: int) -> str:
    """A request id shaped like the ones nodes use, e.g. `PL-REQ-2026-0000042`."""
    return f"PL-REQ-2026-{number:07d}"


def stored_open_request() -> RequestEntry:
    """The RequestEntry the hub stores for a non-urgent PL -> LT request, made by
    `Exchange.receive` itself."""
    topics = Topics("capacity")
    store: dict[str, RequestEntry] = {}
    exchange = Exchange(topics, DIRECTIVE_2023_977, RoutingConfig(), store)
    message = Request(
        message_id=request_id(0),
        case_id="SIENA-CASE-2026-0000042",
        request_id=request_id(0),
        sender=Country.PL,
        recipient=Country.LT,
        language="en",
        sent_at=_START,
        urgency=Urgency.NON_URGENT,
        accessibility=Accessibility.DIRECT,
        subject="Registered keeper of vehicle WX 12345",
    )
    record = encode(message, wall_time=_START)
    assert record.key is not None
    inbound = Inbound(
        topic=topics.outbox(Country.PL),
        partition=partition_for(record.key, topics.partitions),
        offset=0,
        key=record.key,
        value=record.value,
        headers=record.headers,
        timestamp=_START.timestamp(),
    )
    exchange.receive(inbound, _START, _START)
    return store[request_id(0)]


@dataclass(frozen=True)
class OpenRequestMemory:
    """Resident memory of N open requests as the hub's table holds them (bytes), and of
    their deadline index entries; `decode_seconds` is the time to parse all N back, as the
    hub does for every request when it rebuilds its deadline index after a rebalance."""

    requests: int
    json_bytes_mean: float
    table_bytes: int
    table_bytes_per_request: float
    index_bytes: int
    index_bytes_per_request: float
    decode_seconds: float


def measure_open_request_memory(count: int = DEFAULT_REQUESTS) -> OpenRequestMemory:
    """Build `count` table entries and index entries; measure RSS growth of each."""
    template = stored_open_request()
    gc.collect()
    before = rss_bytes()
    table: dict[str, bytes] = {}
    json_total = 0
    for number in range(count):
        rid = request_id(number)
        value = template.model_copy(
            update={
                "request_id": rid,
                "opened_by": rid,
                "case_id": f"SIENA-CASE-2026-{number:07d}",
                "partition": number % 4,
            }
        )
        raw = value.model_dump_json(exclude_defaults=True).encode()
        json_total += len(raw)
        table[rid] = raw
    gc.collect()
    after_table = rss_bytes()
    index = DeadlineIndex()
    deadline = template.deadline or _START
    for number, rid in enumerate(table):
        index.schedule(rid, deadline + timedelta(seconds=number % 86_400), number % 4)
    gc.collect()
    after_index = rss_bytes()
    started = time.perf_counter()
    for raw in table.values():
        RequestEntry.model_validate_json(raw)
    decode_seconds = time.perf_counter() - started
    table_bytes = after_table - before
    index_bytes = after_index - after_table
    return OpenRequestMemory(
        requests=count,
        json_bytes_mean=json_total / count,
        table_bytes=table_bytes,
        table_bytes_per_request=table_bytes / count,
        index_bytes=index_bytes,
        index_bytes_per_request=index_bytes / count,
        decode_seconds=decode_seconds,
    )


@dataclass(frozen=True)
class DeadlineScan:
    """Time to take `due` due entries out of an index of `open_requests` entries: median
    over repeats, in microseconds; and one full scan of all their deadlines (what the hub
    would do each tick without the index), in microseconds."""

    open_requests: int
    due: int
    due_us_median: float
    due_us_per_entry: float
    full_scan_us: float


def measure_deadline_scan(open_requests: int, due: int = DEFAULT_DUE) -> DeadlineScan:
    """Time `DeadlineIndex.due()` returning `due` entries among `open_requests`."""
    now = _START
    entries = [
        DueEntry((now - timedelta(seconds=number + 1)).timestamp(), request_id(number), 0)
        for number in range(due)
    ]
    entries.extend(
        DueEntry((now + timedelta(seconds=number + 1)).timestamp(), request_id(number), 0)
        for number in range(due, open_requests)
    )
    index = DeadlineIndex()
    index.rebuild(entries)
    timings: list[float] = []
    for _ in range(REPEATS):
        started = time.perf_counter_ns()
        taken = index.due(now)
        timings.append((time.perf_counter_ns() - started) / 1000)
        assert len(taken) == due, f"expected {due} due entries, took {len(taken)}"
        for entry in taken:  # put them back for the next repeat
            index.schedule(entry.request_id, datetime.fromtimestamp(entry.deadline, UTC), 0)
    cutoff = now.timestamp()
    started = time.perf_counter_ns()
    found = sum(1 for entry in entries if entry.deadline <= cutoff)
    full_scan_us = (time.perf_counter_ns() - started) / 1000
    assert found == due
    median = statistics.median(timings)
    return DeadlineScan(
        open_requests=open_requests,
        due=due,
        due_us_median=median,
        due_us_per_entry=median / due,
        full_scan_us=full_scan_us,
    )


@dataclass(frozen=True)
class CapacityReport:
    """Memory per open request and deadline lookup cost at several sizes."""

    memory: OpenRequestMemory
    deadlines: list[DeadlineScan]

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready values."""
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> CapacityReport:
        """The report `as_json()` wrote."""
        return CapacityReport(
            memory=OpenRequestMemory(**data["memory"]),
            deadlines=[DeadlineScan(**d) for d in data["deadlines"]],
        )


def measure_capacity(
    requests: int = DEFAULT_REQUESTS,
    sizes: Sequence[int] = DEFAULT_SIZES,
    due: int = DEFAULT_DUE,
) -> CapacityReport:
    """Both measurements; memory first, while the process is still small."""
    memory = measure_open_request_memory(requests)
    gc.collect()
    return CapacityReport(memory, [measure_deadline_scan(size, due) for size in sizes])


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m onestop.bench.capacity`: print the report as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m onestop.bench.capacity",
        description="Memory per open request and deadline lookup cost, as JSON",
    )
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--due", type=int, default=DEFAULT_DUE)
    options = parser.parse_args(argv)
    report = measure_capacity(options.requests, options.sizes, options.due)
    print(json.dumps(report.as_json()))


if __name__ == "__main__":
    main()
