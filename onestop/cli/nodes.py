"""`onestop nodes PL LT ...`: run simulated national nodes until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import signal
from datetime import datetime, timedelta
from typing import Annotated

import typer
from prometheus_client import start_http_server
from rich.console import Console

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
from onestop.kafka.rights import check_rights, node_needs
from producers.host import NodeHost
from producers.traffic import PlannedMessage, background_traffic
from schemas.access import KafkaAccess
from schemas.enums import Country, MessageKind
from schemas.profiles import NodeProfile
from schemas.topics import Topics

console = Console(soft_wrap=True)


def nodes(
    countries: Annotated[list[str], typer.Argument(help="Parties to simulate, e.g. PL LT DE")],
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    partitions: PartitionsOption = 4,
    seed: Annotated[int, typer.Option(help="Seed of every random choice")] = 0,
    traffic: Annotated[
        float, typer.Option(min=0, help="Requests per exercise hour from each node")
    ] = 0.0,
    metrics_port: Annotated[int, typer.Option(help="Port of the nodes' /metrics")] = 9100,
    metrics_host: Annotated[str, typer.Option(help="Address of /metrics")] = "127.0.0.1",
    credentials: CredentialsOption = None,
    principal: PrincipalOption = None,
) -> None:
    """Run simulated SPOCs that answer their inbox (and send traffic with --traffic).

    On a secure broker each node logs in as its own party (PL as `PL`); `--principal`
    makes every node of the process log in as that one instead."""
    parties: list[Country] = []
    for code in countries:
        try:
            parties.append(Country(code.upper()))
        except ValueError:
            fail(f"unknown party {code!r}; use one of {', '.join(c.value for c in Country)}")
    logins = kafka_logins(bootstrap, credentials)
    access = {party: access_of(logins, principal or party.value) for party in parties}
    topics = Topics(namespace, partitions)
    run_kafka(_run(logins, access, topics, parties, seed, traffic, metrics_host, metrics_port))


async def _run(
    logins: KafkaLogins,
    access: dict[Country, KafkaAccess],
    topics: Topics,
    parties: list[Country],
    seed: int,
    traffic: float,
    metrics_host: str,
    metrics_port: int,
) -> None:
    await prepare_namespace(logins, topics, parties)
    for party in parties:
        await check_rights(access[party], node_needs(topics, party))
    host = NodeHost(
        access[parties[0]] if logins.secure else logins.bootstrap,
        topics,
        dict.fromkeys(parties, NodeProfile()),
        seed=seed,
        party_access=access if logins.secure else None,
    )
    server, _ = start_http_server(metrics_port, addr=metrics_host, registry=host.registry)
    try:
        await host.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if traffic > 0:
            _schedule_traffic(host, parties, seed, traffic * len(parties))
        console.print(
            f"nodes {' '.join(p.value for p in parties)} running on {logins.bootstrap} "
            f"(metrics http://{metrics_host}:{metrics_port}/metrics); Ctrl-C stops"
        )
        stopped = asyncio.create_task(stop.wait())
        ended = asyncio.create_task(host.wait())
        try:
            await asyncio.wait({stopped, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            ended.cancel()
        if ended.done() and not ended.cancelled():
            ended.result()  # an inbox task ended: say why
    finally:
        await host.stop()
        with contextlib.suppress(Exception):
            server.shutdown()


def _schedule_traffic(host: NodeHost, parties: list[Country], seed: int, rate: float) -> None:
    """A day of Poisson traffic between the nodes, in exercise time."""
    start = host.clock.now()
    planned = background_traffic(
        random.Random(f"{seed}/nodes"),
        parties,
        start,
        start + timedelta(days=1),
        rate,
        {MessageKind.REQUEST: 1.0},
        0.2,
        f"nodes-{int(start.timestamp())}",
    )
    for item in planned:
        host.scheduler.at(item.at, functools.partial(_send, host, item), "traffic")


async def _send(host: NodeHost, item: PlannedMessage, moment: datetime) -> None:
    await host.nodes[item.sender].send(item.message(moment))
