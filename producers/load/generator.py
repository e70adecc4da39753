"""The open-loop load generator: simulated nodes send at a fixed offered rate, whatever the
hub does, and every message is followed until it is delivered or dead-lettered.

Message *i* of a run has an intended send time `t0 + i / rate` (or Poisson arrivals of that
mean rate) and carries it as the CloudEvents extension `ce_intendedtime`, which the hub
copies onto the inbox copy. End-to-end latency is the wall time at which the inbox copy is
received minus that intended time, so a sender held up by back-pressure cannot hide the wait
(no coordinated omission). Latencies go into HDR histograms in microseconds.

Nodes are the first N EU member states in `Country` order; node i sends to node (i+1) mod N.
One consumer reads the N inboxes and the dead-letter topic. `--rate max` steps the offered
rate up (doubling, then bisecting, `producers.load.rate_search`) and keeps the highest rate
the hub sustains. On a secure broker each node sends with a producer of its own, logged in
as its party, and the consumer reads as the one `bootstrap` names (the ``reader``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from producers.load.histogram import latency_summary_ms, percentile_ms
from producers.load.machine import describe_machine
from producers.load.rate_search import RateSearch
from producers.load.results import LoadResult, LoadStep, LoadTick
from producers.load.run import LoadRun, arrival_offsets
from producers.load.settings import DEFAULT_MIX, LoadError, LoadKind, LoadSettings, load_nodes
from producers.load.templates import (
    INTENDED_TIME_HEADER,
    KindChooser,
    RecordTemplate,
    build_template,
)
from schemas.access import KafkaAccess, KafkaTarget, client_options
from schemas.enums import Country
from schemas.topics import Topics

SEND_CHUNK: Final = 500  # send futures awaited together
YIELD_EVERY: Final = 200  # messages sent back to back before the consumer gets a turn


class LoadGenerator:
    """A producer for the nodes' outboxes and a consumer of their inboxes and the dead-letter
    topic, kept open across runs (probe, search steps, measured run)."""

    def __init__(
        self,
        bootstrap: KafkaTarget,
        topics: Topics,
        nodes: int,
        party_access: Mapping[Country, KafkaAccess] | None = None,
    ) -> None:
        """`party_access`: each node's own login (a secure broker); default: one producer
        for every node, connected as `bootstrap` is."""
        self.bootstrap = bootstrap
        self.party_access = dict(party_access or {})
        self.topics = topics
        self.nodes = load_nodes(nodes)
        if len(self.nodes) < 2:
            raise LoadError(f"nodes {nodes}: at least 2 are needed")
        self._runs: dict[str, LoadRun] = {}
        self._templates: dict[tuple[LoadKind, int], RecordTemplate] = {}
        self._producers: list[AIOKafkaProducer] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._session = uuid.uuid4().hex[:6]
        self._run_count = 0

    async def __aenter__(self) -> LoadGenerator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Connect, and start reading the inboxes from their current end."""
        senders = [self.party_access[n] for n in self.nodes] if self.party_access else [None]
        for login in senders:
            producer = AIOKafkaProducer(
                **client_options(login or self.bootstrap),
                acks="all",
                linger_ms=5,
                max_batch_size=256 * 1024,
                # Long enough to ride out a broker restart: a record the broker never took is
                # not an accepted request, and a fault case should not make it one.
                request_timeout_ms=120_000,
            )
            await producer.start()
            self._producers.append(producer)
        self._consumer = AIOKafkaConsumer(
            **client_options(self.bootstrap),
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await self._consumer.start()
        watched = [self.topics.inbox(n) for n in self.nodes] + [self.topics.deadletter]
        tps = [TopicPartition(t, p) for t in watched for p in range(self.topics.partitions)]
        # Start at the current ends, resolved before anything is sent; asked before the
        # assignment because end_offsets retries quietly while the partitions of
        # just-created topics get their leaders (an assignment's own reset logs errors).
        ends = await self._consumer.end_offsets(tps)
        self._consumer.assign(tps)
        for tp, end in ends.items():
            self._consumer.seek(tp, end)
        self._reader = asyncio.create_task(self._read(), name="load-reader")

    async def stop(self) -> None:
        """Disconnect."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        for producer in self._producers:
            await producer.stop()
        self._producers.clear()

    # ---- reading -----------------------------------------------------------------------

    async def _read(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        loop = asyncio.get_running_loop()
        deadletter_topic = self.topics.deadletter
        while True:
            batch = await consumer.getmany(timeout_ms=50, max_records=10_000)
            received_wall = time.time()
            now = loop.time()
            for tp, records in batch.items():
                deadletter = tp.topic == deadletter_topic
                for record in records:
                    self._take(record.headers, deadletter, received_wall, now)

    def _take(self, headers: Any, deadletter: bool, received_wall: float, now: float) -> None:
        event_id: bytes | None = None
        intended: bytes | None = None
        for name, raw in headers:
            if name == "ce_id" and event_id is None:
                event_id = raw
            elif name == INTENDED_TIME_HEADER and intended is None:
                intended = raw
        if event_id is None:
            return
        tag, _, number = event_id.decode(errors="replace").rpartition("-")
        run = self._runs.get(tag)
        if run is None or not number.isdigit():
            return  # not ours: a probe of someone else, a reply, an overdue notice
        latency_us: int | None = None
        if intended is not None:
            with contextlib.suppress(ValueError):
                sent = datetime.fromisoformat(intended.decode()).timestamp()
                latency_us = round((received_wall - sent) * 1_000_000)
        run.outcome(int(number), deadletter, latency_us, now)

    # ---- sending -----------------------------------------------------------------------

    def _template(self, kind: LoadKind, sender: int) -> RecordTemplate:
        key = (kind, sender)
        template = self._templates.get(key)
        if template is None:
            recipient = self.nodes[(sender + 1) % len(self.nodes)]
            template = build_template(kind, self.nodes[sender], recipient, self.topics)
            self._templates[key] = template
        return template

    async def _send_all(
        self,
        run: LoadRun,
        offsets: Iterator[float],
        choose: KindChooser,
    ) -> None:
        assert self._producers, "LoadGenerator.start() first"
        producers = self._producers
        loop = asyncio.get_running_loop()
        # A whole window (at least a second) behind schedule: stop trying, count the rest.
        give_up = run.t0_mono + run.duration + max(run.duration, 1.0)
        chunk: list[tuple[int, asyncio.Future[Any]]] = []
        settling: list[asyncio.Task[None]] = []
        back_to_back = 0
        index = -1
        for index, offset in enumerate(offsets):
            due = run.t0_mono + offset
            now = loop.time()
            if due - now > 0.0005:
                await asyncio.sleep(due - now)
                back_to_back = 0
            elif now > give_up:
                run.unsent += 1
                continue
            else:
                back_to_back += 1
                if back_to_back >= YIELD_EVERY:
                    back_to_back = 0
                    await asyncio.sleep(0)
            sender = index % len(self.nodes)
            template = self._template(choose(), sender)
            key, value, headers = template.record(
                f"{run.tag}-{index}", time.time(), run.t0_wall + offset
            )
            run.sending(index)
            producer = producers[sender % len(producers)]  # its own, or the one of all
            try:
                future = await producer.send(template.topic, value=value, key=key, headers=headers)
            except Exception:
                run.failed(index)
                continue
            chunk.append((index, future))
            if len(chunk) >= SEND_CHUNK:
                settling.append(asyncio.create_task(_settle(run, chunk)))
                chunk = []
        if chunk:
            settling.append(asyncio.create_task(_settle(run, chunk)))
        await asyncio.gather(*settling)

    async def run(
        self,
        rate: float,
        duration: float,
        *,
        mix: Mapping[LoadKind, float] = DEFAULT_MIX,
        poisson: bool = False,
        seed: int = 0,
        drain_seconds: float = 30.0,
        tick_seconds: float = 10.0,
        on_tick: Callable[[LoadTick], None] | None = None,
        offsets: Iterator[float] | None = None,
    ) -> LoadRun:
        """Send at `rate` messages/s for `duration` seconds, then wait up to `drain_seconds`
        for every outcome. `offsets` replaces the arrival schedule (seconds after start)."""
        self._run_count += 1
        tag = f"L{self._session}{self._run_count}"
        run = LoadRun(tag, rate, duration)
        self._runs[tag] = run
        rng = random.Random(f"{seed}/{self._run_count}")
        choose = KindChooser(mix, rng)
        plan = offsets if offsets is not None else arrival_offsets(rate, duration, poisson, rng)
        # What exists now outlives the run: keep full collections, each a pause of the
        # sender and the inbox reader, from scanning it again and again (until the end).
        gc.collect()
        gc.freeze()
        loop = asyncio.get_running_loop()
        run.t0_wall = time.time()
        run.t0_mono = loop.time()
        window = loop.call_at(run.t0_mono + duration, run.close_window)
        ticker = (
            asyncio.create_task(self._tick(run, on_tick, tick_seconds))
            if on_tick is not None
            else None
        )
        try:
            await self._send_all(run, plan, choose)
            run.all_sent()
            deadline = max(loop.time(), run.t0_mono + duration) + drain_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.settled.wait(), deadline - loop.time())
        finally:
            gc.unfreeze()
            if run.at_window_end is None:
                window.cancel()
                run.close_window()
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
        return run

    async def _tick(
        self, run: LoadRun, on_tick: Callable[[LoadTick], None], tick_seconds: float
    ) -> None:
        loop = asyncio.get_running_loop()
        last = (run.t0_mono, 0, 0)
        for number in range(1, 1_000_000):
            await asyncio.sleep(max(run.t0_mono + number * tick_seconds - loop.time(), 0.0))
            now = loop.time()
            span = max(now - last[0], 1e-9)
            on_tick(
                LoadTick(
                    elapsed=now - run.t0_mono,
                    sent_per_s=(run.sent - last[1]) / span,
                    delivered_per_s=(run.delivered - last[2]) / span,
                    backlog=run.sent - run.delivered - run.deadlettered,
                    p50_ms=percentile_ms(run.window, 50),
                    p99_ms=percentile_ms(run.window, 99),
                )
            )
            run.window.reset()
            last = (now, run.sent, run.delivered)

    async def probe(self, wait_seconds: float = 120.0) -> float:
        """Send one valid request and wait for its delivery: the hub (or passthrough) is
        ready. Returns the seconds it took; raises LoadError after `wait_seconds`."""
        started = time.monotonic()
        run = await self.run(1.0, 0.001, offsets=iter([0.0]), drain_seconds=wait_seconds)
        if run.delivered == 1:
            return time.monotonic() - started
        if run.deadlettered:
            raise LoadError("the probe request was dead-lettered: the hub rejects load messages")
        raise LoadError(
            f"no delivery of the probe request within {wait_seconds:.0f} s: is a hub running for "
            f"namespace {self.topics.namespace!r}?"
        )

    # ---- whole loads ---------------------------------------------------------------------

    async def load(
        self,
        settings: LoadSettings,
        on_tick: Callable[[LoadTick], None] | None = None,
        on_step: Callable[[LoadStep], None] | None = None,
        kafka_version: str | None = None,
    ) -> LoadResult:
        """Run `settings`: a fixed rate, or the max-rate search."""
        if settings.rate == "max":
            return await self._search(settings, on_step, kafka_version)
        run = await self.run(
            float(settings.rate),
            settings.duration,
            mix=settings.mix,
            poisson=settings.poisson,
            seed=settings.seed,
            drain_seconds=settings.drain_seconds,
            tick_seconds=settings.tick_seconds,
            on_tick=on_tick,
        )
        return _result(run, settings, describe_machine(kafka_version))

    async def _search(
        self,
        settings: LoadSettings,
        on_step: Callable[[LoadStep], None] | None,
        kafka_version: str | None,
    ) -> LoadResult:
        """The max-rate search (see `RateSearch`), one measured step per rate."""
        search = RateSearch(settings.start_rate)
        best: LoadRun | None = None
        while (rate := search.next_rate()) is not None:
            run = await self.run(
                rate,
                settings.step_seconds,
                mix=settings.mix,
                poisson=settings.poisson,
                seed=settings.seed,
                drain_seconds=settings.drain_seconds,
            )
            step = run.step()
            if search.record(step):
                best = run
            if on_step is not None:
                on_step(step)
        if best is None:
            raise LoadError(
                f"no rate was sustained (lowest tried: {min(s.rate for s in search.steps):.0f}/s)"
            )
        result = _result(best, settings, describe_machine(kafka_version))
        return replace(result, max_rate=search.low, steps=search.steps)


async def _settle(run: LoadRun, chunk: list[tuple[int, asyncio.Future[Any]]]) -> None:
    results = await asyncio.gather(*(f for _, f in chunk), return_exceptions=True)
    for (index, _), outcome in zip(chunk, results, strict=True):
        if isinstance(outcome, BaseException):
            run.failed(index)


def _result(run: LoadRun, settings: LoadSettings, machine: dict[str, Any]) -> LoadResult:
    seconds = run.seconds()
    return LoadResult(
        sent=run.sent,
        delivered=run.delivered,
        deadlettered=run.deadlettered,
        errors=run.errors,
        duplicates=run.duplicates,
        missing=run.missing,
        unsent=run.unsent,
        throughput=run.delivered / seconds if seconds > 0 else 0.0,
        offered_rate=run.rate,
        seconds=seconds,
        latency_ms=latency_summary_ms(run.latency),
        settings=settings.as_json(),
        machine=machine,
    )


async def run_load(
    bootstrap: str,
    topics: Topics,
    settings: LoadSettings,
    on_tick: Callable[[LoadTick], None] | None = None,
    *,
    on_step: Callable[[LoadStep], None] | None = None,
    probe_seconds: float | None = None,
    kafka_version: str | None = None,
) -> LoadResult:
    """Load the hub serving `topics` on `bootstrap` as `settings` say; `on_tick` gets the
    progress every `settings.tick_seconds` seconds, `on_step` each max-rate search step.
    With `probe_seconds`, first wait (that many seconds at most) for a probe's delivery."""
    async with LoadGenerator(bootstrap, topics, settings.nodes) as generator:
        if probe_seconds is not None:
            await generator.probe(probe_seconds)
        return await generator.load(settings, on_tick, on_step, kafka_version)
