"""Load runs against a hub: the orchestration behind `onestop load`.

`run_load_against_hub` makes the topics of a namespace, starts a hub for it unless one
runs already, waits until a probe request is delivered, runs the open-loop load generator
(`producers.load`) and stops the hub it started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from onestop.bench.measure import Progress, probe_ready
from onestop.bench.namespaces import delete_namespace_topics, hub_is_running, kafka_version_for
from onestop.bench.processes import Processes
from onestop.kafka.credentials import KafkaLogins
from onestop.kafka.namespace import prepare_namespace
from onestop.kafka.rights import check_rights, sender_needs, watcher_needs
from onestop.kafka.services import ServiceProcess, hub_process
from producers.load.generator import LoadGenerator
from producers.load.results import LoadResult, LoadStep, LoadTick
from producers.load.settings import LoadSettings, load_nodes
from schemas.access import ADMIN, READER, KafkaTarget
from schemas.enums import Country
from schemas.topics import Topics


async def drive_load(
    bootstrap: str,
    topics: Topics,
    settings: list[LoadSettings],
    *,
    service: ServiceProcess | None = None,
    on_tick: Callable[[LoadTick], None] | None = None,
    on_step: Callable[[LoadStep], None] | None = None,
    progress: Progress | None = None,
    next_settings: Callable[[LoadResult], LoadSettings] | None = None,
    logins: KafkaLogins | None = None,
) -> list[LoadResult]:
    """Probe until delivered, then run each of `settings` in turn on one generator; with
    `next_settings`, one more run made from the last result. A `service` that exits
    while we wait is reported with its log. With secure `logins`, each node sends as its
    party and the deliveries are read as ``reader``."""
    nodes = max(s.nodes for s in settings)
    version = kafka_version_for(bootstrap)
    reader: KafkaTarget = bootstrap
    party_access = None
    if logins is not None and logins.secure:
        reader = logins.access(READER)
        party_access = {party: logins.access(party.value) for party in load_nodes(nodes)}
        await check_rights(logins.access(READER), watcher_needs(topics, load_nodes(nodes)))
        for party, login in party_access.items():
            await check_rights(login, sender_needs(topics, party))
    async with LoadGenerator(reader, topics, nodes, party_access) as generator:
        await probe_ready(
            generator, Processes([service]) if service else None, progress or (lambda _: None)
        )
        results: list[LoadResult] = []
        for current in settings:
            results.append(await generator.load(current, on_tick, on_step, version))
        if next_settings is not None:
            current = next_settings(results[-1])
            if progress is not None:
                progress(f"next run: {current.rate} msg/s for {current.duration:.0f} s")
            results.append(await generator.load(current, on_tick, on_step, version))
        return results


def run_load_against_hub(
    bootstrap: str,
    topics: Topics,
    settings: LoadSettings,
    workdir: Path,
    *,
    on_tick: Callable[[LoadTick], None] | None = None,
    on_step: Callable[[LoadStep], None] | None = None,
    progress: Progress | None = None,
    delete_topics: bool = False,
    logins: KafkaLogins | None = None,
) -> LoadResult:
    """Topics, a hub unless one runs for the namespace, the load, the hub stopped again;
    with `delete_topics`, the namespace's topics deleted at the end (a throw-away
    namespace). Blocking; call outside an event loop. With secure `logins` every part
    logs in as its own principal (topics and their deletion as ``admin``)."""
    say = progress or (lambda _text: None)
    kafka = logins or KafkaLogins(bootstrap)
    asyncio.run(prepare_namespace(kafka, topics, tuple(Country)))
    hub: ServiceProcess | None = None
    if asyncio.run(hub_is_running(kafka.access(READER), topics.namespace)):
        say(f"a hub is running for namespace {topics.namespace}: using it")
    else:
        parties = load_nodes(settings.nodes)
        extra = kafka.arguments()
        hub = hub_process(bootstrap, topics, workdir, parties=parties, extra=extra).start()
        say(f"started a hub for namespace {topics.namespace} (log: {hub.log_path})")
    try:
        results = asyncio.run(
            drive_load(
                bootstrap,
                topics,
                [settings],
                service=hub,
                on_tick=on_tick,
                on_step=on_step,
                progress=say,
                logins=kafka,
            )
        )
        return results[0]
    finally:
        if hub is not None:
            hub.stop()
            say("stopped the hub")
        if delete_topics and kafka.has(ADMIN):
            deleted = asyncio.run(delete_namespace_topics(kafka.access(ADMIN), topics.namespace))
            say(f"deleted the {len(deleted)} topics of namespace {topics.namespace}")
