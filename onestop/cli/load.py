"""`onestop load` and `onestop bench`: load the hub, and benchmark it against a plain
Faust peer and a raw passthrough. The work is in `onestop.bench` and `producers.load`;
this is the shell."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from onestop.bench.load_run import run_load_against_hub
from onestop.bench.namespaces import fresh_namespace
from onestop.bench.processes import HUB_INPUTS
from onestop.bench.render import (
    append_benchmarks,
    service_table,
    targets_table,
    workers_table,
    write_json,
)
from onestop.bench.run import BenchOptions, run_bench
from onestop.cli.common import (
    BootstrapOption,
    CredentialsOption,
    PartitionsOption,
    fail,
    kafka_logins,
)
from onestop.kafka.bootstrap import resolve_bootstrap
from onestop.kafka.services import ServiceError
from onestop.kafka.topics import TopicLayoutError
from onestop.paths import BENCHMARKS_PATH
from producers.load.machine import machine_line
from producers.load.results import LoadResult, LoadStep, LoadTick
from producers.load.settings import LoadError, LoadSettings, parse_mix, parse_rate
from schemas.access import CredentialsError
from schemas.refusals import AccessRefused
from schemas.topics import Topics

console = Console()


def _quiet_kafka_client() -> None:
    # aiokafka logs retries (e.g. leaders of just-created topics) as warnings; they are
    # expected here and would bury the figures.
    client_log = logging.getLogger("aiokafka")
    if client_log.level < logging.ERROR:  # never louder than the entry point made it
        client_log.setLevel(logging.ERROR)


def _print_tick(tick: LoadTick) -> None:
    console.print(
        f"[dim]{tick.elapsed:6.1f} s[/]  sent {tick.sent_per_s:8.1f}/s  "
        f"delivered {tick.delivered_per_s:8.1f}/s  backlog {tick.backlog:7d}  "
        f"p50 {tick.p50_ms:8.1f} ms  p99 {tick.p99_ms:8.1f} ms",
        highlight=False,
    )


def _print_step(step: LoadStep) -> None:
    verdict = "[green]sustained[/]" if step.sustained else "[red]not sustained[/]"
    console.print(
        f"  step {step.rate:9.1f}/s: {step.completed_per_s:9.1f}/s out, backlog "
        f"{step.backlog_at_end:6d} at end, p99 {step.p99_ms:8.1f} ms  {verdict}",
        highlight=False,
    )


def _say(text: str) -> None:
    console.print(f"[dim]{text}[/]", highlight=False)


def result_table(title: str, result: LoadResult) -> Table:
    """The figures of one load run (latencies in ms)."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows: list[tuple[str, str]] = []
    if result.max_rate is not None:
        rows.append(("max sustained rate (msg/s)", f"{result.max_rate:.1f}"))
    rows += [
        ("offered rate (msg/s)", f"{result.offered_rate:.1f}"),
        ("sent", f"{result.sent}"),
        ("delivered", f"{result.delivered}"),
        ("dead-lettered", f"{result.deadlettered}"),
        ("missing", f"{result.missing}"),
        ("unsent (sender behind)", f"{result.unsent}"),
        ("send errors", f"{result.errors}"),
        ("duplicates", f"{result.duplicates}"),
        ("throughput (delivered/s)", f"{result.throughput:.1f}"),
    ]
    rows += [(f"latency {name} (ms)", f"{value:.2f}") for name, value in result.latency_ms.items()]
    for name, value in rows:
        table.add_row(name, value)
    return table


