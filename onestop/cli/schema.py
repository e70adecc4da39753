"""`onestop schema export DIR`: the message contract as JSON Schema files and AsyncAPI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from schemas.export import write_all

schema_app = typer.Typer(
    help="The message contract as files: JSON Schema per message kind, and AsyncAPI 3.0.",
    no_args_is_help=True,
)


@schema_app.callback()
def schema() -> None:
    """The message contract as files: JSON Schema per message kind, and AsyncAPI 3.0."""


@schema_app.command("export")
def export(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR",
            file_okay=False,
            help="Where to write messages/*.json and asyncapi.yaml (created if missing).",
        ),
    ],
) -> None:
    """Write the JSON Schemas and the AsyncAPI document under DIR; list the files.

    DIR/messages/<name>.v1.json: one JSON Schema per message kind, clock command, audit record.

    DIR/asyncapi.yaml: the AsyncAPI 3.0 document of the Kafka topics."""
    try:
        paths = write_all(directory)
    except OSError as exc:
        Console(stderr=True, highlight=False).print(
            Text(f"cannot write to {directory}: {exc}", style="red"), soft_wrap=True
        )
        raise typer.Exit(1) from exc
    console = Console(highlight=False)
    for path in paths:
        console.print(Text(str(path)), soft_wrap=True)
    Console(stderr=True, highlight=False).print(
        Text(f"wrote {len(paths)} files to {directory}", style="green"), soft_wrap=True
    )
