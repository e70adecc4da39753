"""The benchmark's bookkeeping: a service's CPU time and the BENCHMARKS.md row."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from onestop.bench.capacity import CapacityReport, DeadlineScan, OpenRequestMemory
from onestop.bench.run import BENCHMARK_COLUMNS, BenchReport, append_benchmarks
from onestop.kafka.services import ServiceProcess
from producers.load.results import LoadResult

BUSY = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n"


def test_cpu_seconds_counts_what_the_process_burns(tmp_path: Path) -> None:
    service = ServiceProcess(
        "busy", [sys.executable, "-c", BUSY + "time.sleep(30)"], tmp_path / "busy.log"
    ).start()
    try:
        used = 0.0
        for _ in range(100):
            used = service.cpu_seconds() or 0.0
            if used >= 0.6:
                break
            time.sleep(0.1)
        assert 0.6 <= used < 5.0
    finally:
        service.stop()
    assert service.cpu_seconds() is None  # ended


def result(delivered: int, throughput: float, p99: float, max_rate: float | None) -> LoadResult:
    latency = {"p50": 10.0, "p90": 20.0, "p99": p99, "p99_9": 90.0, "max": 120.0}
    return LoadResult(
        sent=delivered, delivered=delivered, deadlettered=0, errors=0, duplicates=0,
        missing=0, unsent=0, throughput=throughput, offered_rate=throughput,
        seconds=20.0, latency_ms=latency, settings={}, machine={}, max_rate=max_rate,
    )  # fmt: skip


def test_row_carries_the_ratio_cpu_per_message_and_targets(tmp_path: Path) -> None:
    capacity = CapacityReport(
        memory=OpenRequestMemory(1_000_000, 400.0, 531_000_000, 531.0, 104_000_000, 104.0, 2.0),
        deadlines=[DeadlineScan(1_000, 100, 120.0, 1.2, 90.0),
                   DeadlineScan(1_000_000, 100, 234.0, 2.3, 15_000.0)],
    )  # fmt: skip
    report = BenchReport(
        date="2026-11-21T08:00:00Z",
        machine={"platform": "Linux", "cpus": 2},
        raw=result(200_000, 20_000.0, 5.0, 20_000.0),
        hub=result(40_000, 2_000.0, 200.0, 2_000.0),
        hub_half=result(20_000, 1_000.0, 45.0, None),
        capacity=capacity,
        hub_cpu_seconds=13.0,
    )
    path = tmp_path / "BENCHMARKS.md"

    append_benchmarks(report, path)

    header, rule, row = path.read_text().splitlines()[-3:]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert len(cells) == len(BENCHMARK_COLUMNS) == header.count("|") - 1 == rule.count("-|")
    named = dict(zip(BENCHMARK_COLUMNS, cells, strict=True))
    assert named["hub/raw"] == "10.0%"
    assert named["hub CPU us/msg"] == "650"  # 13 s over 20,000 messages
    assert named["p50 / p99 / p99.9 ms @ rate"] == "10.0 / 45.0 / 90.0 @ 1000/s"
    assert named["due() 1k / 1M us"] == "120 / 234"
    assert named["targets"] == "hub/raw MISSED, p99 met"
