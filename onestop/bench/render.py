"""A benchmark report for people: the BENCHMARKS.md row (and the file's header when it is
new), the tables `onestop bench` prints, and the JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

from rich.table import Table

from onestop.bench.report import (
    TARGET_CPU_FACTOR,
    TARGET_P99_MS,
    TARGET_PEER_SHARE,
    TARGET_RAW_SHARE,
    BenchReport,
    Measured,
    Spread,
)
from onestop.paths import BENCHMARKS_PATH
from producers.load.machine import machine_line

BENCHMARK_COLUMNS: Final = (
    "date (UTC)",
    "machine",
    "raw max msg/s",
    "faust peer max msg/s",
    "hub max msg/s",
    "hub/raw",
    "hub/faust peer",
    "p50 / p99 / p99.9 ms @ rate (median, min-max of 3)",
    "raw p50 / p99 ms @ the same rate (median of 3)",
    "hub CPU us/msg",
    "faust peer CPU us/msg",
    "raw CPU us/msg",
    "other hub paths: max msg/s, CPU us/msg, p99 ms",
    "B/open req (table + index)",
    "due() 1k / 1M us",
    "targets",
)
TARGET_NAMES: Final = {
    "hub_vs_raw": "hub/raw",
    "hub_cpu_vs_raw": "CPU/raw",
    "hub_vs_faust_peer": "hub/faust peer",
    "p99_at_half_max": "p99",
}

BENCHMARKS_HEADER: Final = """\
# OneStop benchmarks

Rows are appended by `onestop bench` (one run, one broker, on the machine named in the
row); keep the rows the machines produced. Every figure comes from the open-loop load
generator (`producers/load`): messages are sent at their intended times whatever the
receiver does, and latency is counted from the intended send time to the moment the inbox
copy is read, so a stalled sender cannot hide latency. The generator, the services under
test and the broker share the machine's CPUs; compare rows of the same machine.

"""


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _spread(spread: Spread) -> str:
    return f"{spread.median:.1f} ({spread.low:.1f}-{spread.high:.1f})"


def latency_cell(measured: Measured) -> str:
    """p50 / p99 / p99.9 as median (min-max) over the runs, and their rate."""
    if not measured.runs:
        return "-"
    figures = " / ".join(_spread(measured.latency(f)) for f in ("p50", "p99", "p99_9"))
    return f"{figures} @ {measured.run_rate or 0:.0f}/s"


def floor_cell(raw: Measured) -> str:
    """The raw passthrough's median p50 / p99 at the hub's run rate."""
    floor = raw.floor
    if floor is None or not floor.runs:
        return "-"
    return f"{floor.latency('p50').median:.1f} / {floor.latency('p99').median:.1f}"


def targets_cell(met: dict[str, bool]) -> str:
    """`hub/raw MISSED, CPU/raw met, ...`."""
    return ", ".join(f"{TARGET_NAMES[n]} {'met' if ok else 'MISSED'}" for n, ok in met.items())


def benchmark_row(report: BenchReport) -> str:
    """The BENCHMARKS.md table row of `report` (the hub columns: its first input path)."""
    memory = report.capacity.memory
    scans = {scan.open_requests: scan for scan in report.capacity.deadlines}
    small, large = scans.get(1_000), scans.get(1_000_000)
    due = (
        f"{small.due_us_median:.0f} / {large.due_us_median:.0f}"
        if small is not None and large is not None
        else "-"
    )
    others = "; ".join(
        f"{path} {hub.max_rate:.0f}, {_number(hub.cpu_us_per_message)}, "
        f"{hub.latency('p99').median:.1f}"
        for path, hub in report.hubs.items()
        if hub is not report.hub
    )
    cells = [
        report.date,
        machine_line(report.machine),
        f"{report.raw.max_rate:.0f}",
        f"{report.faust_peer.max_rate:.0f}",
        f"{report.hub.max_rate:.0f}",
        _percent(report.hub_vs_raw()),
        _percent(report.hub_vs_faust_peer()),
        latency_cell(report.hub),
        floor_cell(report.raw),
        _number(report.hub.cpu_us_per_message),
        _number(report.faust_peer.cpu_us_per_message),
        _number(report.raw.cpu_us_per_message),
        others or "-",
        f"{memory.table_bytes_per_request:.0f} + {memory.index_bytes_per_request:.0f}",
        due,
        targets_cell(report.targets_met()),
    ]
    return "| " + " | ".join(cells) + " |\n"


def table_header() -> str:
    """The Results table's header and rule lines."""
    columns = "| " + " | ".join(BENCHMARK_COLUMNS) + " |\n"
    return columns + "|" + "---|" * len(BENCHMARK_COLUMNS) + "\n"


