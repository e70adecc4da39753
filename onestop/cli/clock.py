"""`onestop clock pause|resume|speed|jump`: steer a running exercise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from onestop.cli.common import (
    BootstrapOption,
    CredentialsOption,
    NamespaceOption,
    PrincipalOption,
    access_of,
    fail,
    kafka_logins,
    run_kafka,
)
from onestop.exercise.clock_control import clock_command, publish_clock
from onestop.exercise.scenario import parse_offset
from schemas.access import CLOCK
from schemas.clock import ClockAction
from schemas.topics import Topics

clock_app = typer.Typer(help="Steer the exercise clock.", no_args_is_help=True)
console = Console(soft_wrap=True)


def _publish(
    action: ClockAction,
    bootstrap: str | None,
    namespace: str,
    credentials: Path | None,
    principal: str | None,
    *,
    speed: float | None = None,
    jump_seconds: float | None = None,
) -> None:
    """Publish one command; on a secure broker as `clock` (or `principal`)."""
    access = access_of(kafka_logins(bootstrap, credentials), principal or CLOCK)
    command = clock_command(namespace, action, speed=speed, jump_seconds=jump_seconds)
    run_kafka(publish_clock(access, Topics(namespace), command))
    console.print(f"clock: {action.value} sent to {namespace}.clock")


@clock_app.command()
def pause(
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    credentials: CredentialsOption = None,
    principal: PrincipalOption = None,
) -> None:
    """Stop exercise time: deadlines and node answers hold."""
    _publish(ClockAction.PAUSE, bootstrap, namespace, credentials, principal)


@clock_app.command()
def resume(
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    credentials: CredentialsOption = None,
    principal: PrincipalOption = None,
) -> None:
    """Let exercise time run again."""
    _publish(ClockAction.RESUME, bootstrap, namespace, credentials, principal)


@clock_app.command()
def speed(
    factor: Annotated[float, typer.Argument(help="Exercise seconds per wall second")],
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    credentials: CredentialsOption = None,
    principal: PrincipalOption = None,
) -> None:
    """Change how fast exercise time runs."""
    if not 0 < factor <= 1_000_000:
        fail(f"speed {factor} is out of range: give a number above 0 and at most 1000000")
    _publish(ClockAction.SPEED, bootstrap, namespace, credentials, principal, speed=factor)


@clock_app.command()
def jump(
    duration: Annotated[str, typer.Argument(help="How far forward: '02:00', '1d', '1d 06:00'")],
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    credentials: CredentialsOption = None,
    principal: PrincipalOption = None,
) -> None:
    """Move exercise time forward at once."""
    try:
        delta = parse_offset(duration)
    except ValueError as exc:
        fail(f"jump {duration!r}: {exc}")
    seconds = delta.total_seconds()
    _publish(ClockAction.JUMP, bootstrap, namespace, credentials, principal, jump_seconds=seconds)
