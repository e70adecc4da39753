"""The `onestop` command line: one Typer app with a sub-command per job."""

from __future__ import annotations

import typer

from onestop.cli_broker import broker_app
from onestop.cli_hub import hub
from onestop.cli_schema import schema_app

app = typer.Typer(
    help="OneStop: a simulator of international police information exchange.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(broker_app, name="broker")
app.command()(hub)
app.add_typer(schema_app, name="schema")


def main() -> None:
    """Entry point of the `onestop` console script."""
    app()