def append_benchmarks(report: BenchReport, path: Path = BENCHMARKS_PATH) -> None:
    """Append the row of `report` to `path`: after the header first if the file is new,
    and after a fresh header if the file's last table has other columns (rows of an
    older bench stay under the header they were made for)."""
    text = path.read_text() if path.exists() else ""
    if not text.strip():
        path.write_text(BENCHMARKS_HEADER + "## Results\n\n" + table_header())
    elif _last_table_header(text) != table_header().splitlines()[0]:
        with path.open("a") as out:
            out.write(("" if text.endswith("\n") else "\n") + "\n" + table_header())
    with path.open("a") as out:
        out.write(benchmark_row(report))


def _last_table_header(text: str) -> str | None:
    lines = text.splitlines()
    for number in range(len(lines) - 1, 0, -1):
        if lines[number].startswith("|---") and lines[number - 1].startswith("|"):
            return lines[number - 1]
    return None


def service_table(report: BenchReport) -> Table:
    """One row per service measured: max rate, CPU per message, latency of its runs."""
    table = Table(title="OneStop benchmark", header_style="bold")
    for name in ("service", "max msg/s", "delivered/s", "CPU us/msg @ rate"):
        table.add_column(name, justify="left" if name == "service" else "right")
    for name in ("p50 ms", "p99 ms", "p99.9 ms"):
        table.add_column(f"{name}\nmedian (min-max)", justify="right")
    table.add_column("vs raw", justify="right")
    table.add_column("vs faust peer", justify="right")
    floor = report.raw.floor
    services: list[tuple[str, Measured, str | None]] = [("raw passthrough", report.raw, None)]
    if floor is not None:
        services.append(("raw passthrough at the hub's rate", floor, None))
    services.append(("plain Faust peer", report.faust_peer, None))
    services += [(f"hub --input {path}", m, path) for path, m in report.hubs.items()]
    for label, measured, path in services:
        rate = measured.run_rate
        cpu = _number(measured.cpu_us_per_message)
        latency = ["-"] * 3
        if (path is not None or measured is floor) and measured.runs:
            latency = [_spread(measured.latency(f)) for f in ("p50", "p99", "p99_9")]
        table.add_row(
            label,
            "" if measured is floor else f"{measured.max_rate:.0f}",
            "" if measured is floor else f"{measured.throughput:.0f}",
            f"{cpu} @ {rate:.0f}/s" if rate is not None else cpu,
            *latency,
            _percent(report.hub_vs_raw(path)) if path else "",
            _percent(report.hub_vs_faust_peer(path)) if path else "",
        )
    return table


def targets_table(report: BenchReport) -> Table:
    """The targets for each hub path measured, and the capacity figures."""
    table = Table(title="Targets and capacity", header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target")
    for path in report.hubs:
        met = report.targets_met(path)
        hub = report.hubs[path]
        for name, value, target in (
            ("hub_vs_raw", _percent(report.hub_vs_raw(path)), f">= {TARGET_RAW_SHARE:.0%}"),
            (
                "hub_cpu_vs_raw",
                _number(report.hub_cpu_vs_raw(path), 1) + "x",
                f"<= {TARGET_CPU_FACTOR:.0f}x",
            ),
            (
                "hub_vs_faust_peer",
                _percent(report.hub_vs_faust_peer(path)),
                f">= {TARGET_PEER_SHARE:.0%}",
            ),
            (
                "p99_at_half_max",
                f"{hub.latency('p99').median:.1f} ms" if hub.runs else "-",
                f"<= {TARGET_P99_MS:.0f} ms",
            ),
        ):
            verdict = "met" if met[name] else "MISSED"
            table.add_row(f"{path}: {TARGET_NAMES[name]}", value, f"{target} {verdict}")
    memory = report.capacity.memory
    table.add_row("open request in table (bytes)", f"{memory.table_bytes_per_request:.0f}", "")
    table.add_row("  of which JSON value (bytes)", f"{memory.json_bytes_mean:.0f}", "")
    table.add_row("deadline index entry (bytes)", f"{memory.index_bytes_per_request:.0f}", "")
    table.add_row(f"decode all {memory.requests:,} entries (s)", f"{memory.decode_seconds:.2f}", "")
    for scan in report.capacity.deadlines:
        table.add_row(
            f"due(): {scan.due} of {scan.open_requests:,} open (us)",
            f"{scan.due_us_median:.0f}",
            f"full scan {scan.full_scan_us:,.0f} us",
        )
    return table


def workers_table(report: BenchReport) -> Table:
    """The hub's max rate by number of workers."""
    table = Table(title="Hub scale-out (one namespace, co-partitioned topics)")
    table.add_column("workers", justify="right")
    table.add_column("max msg/s", justify="right")
    table.add_column("delivered/s", justify="right")
    for count, measured in sorted(report.scale_out.items()):
        table.add_row(str(count), f"{measured.max_rate:.0f}", f"{measured.throughput:.0f}")
    return table


def write_json(path: Path, data: dict[str, Any]) -> None:
    """`data` as indented JSON at `path` (parent folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[call-overload]
    return str(value)
