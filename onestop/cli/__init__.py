"""The `onestop` command line: one Typer app with a sub-command per job."""

from __future__ import annotations

import logging

import typer

from onestop.cli.audit import audit_app, report, stats
from onestop.cli.broker import broker_app
from onestop.cli.clock import clock_app
from onestop.cli.console import console_command
from onestop.cli.exercise import exercise_app
from onestop.cli.faults import faults
from onestop.cli.hub import hub
from onestop.cli.load import bench, load
from onestop.cli.nodes import nodes
from onestop.cli.schema import schema_app

app = typer.Typer(
    help="OneStop: a simulator of international police information exchange.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(broker_app, name="broker")
app.command()(hub)
app.command()(nodes)
app.add_typer(exercise_app, name="exercise")
app.add_typer(clock_app, name="clock")
app.add_typer(schema_app, name="schema")
app.add_typer(audit_app, name="audit")
app.command()(stats)
app.command()(report)
app.command()(load)
app.command()(bench)
app.command()(faults)
app.command("console")(console_command)


def main() -> None:
    """Entry point of the `onestop` console script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The Kafka client logs every retry it makes on its own; only its failures matter here.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    app()
