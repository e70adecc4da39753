"""`onestop exercise run|check|schema`: play a scenario with live progress, then report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from onestop.audit.report import build_report
from onestop.audit.report_html import write_report
from onestop.audit.source import combined_report, load_audit, verify_trail
from onestop.cli.common import BootstrapOption, NamespaceOption, PartitionsOption, fail
from onestop.exercise.runner import ExerciseOptions, ExerciseResult, ExerciseRunner, Snapshot
from onestop.exercise.scenario import Scenario, ScenarioError, load_scenario, scenario_json_schema
from onestop.kafka.bootstrap import resolve_bootstrap
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
    table.add_row("exercise time", f"{snap.exercise_time:%Y-%m-%d %H:%M} UTC")
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
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    partitions: PartitionsOption = 4,
) -> None:
    """Play a scenario to its end with live progress, then write the after-action report."""
    scenario = _load(file)
    address = resolve_bootstrap(bootstrap)
    options = ExerciseOptions(
        bootstrap=address,
        namespace=namespace,
        partitions=partitions,
        speed=speed,
        seed=seed,
        run_id=run_id,
    )
    with Live(console=console, refresh_per_second=4, transient=False) as live:
        runner = ExerciseRunner(
            scenario, options, lambda s: live.update(_snapshot_table(scenario, s))
        )
        result = asyncio.run(runner.run())
    json_path, html_path = asyncio.run(_report(scenario, result, address, report))
    outcomes = {
        o: list(result.outcomes.values()).count(o) for o in (Outcome.ANSWERED, Outcome.REFUSED)
    }
    console.print()
    console.print(
        f"[bold]{scenario.name}[/] ended ({result.ended_by}): "
        f"{len(result.injects)} injects, {outcomes[Outcome.ANSWERED]} answered, "
        f"{outcomes[Outcome.REFUSED]} refused."
    )
    console.print(f"Report: [link=file://{html_path.resolve()}]{html_path}[/] and {json_path}")


async def _report(
    scenario: Scenario, result: ExerciseResult, bootstrap: str, directory: Path
) -> tuple[Path, Path]:
    trail = await load_audit(f"{result.namespace}.audit", bootstrap)
    chain = combined_report(verify_trail(trail))
    exercise = {
        "name": scenario.name,
        "rules": scenario.rules.value,
        "run_id": result.run_id,
        "namespace": result.namespace,
        "seed": scenario.seed,
        "start": result.exercise_start.isoformat().replace("+00:00", "Z"),
        "end": result.exercise_end.isoformat().replace("+00:00", "Z"),
        "ended_by": result.ended_by,
    }
    report = build_report(result.records, exercise=exercise, chain=chain)
    return write_report(report, directory)


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
