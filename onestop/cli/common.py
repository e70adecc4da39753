"""Options and error reporting shared by the commands."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from onestop.kafka.credentials import (
    CREDENTIALS_ENV,
    PRINCIPAL_ENV,
    KafkaLogins,
    resolve_logins,
)
from onestop.kafka.errors import BrokerError
from onestop.kafka.topics import TopicLayoutError
from schemas.access import CredentialsError, KafkaAccess
from schemas.refusals import AccessRefused

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
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


CredentialsOption = Annotated[
    Path | None,
    typer.Option(
        "--credentials",
        envvar=CREDENTIALS_ENV,
        dir_okay=False,
        help="Credentials file of a secure broker (JSON: principal -> password, mode 0600); "
        "default: none, or that of the secure local broker at the bootstrap address",
    ),
]
PrincipalOption = Annotated[
    str | None,
    typer.Option(
        "--principal",
        envvar=PRINCIPAL_ENV,
        help="Principal to log in as on a secure broker (default: the command's own)",
    ),
]

T = TypeVar("T")


def kafka_logins(
    bootstrap: str | None, credentials: Path | None, *, secure: bool = False
) -> KafkaLogins:
    """The command's Kafka logins (`onestop.kafka.credentials.resolve_logins`); a
    person-readable error and exit code 2 when they cannot be had."""
    try:
        return resolve_logins(bootstrap, credentials, secure=secure)
    except (CredentialsError, BrokerError) as exc:
        fail(str(exc))


def access_of(logins: KafkaLogins, principal: str) -> KafkaAccess:
    """`logins.access(principal)`, or the reason why not and exit code 2."""
    try:
        return logins.access(principal)
    except CredentialsError as exc:
        fail(str(exc))


def run_kafka(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to its end; what the broker refuses (`AccessRefused`), credentials that
    do not fit and topics of the wrong layout end the command with one line, exit code 2."""
    try:
        return asyncio.run(work)
    except (AccessRefused, CredentialsError, TopicLayoutError) as exc:
        fail(str(exc))
