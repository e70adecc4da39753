"""`onestop clock pause|resume|speed|jump`: steer a running exercise."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from onestop.cli.common import BootstrapOption, NamespaceOption, fail
from onestop.exercise.clock_control import clock_command, publish_clock
from onestop.exercise.scenario import parse_offset
from onestop.kafka.bootstrap import resolve_bootstrap
from schemas.clock import ClockAction
from schemas.topics import Topics

clock_app = typer.Typer(help="Steer the exercise clock.", no_args_is_help=True)
console = Console(soft_wrap=True)


def _publish(
    action: ClockAction,
    bootstrap: str | None,
    namespace: str,
    *,
    speed: float | None = None,
    jump_seconds: float | None = None,
) -> None:
    address = resolve_bootstrap(bootstrap)
    command = clock_command(namespace, action, speed=speed, jump_seconds=jump_seconds)
    asyncio.run(publish_clock(address, Topics(namespace), command))
    console.print(f"clock: {action.value} sent to {namespace}.clock")


@clock_app.command()
def pause(bootstrap: BootstrapOption = None, namespace: NamespaceOption = "onestop") -> None:
    """Stop exercise time: deadlines and node answers hold."""
    _publish(ClockAction.PAUSE, bootstrap, namespace)


@clock_app.command()
def resume(bootstrap: BootstrapOption = None, namespace: NamespaceOption = "onestop") -> None:
    """Let exercise time run again."""
    _publish(ClockAction.RESUME, bootstrap, namespace)


@clock_app.command()
def speed(
    factor: Annotated[float, typer.Argument(help="Exercise seconds per wall second")],
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
) -> None:
    """Change how fast exercise time runs."""
    if not 0 < factor <= 1_000_000:
        fail(f"speed {factor} is out of range: give a number above 0 and at most 1000000")
    _publish(ClockAction.SPEED, bootstrap, namespace, speed=factor)


@clock_app.command()
def jump(
    duration: Annotated[str, typer.Argument(help="How far forward: '02:00', '1d', '1d 06:00'")],
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
) -> None:
    """Move exercise time forward at once."""
    try:
        delta = parse_offset(duration)
    except ValueError as exc:
        fail(f"jump {duration!r}: {exc}")
    _publish(ClockAction.JUMP, bootstrap, namespace, jump_seconds=delta.total_seconds())
