"""A plain Faust forwarder, the hub's peer in the benchmark: what a user would write with
faust-streaming alone to move the exchange's records.

One `faust.App`, one agent over every outbox; each event's raw bytes (key, value, headers)
go unchanged to the inbox of the same party and the same partition number, as the raw
passthrough (`onestop.bench.passthrough`) copies them, but one event at a time and each
send awaited (`await topic.send(...)`, Faust's idiom: it returns once Faust's producer holds
the record). Faust's own bookkeeping gives the at-least-once contract: it acknowledges an
event once the agent has moved past it, flushes its producer (acks from all replicas,
Faust's default) before every offset commit, and commits every few seconds. No decoding,
validation, routing, state or audit: the difference to the hub is the hub's own work and
the way it uses Faust; the difference to the passthrough is Faust's per-event path.

Defaults are Faust's, except where a benchmark needs otherwise: state in memory, no web
server (ports would collide), the namespace's partition count, reading from the start
of a new group; and the worker runs at log level info, as Faust's documentation starts
one (`faust -A app worker -l info`; below info the worker's terminal spinner turns on
DEBUG logging for everything).

Run it as `python -m onestop.bench.faust_peer --bootstrap HOST:PORT --namespace NS`.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import faust

from schemas.enums import Country
from schemas.topics import DEFAULT_PARTITIONS, Topics


def group_id(topics: Topics) -> str:
    """The Faust app id of the peer for `topics`: its consumer group."""
    return f"{topics.namespace}-faust-peer"


def build_app(
    bootstrap: str,
    topics: Topics,
    data_dir: Path,
    parties: Iterable[Country] = tuple(Country),
) -> faust.App:
    """The Faust app: one agent forwarding every outbox of `parties` to its inbox."""
    app = faust.App(
        group_id(topics),
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=str(data_dir),
        web_enabled=False,
        topic_partitions=topics.partitions,
        consumer_auto_offset_reset="earliest",
    )
    chosen = tuple(parties)
    outboxes = app.topic(
        *(topics.outbox(p) for p in chosen), key_serializer="raw", value_serializer="raw"
    )
    inboxes = {
        topics.outbox(p): app.topic(topics.inbox(p), key_serializer="raw", value_serializer="raw")
        for p in chosen
    }

    @app.agent(outboxes)
    async def forward(stream: faust.StreamT[Any]) -> None:
        async for event in stream.events():
            message = event.message
            inbox = inboxes.get(message.topic)
            if inbox is None:
                continue
            await inbox.send(
                key=message.key,
                value=message.value,
                headers=list(message.headers or ()),
                partition=message.partition,
            )

    return app


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m onestop.bench.faust_peer`: parse the options and run the worker until a
    signal stops it."""
    parser = argparse.ArgumentParser(
        prog="python -m onestop.bench.faust_peer",
        description="Forward outbox records to inboxes with a plain Faust agent",
    )
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--namespace", required=True, help="topic prefix")
    parser.add_argument("--partitions", type=int, default=DEFAULT_PARTITIONS)
    parser.add_argument("--parties", default="", help="comma-separated; default: all")
    parser.add_argument("--data-dir", type=Path, default=Path(".onestop-faust-peer"))
    options = parser.parse_args(argv)
    topics = Topics(options.namespace, options.partitions)
    parties = [Country(code) for code in options.parties.split(",") if code] or list(Country)
    app = build_app(options.bootstrap, topics, options.data_dir, parties)
    asyncio.set_event_loop(asyncio.new_event_loop())
    faust.Worker(app, loglevel="info").execute_from_commandline()


if __name__ == "__main__":
    main()
