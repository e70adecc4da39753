"""`onestop console`: the trainer's web console (and, with `exercise run --console`, an
exercise started from the terminal and steered from the browser)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from onestop.cli.common import BootstrapOption, NamespaceOption, PartitionsOption
from onestop.console.access import Grant
from onestop.console.models import Role
from onestop.console.server import create_app
from onestop.console.service import ConsoleService, ConsoleSettings
from onestop.exercise.scenario import Scenario
from onestop.kafka.bootstrap import resolve_bootstrap
from onestop.kafka.topics import ensure_topics
from schemas.enums import Country
from schemas.topics import Topics

console = Console(soft_wrap=True)

HostOption = Annotated[
    str, typer.Option(help="Address to listen on; 0.0.0.0 serves other machines (no TLS)")
]
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="Port of the console")]


def console_command(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8080,
    reports: Annotated[Path, typer.Option(help="Where reports of its exercises go")] = Path(
        "reports/console"
    ),
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    partitions: PartitionsOption = 4,
) -> None:
    """Serve the trainer's console: start, watch and steer exercises from a browser."""
    address = resolve_bootstrap(bootstrap)
    settings = ConsoleSettings(address, namespace, partitions, reports)
    serve(settings, host, port)


def serve(
    settings: ConsoleSettings,
    host: str,
    port: int,
    scenario: Scenario | None = None,
    speed: float | None = None,
    seed: int | None = None,
) -> None:
    """Run the console until Ctrl-C; with `scenario`, start it once the console is up."""
    asyncio.run(
        ensure_topics(
            settings.bootstrap, Topics(settings.namespace, settings.partitions), list(Country)
        )
    )
    service = ConsoleService(settings)
    app = create_app(service)
    if scenario is not None:

        @app.on_event("startup")  # runs after the service started (the lifespan's start)
        async def start_exercise() -> None:
            service.runs.start(scenario, speed, seed)

    _print_access(service, host, port)
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()


def _print_access(service: ConsoleService, host: str, port: int) -> None:
    shown = "127.0.0.1" if host in ("127.0.0.1", "localhost") else host
    console.print(f"[bold]OneStop console[/] at http://{shown}:{port}/")
    console.print(f"  trainer code:  [bold]{service.access.code_of(Grant(Role.TRAINER))}[/]")
    console.print(f"  observer code: [bold]{service.access.code_of(Grant(Role.OBSERVER))}[/]")
    console.print(
        "  (codes are new at every start; trainee desk codes appear when an exercise "
        "with trainees starts)"
    )
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"[bold yellow]warning:[/] listening on {host}: other machines can reach the "
            "console, and it has no TLS: codes and sessions travel in clear text"
        )
