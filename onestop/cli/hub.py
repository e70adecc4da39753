"""`onestop hub`: run a hub worker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from onestop.cli.common import (
    BootstrapOption,
    CredentialsOption,
    NamespaceOption,
    PartitionsOption,
    PrincipalOption,
    access_of,
    fail,
    kafka_logins,
    run_kafka,
)
from onestop.kafka.credentials import KafkaLogins
from onestop.kafka.namespace import prepare_namespace
from onestop.kafka.rights import check_rights, hub_needs
from schemas.access import HUB, KafkaAccess
from schemas.deadlines import RULE_SETS
from schemas.enums import Country, RuleSetName
from schemas.topics import Topics
from streams.settings import DEFAULT_INPUT, HubSettings, InputPath


def _wait_option(envvar: str, what: str, *, least: int) -> Any:
    """A wait of the hub's in milliseconds (at most a second) that trades CPU for latency."""
    return typer.Option(
        min=least,
        max=1000,
        envvar=envvar,
        help=f"Milliseconds {what}: longer costs less CPU per message and adds latency up to it",
    )


def hub(
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    partitions: PartitionsOption = 4,
    web_port: Annotated[int, typer.Option(help="Port of /metrics and the web views")] = 6066,
    web_host: Annotated[str, typer.Option(help="Address to bind the web port to")] = "127.0.0.1",
    rules: Annotated[RuleSetName, typer.Option(help="Time-limit rule set")] = (
        RuleSetName.DIRECTIVE_2023_977
    ),
    data_dir: Annotated[Path, typer.Option(help="Worker's local state")] = Path(".onestop-hub"),
    log_level: Annotated[str, typer.Option(help="warn, info or debug")] = "warn",
    parties: Annotated[
        str | None,
        typer.Option(help="Comma-separated parties whose outboxes to read; default: all"),
    ] = None,
    retention: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Seconds a settled request or one-way message stays in the hub's table, "
            "so that a message sent again is known as a duplicate; then it is let go",
        ),
    ] = 900.0,
    input_path: Annotated[
        InputPath,
        typer.Option(
            "--input",
            envvar="ONESTOP_HUB_INPUT",
            help="How outbox records reach the hub: 'stream' (Faust's stream, event by "
            "event), 'batch' (straight from the worker's consumer in fetched batches) or "
            "'pipelined' (as batch, each batch decided while the one before waits for the "
            "broker's acknowledgements)",
        ),
    ] = DEFAULT_INPUT,
    fetch_wait: Annotated[
        int,
        _wait_option(
            "ONESTOP_HUB_FETCH_WAIT_MS",
            "the broker may hold the hub's fetch of the outboxes to gather records",
            least=1,
        ),
    ] = round(HubSettings.fetch_max_wait * 1000),
    batch_wait: Annotated[
        int,
        _wait_option(
            "ONESTOP_HUB_BATCH_WAIT_MS",
            "the batch input path waits for a batch to fill once its first record is there",
            least=0,
        ),
    ] = round(HubSettings.batch_wait * 1000),
    credentials: CredentialsOption = None,
    principal: PrincipalOption = None,
) -> None:
    """Run a hub worker: validate, route, deliver, time and audit every message."""
    from onestop.cli.hub_worker import run_worker
    from streams.worker import Hub

    chosen = tuple(Country)
    if parties:
        try:
            chosen = tuple(Country(code.strip().upper()) for code in parties.split(","))
        except ValueError as exc:
            fail(f"--parties {parties!r}: {exc}; use codes such as PL,LT,EUROPOL")
    logins = kafka_logins(bootstrap, credentials)
    access = access_of(logins, principal or HUB)
    topics = Topics(namespace, partitions)
    settings = HubSettings(
        bootstrap=logins.bootstrap,
        topics=topics,
        parties=chosen,
        rules=RULE_SETS[rules],
        web_port=web_port,
        web_host=web_host,
        data_dir=data_dir / namespace,
        settled_retention=retention,
        input=input_path,
        fetch_max_wait=fetch_wait / 1000,
        batch_wait=batch_wait / 1000,
        access=access if logins.secure else None,
    )
    run_kafka(_prepare(logins, access, topics, settings.parties))
    run_worker(Hub(settings).app, log_level)


async def _prepare(
    logins: KafkaLogins, access: KafkaAccess, topics: Topics, parties: tuple[Country, ...]
) -> None:
    """The namespace's topics (and ACLs), then whether the hub may do all it must."""
    await prepare_namespace(logins, topics, parties)
    await check_rights(access, hub_needs(topics, parties))
