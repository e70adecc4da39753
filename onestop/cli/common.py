"""Options and error reporting shared by the commands."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.console import Console

BootstrapOption = Annotated[
    str | None,
    typer.Option(
        envvar="ONESTOP_BOOTSTRAP",
        help="Kafka bootstrap servers; default: the local broker, started when none runs",
    ),
]
NamespaceOption = Annotated[
    str, typer.Option(help="Topic prefix: keeps installations apart on one broker")
]
PartitionsOption = Annotated[
    int, typer.Option(min=1, max=256, help="Partitions of outbox, inbox and audit topics")
]

err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `message` for a person, in red, and exit with `code`."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)