def load(
    rate: Annotated[
        str, typer.Option(help="Offered messages per second, or 'max' to search the highest")
    ] = "100",
    duration: Annotated[
        float,
        typer.Option(min=0.1, help="Seconds of sending (with --rate max: see --step-seconds)"),
    ] = 30.0,
    nodes: Annotated[
        int, typer.Option(min=2, max=27, help="Simulated EU nodes; node i sends to node i+1")
    ] = 4,
    mix: Annotated[
        str,
        typer.Option(
            help="Shares of kinds: request, spontaneous_information, bad (invalid, must be "
            "dead-lettered), e.g. request=0.8,spontaneous_information=0.2"
        ),
    ] = "request=1",
    poisson: Annotated[
        bool, typer.Option(help="Poisson arrivals instead of evenly spaced sends")
    ] = False,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the result as JSON to this file")
    ] = None,
    bootstrap: BootstrapOption = None,
    namespace: Annotated[
        str | None,
        typer.Option(help="Topic prefix; default a fresh one per run (load-<timestamp>)"),
    ] = None,
    partitions: PartitionsOption = 4,
    seed: Annotated[int, typer.Option(help="Seed of the kind mix and Poisson arrivals")] = 0,
    step_seconds: Annotated[
        float, typer.Option(min=1.0, help="Seconds per step of the --rate max search")
    ] = 5.0,
    keep_topics: Annotated[
        bool,
        typer.Option(
            help="Keep the topics of the generated namespace (a given --namespace is always kept)"
        ),
    ] = False,
    credentials: CredentialsOption = None,
) -> None:
    """Load the hub open-loop and report throughput and end-to-end latency.

    Starts a hub for the namespace unless one runs, waits until it delivers, sends at the
    offered rate whatever the hub does, and follows every message to its inbox or to the
    dead-letter topic. On a secure broker each node sends as its party, the hub runs as
    `hub`, deliveries are read as `reader`, topics made (and deleted) as `admin`."""
    _quiet_kafka_client()
    try:
        settings = LoadSettings(
            rate=parse_rate(rate),
            duration=duration,
            nodes=nodes,
            mix=parse_mix(mix),
            poisson=poisson,
            seed=seed,
            step_seconds=step_seconds,
        )
    except LoadError as exc:
        fail(str(exc))
    logins = kafka_logins(bootstrap, credentials)
    address = logins.bootstrap
    topics = Topics(namespace or fresh_namespace("load"), partitions)
    with tempfile.TemporaryDirectory(prefix="onestop-load-") as work:
        try:
            result = run_load_against_hub(
                address,
                topics,
                settings,
                Path(work),
                on_tick=_print_tick,
                on_step=_print_step,
                progress=_say,
                delete_topics=namespace is None and not keep_topics,
                logins=logins,
            )
        except (LoadError, ServiceError, TopicLayoutError, AccessRefused, CredentialsError) as exc:
            fail(str(exc))
        except KafkaError as exc:
            fail(f"Kafka at {address}: {exc!r}; check that the broker runs and answers")
    console.print(result_table(f"Load on namespace {topics.namespace}", result))
    console.print(f"[dim]{machine_line(result.machine)}[/]", highlight=False)
    if json_file is not None:
        write_json(json_file, {"namespace": topics.namespace, **result.as_json()})
        _say(f"wrote {json_file}")
    if result.missing:
        fail(f"{result.missing} message(s) were neither delivered nor dead-lettered", code=1)


def _counts(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        fail(f"{option} {text!r}: give comma-separated numbers, e.g. 1,2")


def bench(
    json_file: Annotated[Path, typer.Option("--json", help="Write the full report here")],
    duration: Annotated[
        float, typer.Option(min=1.0, help="Seconds of each latency run at half the hub's max")
    ] = 30.0,
    runs: Annotated[
        int, typer.Option(min=1, help="Latency runs per hub path (median and spread reported)")
    ] = 3,
    settle_seconds: Annotated[
        float,
        typer.Option(min=0.0, help="Seconds idle after the backlog drained, before each run"),
    ] = 10.0,
    bootstrap: BootstrapOption = None,
    step_seconds: Annotated[
        float, typer.Option(min=1.0, help="Seconds per step of the max-rate searches")
    ] = 5.0,
    hub_input: Annotated[
        str,
        typer.Option(
            help="Hub input paths to measure (onestop hub --input), comma-separated, the "
            "default path first"
        ),
    ] = ",".join(HUB_INPUTS),
    workers: Annotated[
        str, typer.Option(help="Hub worker counts whose max rate to measure, e.g. 1,2")
    ] = "1,2",
    capacity_requests: Annotated[
        int, typer.Option(min=1000, help="Open requests of the memory measurement")
    ] = 1_000_000,
    benchmarks: Annotated[
        Path, typer.Option(help="Markdown file the dated result row is appended to")
    ] = BENCHMARKS_PATH,
) -> None:
    """Benchmark the hub against a plain Faust peer and a raw Kafka passthrough on one
    broker (max rate, CPU per message, latency from idle), its scale-out over workers,
    memory per open request and deadline lookup cost; append the row to BENCHMARKS.md."""
    _quiet_kafka_client()
    address = resolve_bootstrap(bootstrap)
    try:
        options = BenchOptions(
            run_seconds=duration,
            runs=runs,
            settle_seconds=settle_seconds,
            step_seconds=step_seconds,
            hub_inputs=tuple(p.strip() for p in hub_input.split(",") if p.strip()),
            workers=_counts(workers, "--workers"),
            capacity_requests=capacity_requests,
        )
        report = run_bench(address, options, progress=_say, on_step=_print_step)
    except (LoadError, ServiceError, TopicLayoutError) as exc:
        fail(str(exc))
    except KafkaError as exc:
        fail(f"Kafka at {address}: {exc!r}; check that the broker runs and answers")
    console.print(service_table(report))
    console.print(targets_table(report))
    console.print(workers_table(report))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(f"[dim]{machine_line(report.machine)}[/]", highlight=False)
    write_json(json_file, report.as_json())
    append_benchmarks(report, benchmarks)
    _say(f"wrote {json_file} and appended a row to {benchmarks}")
