"""`onestop exercise run|check|schema`: play a scenario with live progress, then report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from onestop.cli.common import (
    BootstrapOption,
    CredentialsOption,
    NamespaceOption,
    PartitionsOption,
    access_of,
    fail,
    kafka_logins,
    run_kafka,
)
from onestop.cli.console import HostOption, PortOption, SecureOption, serve
from onestop.exercise.replay import RunFigures, differences, run_figures
from onestop.exercise.runner import (
    ExerciseError,
    ExerciseOptions,
    ExerciseResult,
    ExerciseRunner,
    Snapshot,
)
from onestop.exercise.scenario import Scenario, ScenarioError, load_scenario, scenario_json_schema
from schemas.access import READER
from schemas.enums import Outcome

exercise_app = typer.Typer(help="Play exercise scenarios.", no_args_is_help=True)
console = Console(soft_wrap=True)


def _load(file: Path) -> Scenario:
    try:
        return load_scenario(file)
    except ScenarioError as exc:
        fail(str(exc))


def _snapshot_table(scenario: Scenario, snap: Snapshot) -> Table:
    table = Table(title=f"{scenario.name}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    when = f"{snap.exercise_time:%Y-%m-%d %H:%M} UTC"
    table.add_row("exercise time", when + (" (ended: answers still come)" if snap.ending else ""))
    table.add_row("injects sent", f"{snap.injects_sent} / {snap.injects_total}")
    table.add_row("background sent", str(snap.background_sent))
    table.add_row("open requests", str(snap.open))
    table.add_row("answered", str(snap.answered))
    table.add_row("refused", str(snap.refused))
    table.add_row("overdue", f"[red]{snap.overdue}[/]" if snap.overdue else "0")
    table.add_row("rejected (dead letters)", str(snap.rejected))
    return table


@exercise_app.command("run")
def run(
    file: Annotated[Path, typer.Argument(help="Scenario file (exercises/*.yaml)")],
    speed: Annotated[
        float | None, typer.Option(min=0.001, help="Exercise seconds per wall second")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of every random choice")] = None,
    report: Annotated[Path, typer.Option(help="Directory for report.json and report.html")] = (
        Path("reports/exercise")
    ),
    run_id: Annotated[str | None, typer.Option(help="Prefix of request ids")] = None,
    runs: Annotated[
        int,
        typer.Option(
            min=1,
            max=20,
            help="Play the scenario this many times in a row and say whether every run "
            "gave the same exercise (a trainer's dry run); the report is the first run's",
        ),
    ] = 1,
    with_console: Annotated[
        bool,
        typer.Option(
            "--console",
            help="Serve the trainer's console and play the scenario there: steer it and "
            "read its report from the browser",
        ),
    ] = False,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8080,
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    partitions: PartitionsOption = 4,
    credentials: CredentialsOption = None,
    secure: SecureOption = False,
) -> None:
    """Play a scenario to its end with live progress, then write the after-action report.

    On a secure broker (`--secure`, `--credentials`, or the bootstrap address of a secure
    local broker) every part logs in as its own principal: each party's node as that party,
    the clock as `clock`, the hub it starts as `hub`, the report as `reader`."""
    from onestop.console.service import ConsoleSettings  # the web stack and the report's
    from onestop.exercise.reporting import write_exercise_report  # plots: for a run only

    scenario = _load(file)
    logins = kafka_logins(bootstrap, credentials, secure=secure)
    address = logins.bootstrap
    reader = access_of(logins, READER)
    if with_console:
        folder = report.parent / "console"
        serve(ConsoleSettings(address, namespace, partitions, folder, logins), host, port,
              scenario, speed, seed)  # fmt: skip
        return
    first: RunFigures | None = None
    same = True
    for number in range(1, runs + 1):
        options = ExerciseOptions(
            bootstrap=address,
            namespace=namespace,
            partitions=partitions,
            speed=speed,
            seed=seed,
            run_id=f"{run_id}-{number}" if run_id and runs > 1 else run_id,
            logins=logins,
        )
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            runner = ExerciseRunner(
                scenario, options, lambda s: live.update(_snapshot_table(scenario, s))
            )
            try:
                result = run_kafka(runner.run())
            except ExerciseError as exc:
                fail(str(exc))
        built, json_path, html_path = run_kafka(
            write_exercise_report(
                scenario, result, reader, report if number == 1 else report / f"run-{number}"
            )
        )
        _summary(scenario, result, html_path, json_path, number, runs)
        figures = run_figures(built, result.run_id)
        if first is None:
            first = figures
            continue
        found = differences(first, figures, result.speed)
        same = same and not found
        if found:
            console.print(f"[red]run {number} differs from run 1:[/]")
            for line in found:
                console.print(f"  {line}")
        else:
            console.print(f"[green]run {number} is the same exercise as run 1[/]")
    if runs > 1:
        verdict = "[green]the same exercise[/]" if same else "[red]not the same exercise[/]"
        console.print(f"{runs} runs with seed {result.seed}: {verdict}")
        if not same:
            raise typer.Exit(1)


def _summary(
    scenario: Scenario,
    result: ExerciseResult,
    html_path: Path,
    json_path: Path,
    number: int,
    runs: int,
) -> None:
    outcomes = list(result.outcomes.values())
    console.print()
    which = f" (run {number} of {runs})" if runs > 1 else ""
    console.print(
        f"[bold]{scenario.name}[/]{which} ended ({result.ended_by}), seed {result.seed}: "
        f"{len(result.injects)} injects, {outcomes.count(Outcome.ANSWERED)} answered, "
        f"{outcomes.count(Outcome.REFUSED)} refused."
    )
    if result.unsettled:
        console.print(
            f"[yellow]{result.unsettled} request(s) still open when the grace period ran out[/]"
        )
    console.print(f"Report: [link=file://{html_path.resolve()}]{html_path}[/] and {json_path}")


@exercise_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="Scenario file")]) -> None:
    """Check a scenario file and say what is wrong, with file, line and field."""
    scenario = _load(file)
    console.print(
        f"{file}: [green]ok[/]: {scenario.name}, {len(scenario.nodes)} nodes, "
        f"{len(scenario.injects)} injects"
    )


@exercise_app.command("schema")
def schema(
    out: Annotated[Path, typer.Argument(help="Where to write the JSON Schema")] = Path(
        "exercises/scenario.schema.json"
    ),
) -> None:
    """Write the JSON Schema of scenario files (editors complete and check with it)."""
    out.write_text(json.dumps(scenario_json_schema(), indent=2, sort_keys=True) + "\n")
    console.print(f"wrote {out}")
