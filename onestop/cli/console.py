"""`onestop console`: the trainer's web console (and, with `exercise run --console`, an
exercise started from the terminal and steered from the browser)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from onestop.cli.common import (
    BootstrapOption,
    CredentialsOption,
    NamespaceOption,
    PartitionsOption,
    kafka_logins,
    run_kafka,
)
from onestop.kafka.namespace import prepare_namespace
from onestop.kafka.rights import check_rights, clock_needs, watcher_needs
from schemas.access import CLOCK, READER
from schemas.enums import Country
from schemas.topics import Topics

if TYPE_CHECKING:
    from onestop.console.service import ConsoleService, ConsoleSettings
    from onestop.exercise.scenario import Scenario

console = Console(soft_wrap=True)

HostOption = Annotated[
    str, typer.Option(help="Address to listen on; 0.0.0.0 serves other machines (no TLS)")
]
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="Port of the console")]
SecureOption = Annotated[
    bool,
    typer.Option(
        "--secure",
        help="Without --bootstrap: start (or reuse) the secure local broker and log in with "
        "its credentials.json; in any case, refuse to run without credentials",
    ),
]


def console_command(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8080,
    reports: Annotated[Path, typer.Option(help="Where reports of its exercises go")] = Path(
        "reports/console"
    ),
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    partitions: PartitionsOption = 4,
    credentials: CredentialsOption = None,
    secure: SecureOption = False,
) -> None:
    """Serve the trainer's console: start, watch and steer exercises from a browser.

    On a secure broker it reads as `reader`, steers the clock and writes observations as
    `clock`, and sends each injected or desk message as its sending party."""
    from onestop.console.service import ConsoleSettings

    logins = kafka_logins(bootstrap, credentials, secure=secure)
    settings = ConsoleSettings(logins.bootstrap, namespace, partitions, reports, logins)
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
    # The web stack is imported here, not with the command line: no other command needs it.
    import uvicorn

    from onestop.console.server import create_app
    from onestop.console.service import ConsoleService

    run_kafka(_prepare(settings))
    service = ConsoleService(settings)
    app = create_app(service)
    if scenario is not None:

        @app.on_event("startup")  # runs after the service started (the lifespan's start)
        async def start_exercise() -> None:
            service.runs.start(scenario, speed, seed)

    _print_access(service, host, port)
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()


async def _prepare(settings: ConsoleSettings) -> None:
    """The namespace's topics (and ACLs); on a secure broker, whether the console's own
    logins may do what they must."""
    logins = settings.kafka
    topics = Topics(settings.namespace, settings.partitions)
    await prepare_namespace(logins, topics, list(Country))
    # Not every party's topics need exist (an admin may have made some parties' only).
    watching = watcher_needs(topics, list(Country))
    await check_rights(logins.access(READER), watching, unknown_ok=True)
    await check_rights(logins.access(CLOCK), clock_needs(topics))


def _print_access(service: ConsoleService, host: str, port: int) -> None:
    from onestop.console.access import Grant
    from onestop.console.models import Role

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
