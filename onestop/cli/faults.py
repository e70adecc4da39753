"""`onestop faults`: the fault suite against real processes, with its table."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from onestop.cli.common import BootstrapOption, fail
from onestop.faults.cases import CASES, LONG, SHORT
from onestop.faults.harness import CaseResult
from onestop.faults.suite import CaseTotals, run_cases
from onestop.kafka.bootstrap import resolve_bootstrap
from streams.settings import DEFAULT_INPUT, InputPath

console = Console(soft_wrap=True)
LONG_WORKER_RUNS = 10


def faults(
    cases: Annotated[
        list[str] | None, typer.Argument(help=f"Cases to run; default all: {', '.join(CASES)}")
    ] = None,
    runs: Annotated[int, typer.Option(min=1, max=100, help="Runs of each case in a row")] = 1,
    long: Annotated[
        bool,
        typer.Option(
            "--long",
            help=f"The long suite: {LONG.rate:g} msg/s for {LONG.seconds:g} s a run, the "
            f"two-worker case {LONG_WORKER_RUNS} times in a row, the others twice",
        ),
    ] = False,
    hub_input: Annotated[
        InputPath,
        typer.Option(
            "--input",
            envvar="ONESTOP_HUB_INPUT",
            help="The hub workers' input path (see onestop hub --input)",
        ),
    ] = DEFAULT_INPUT,
    bootstrap: BootstrapOption = None,
) -> None:
    """Strike faults at real processes under load (hub workers killed and added, brokers
    stopped or killed, node processes killed, channel outages) and check that nothing is
    lost, the audit chain holds and the Art. 18 counts match."""
    chosen = list(cases or CASES)
    unknown = [c for c in chosen if c not in CASES]
    if unknown:
        fail(f"no fault case {', '.join(unknown)}; there are {', '.join(CASES)}")
    address = resolve_bootstrap(bootstrap)
    scale = replace(LONG if long else SHORT, hub_input=hub_input)
    # A hub that a case starts through an exercise (the outage case) reads it from here.
    os.environ["ONESTOP_HUB_INPUT"] = hub_input.value
    counts = {c: (LONG_WORKER_RUNS if c == "workers" else 2) if long else runs for c in chosen}

    def each(result: CaseResult) -> None:
        verdict = "[green]ok[/]" if result.passed else "[red]FAILED[/]"
        console.print(
            f"{result.case}: {verdict} sent {result.sent}, lost {result.lost}, "
            f"duplicates {result.duplicates}, recovery {result.recovery_seconds} s "
            f"{result.notes}"
        )

    totals = asyncio.run(run_cases(address, counts, scale, each))
    console.print(_table(totals))
    if any(t.failed_runs for t in totals):
        raise typer.Exit(1)


def _table(totals: list[CaseTotals]) -> Table:
    table = Table(title="Fault suite", title_justify="left")
    for column in ("case", "runs", "sent", "delivered", "dead-lettered", "duplicates", "lost",
                   "recovery s", "failed runs"):  # fmt: skip
        table.add_column(column, justify="left" if column == "case" else "right")
    for t in totals:
        recovery = f"{t.recovery_seconds:g}" if t.recovery_seconds is not None else "-"
        table.add_row(
            t.case, str(t.runs), str(t.sent), str(t.delivered), str(t.deadlettered),
            str(t.duplicates), f"[red]{t.lost}[/]" if t.lost else "0", recovery,
            f"[red]{t.failed_runs}[/]" if t.failed_runs else "0",
        )  # fmt: skip
    return table
