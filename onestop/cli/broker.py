"""`onestop broker start|stop|status`: the local single-node Kafka broker."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from onestop.kafka.broker import DEFAULT_PORT, LocalBroker
from onestop.kafka.errors import BrokerError
from onestop.kafka.jars import KAFKA_VERSION, MavenMissingError
from onestop.kafka.java import JavaMissingError

broker_app = typer.Typer(
    help=f"Run a local single-node Apache Kafka {KAFKA_VERSION} broker (KRaft) on 127.0.0.1.",
    no_args_is_help=True,
)

#: Exit code when Java or Maven is missing.
EXIT_MISSING_PREREQUISITE = 2
#: Exit code of other broker failures (and of `status` when no broker runs).
EXIT_FAILURE = 1

PortOption = Annotated[
    int, typer.Option("--port", min=1, max=65535, help="Client (PLAINTEXT) port on 127.0.0.1.")
]
DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        file_okay=False,
        help="Data directory of the broker (default: the user data dir, broker-<port>).",
    ),
]


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _setup_logging() -> None:
    """Show the broker's progress messages (INFO) on stderr."""
    logger = logging.getLogger("onestop.kafka.broker")
    if not any(getattr(h, "_onestop_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._onestop_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the root handler would print each line twice


def _fail(exc: BrokerError) -> NoReturn:
    """Print ``exc`` in red on stderr (no traceback) and exit."""
    _stderr().print(Text(str(exc), style="red"), soft_wrap=True)
    missing = isinstance(exc, JavaMissingError | MavenMissingError)
    raise typer.Exit(EXIT_MISSING_PREREQUISITE if missing else EXIT_FAILURE)


@broker_app.command()
def start(
    port: PortOption = DEFAULT_PORT,
    data: DataOption = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Seconds to wait for the broker.")
    ] = 90.0,
) -> None:
    """Start the broker in the background (or reuse it) and print its bootstrap address."""
    _setup_logging()
    try:
        bootstrap = LocalBroker(port=port, data_dir=data).start(timeout=timeout)
    except BrokerError as exc:
        _fail(exc)
    typer.echo(bootstrap)


@broker_app.command()
def stop(
    port: PortOption = DEFAULT_PORT,
    data: DataOption = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.0, help="Seconds to wait after SIGTERM before SIGKILL."),
    ] = 30.0,
) -> None:
    """Stop the broker started by `onestop broker start` for this port / data directory."""
    broker = LocalBroker(port=port, data_dir=data)
    pid = broker.status().pid
    try:
        stopped = broker.stop(timeout=timeout)
    except BrokerError as exc:
        _fail(exc)
    if stopped:
        typer.echo(f"Stopped the Kafka broker (pid {pid}) of {broker.data_dir}.")
    else:
        typer.echo(f"No local Kafka broker is running for {broker.data_dir}.")


@broker_app.command()
def status(port: PortOption = DEFAULT_PORT, data: DataOption = None) -> None:
    """Tell whether the broker runs (exit code 0) or not (exit code 1)."""
    state = LocalBroker(port=port, data_dir=data).status()
    typer.echo(f"running:   {'yes' if state.running else 'no'}")
    typer.echo(f"pid:       {state.pid if state.pid is not None else '-'}")
    typer.echo(f"bootstrap: {state.bootstrap}")
    typer.echo(f"data dir:  {state.data_dir}")
    if not state.running:
        raise typer.Exit(EXIT_FAILURE)
