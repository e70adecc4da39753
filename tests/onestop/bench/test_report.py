"""The benchmark report without a broker: ratios, targets, JSON sections and the row."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.console import Console

from onestop.bench.capacity import CapacityReport, DeadlineScan, OpenRequestMemory
from onestop.bench.render import (
    BENCHMARK_COLUMNS,
    append_benchmarks,
    benchmark_row,
    service_table,
)
from onestop.bench.report import DEFAULT_PATH, BenchReport, Measured, Spread
from onestop.bench.run import cores_note
from producers.load.results import LoadResult

CAPACITY = CapacityReport(
    memory=OpenRequestMemory(1_000_000, 400.0, 531_000_000, 531.0, 104_000_000, 104.0, 2.0),
    deadlines=[DeadlineScan(1_000, 100, 120.0, 1.2, 90.0),
               DeadlineScan(1_000_000, 100, 234.0, 2.3, 15_000.0)],
)  # fmt: skip


def result(delivered: int, throughput: float, p99: float, max_rate: float | None) -> LoadResult:
    latency = {"p50": 10.0, "p90": 20.0, "p99": p99, "p99_9": p99 * 2, "max": 120.0}
    return LoadResult(
        sent=delivered, delivered=delivered, deadlettered=0, errors=0, duplicates=0,
        missing=0, unsent=0, throughput=throughput, offered_rate=throughput,
        seconds=20.0, latency_ms=latency, settings={}, machine={}, max_rate=max_rate,
    )  # fmt: skip


def measured(name: str, max_rate: float, cpu: float, p99s: tuple[float, ...]) -> Measured:
    runs = [result(10_000, max_rate / 2, p99, None) for p99 in p99s]
    return Measured(name, result(1, max_rate, 0.0, max_rate), runs, cpu)


def report(**hubs: Measured) -> BenchReport:
    return BenchReport(
        date="2026-12-03T08:00:00Z",
        machine={"platform": "Linux", "cpu_count": 2},
        raw=measured("passthrough", 20_000.0, 0.5, (5.0,)),  # 50 us per message
        faust_peer=measured("Faust peer", 1_600.0, 2.0, (9.0,)),  # 200 us
        hubs=hubs or {"batch": measured("hub", 2_000.0, 18.0, (60.0, 45.0, 48.0))},  # 600 us
        capacity=CAPACITY,
    )


def test_latency_is_the_median_and_range_of_the_runs() -> None:
    hub = measured("hub", 2_000.0, 18.0, (60.0, 45.0, 48.0))

    assert hub.latency("p99") == Spread(48.0, 45.0, 60.0)
    assert hub.cpu_us_per_message == 600.0  # 18 s over 30,000 messages


def test_targets_judge_the_hub_against_both_yardsticks() -> None:
    bench = report()

    assert bench.hub_vs_raw() == 0.1
    assert bench.hub_vs_faust_peer() == 1.25
    assert bench.hub_cpu_vs_raw() == 12.0
    assert bench.targets_met() == {
        "hub_vs_raw": False,  # 10 % < 25 %
        "hub_cpu_vs_raw": False,  # 12x > 4x
        "hub_vs_faust_peer": True,
        "p99_at_half_max": True,  # median 48 ms, though one run had 60
    }


def test_a_figure_that_could_not_be_measured_misses_its_target() -> None:
    hub = Measured("hub", result(1, 2_000.0, 0.0, 2_000.0), [], None)

    met = report(batch=hub).targets_met()

    assert not met["hub_cpu_vs_raw"] and not met["p99_at_half_max"]


def test_json_has_a_section_per_service_and_path_and_both_ratios() -> None:
    stream = measured("hub", 4_000.0, 12.0, (30.0, 31.0, 29.0))
    default = measured("hub", 2_000.0, 18.0, (48.0,))
    data = report(**{DEFAULT_PATH: default, "stream": stream}).as_json()

    assert data["faust_peer"]["max_rate"] == 1_600.0
    assert data["faust_peer"]["cpu_us_per_message"] == 200.0
    assert data["hub"]["input"] == DEFAULT_PATH and data["hub_stream"]["input"] == "stream"
    assert data["hub_stream"]["hub_vs_faust_peer"] == 2.5
    assert data["hub_stream"]["latency_ms"]["p99"] == {"median": 30.0, "min": 29.0, "max": 31.0}
    assert data["hub_vs_raw"] == 0.1 and data["hub_vs_faust_peer"] == 1.25
    assert set(data["targets_met"]) == {
        "hub_vs_raw",
        "hub_cpu_vs_raw",
        "hub_vs_faust_peer",
        "p99_at_half_max",
    }


def test_the_raw_passthrough_at_the_hubs_rate_is_the_latency_floor() -> None:
    raw = measured("passthrough", 20_000.0, 0.5, (5.0,))
    floor = [result(30_000, 1_000.0, p99, None) for p99 in (31.0, 44.0, 38.0)]
    raw = replace(raw, floor=replace(raw, runs=floor, cpu_seconds=9.0))
    bench = replace(report(), raw=raw)

    at_hub_rate = bench.as_json()["raw_passthrough"]["at_hub_rate"]
    assert at_hub_rate["run_rate"] == 1_000.0
    assert at_hub_rate["cpu_us_per_message"] == 100.0  # 9 s over 90,000 messages
    assert at_hub_rate["latency_ms"]["p99"] == {"median": 38.0, "min": 31.0, "max": 44.0}
    assert len(at_hub_rate["runs"]) == 3
    # The raw passthrough's own half-max run stays what its CPU figure is taken from.
    assert bench.raw.cpu_us_per_message == 50.0
    cells = [cell.strip() for cell in benchmark_row(bench).strip().strip("|").split("|")]
    named = dict(zip(BENCHMARK_COLUMNS, cells, strict=True))
    assert named["raw p50 / p99 ms @ the same rate (median of 3)"] == "10.0 / 38.0"
    assert report().as_json()["raw_passthrough"]["at_hub_rate"] is None
    console = Console(width=200, record=True)
    console.print(service_table(bench))
    printed = console.export_text()
    assert "raw passthrough at the hub's rate" in printed and "100 @ 1000/s" in printed


def test_row_carries_peer_ratios_cpu_and_latency_spread() -> None:
    cells = [cell.strip() for cell in benchmark_row(report()).strip().strip("|").split("|")]
    named = dict(zip(BENCHMARK_COLUMNS, cells, strict=True))

    assert named["faust peer max msg/s"] == "1600"
    assert named["hub/raw"] == "10.0%" and named["hub/faust peer"] == "125.0%"
    assert named["hub CPU us/msg"] == "600"
    assert named["faust peer CPU us/msg"] == "200" and named["raw CPU us/msg"] == "50"
    assert named["p50 / p99 / p99.9 ms @ rate (median, min-max of 3)"] == (
        "10.0 (10.0-10.0) / 48.0 (45.0-60.0) / 96.0 (90.0-120.0) @ 1000/s"
    )
    assert named["other hub paths: max msg/s, CPU us/msg, p99 ms"] == "-"
    assert named["raw p50 / p99 ms @ the same rate (median of 3)"] == "-"
    assert named["due() 1k / 1M us"] == "120 / 234"
    assert named["targets"] == "hub/raw MISSED, CPU/raw MISSED, hub/faust peer met, p99 met"


def test_row_gives_every_hub_path_after_the_first_its_max_cpu_and_p99() -> None:
    bench = report(
        batch=measured("hub", 2_000.0, 18.0, (60.0, 45.0, 48.0)),
        stream=measured("hub", 1_000.0, 15.0, (70.0,)),  # 1,500 us per message
        pipelined=measured("hub", 3_000.0, 18.0, (30.0, 40.0, 35.0)),  # 600 us
    )
    cells = [cell.strip() for cell in benchmark_row(bench).strip().strip("|").split("|")]
    named = dict(zip(BENCHMARK_COLUMNS, cells, strict=True))

    assert named["hub max msg/s"] == "2000"
    assert named["other hub paths: max msg/s, CPU us/msg, p99 ms"] == (
        "stream 1000, 1500, 70.0; pipelined 3000, 600, 35.0"
    )


def test_rows_of_another_layout_keep_their_header(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n| date | raw |\n|---|---|\n| 2026-11-21 | 28000 |\n")

    append_benchmarks(report(), path)
    append_benchmarks(report(), path)

    lines = path.read_text().splitlines()
    assert lines[4] == "| 2026-11-21 | 28000 |" and lines[5] == ""
    header, rule, first, second = lines[6:]
    assert header.count("|") - 1 == len(BENCHMARK_COLUMNS) == rule.count("-|")
    assert first == second and first.count("|") == header.count("|")


def test_more_workers_than_spare_cores_is_said() -> None:
    assert cores_note([1, 2], 2) is not None
    assert cores_note([1, 2], 8) is None
    assert cores_note([1], 2) is None
