"""The open-loop load generator: simulated nodes send at a fixed offered rate, whatever the
hub does, and every message is followed until it is delivered or dead-lettered.

Message *i* of a run has an intended send time `t0 + i / rate` (or Poisson arrivals of that
mean rate) and carries it as the CloudEvents extension `ce_intendedtime`, which the hub
copies onto the inbox copy. End-to-end latency is the wall time at which the inbox copy is
received minus that intended time, so a sender held up by back-pressure cannot hide the wait
(no coordinated omission). Latencies go into HDR histograms in microseconds.

Nodes are the first N EU member states in `Country` order; node i sends to node (i+1) mod N.
One consumer reads the N inboxes and the dead-letter topic. `--rate max` steps the offered
rate up (doubling, then bisecting) and keeps the highest rate the hub sustains.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import platform
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from importlib import metadata
from typing import Any, Final, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from hdrh.histogram import HdrHistogram

from schemas.countries import EU_MEMBERS
from schemas.enums import Accessibility, Country, Urgency
from schemas.envelope import EnvelopeError, decode, encode
from schemas.messages import MessageBase, Request, SpontaneousInformation
from schemas.topics import Topics

INTENDED_TIME_HEADER: Final = "ce_intendedtime"
LATENCY_LOWEST_US: Final = 1
LATENCY_HIGHEST_US: Final = 60_000_000
LATENCY_DIGITS: Final = 3
SEND_CHUNK: Final = 500  # send futures awaited together
YIELD_EVERY: Final = 200  # messages sent back to back before the consumer gets a turn
MAX_SEARCH_STEPS: Final = 12
_PLACEHOLDER: Final = "LOADID0PLACEHOLDER0"

Rate = float | Literal["max"]


class LoadKind(StrEnum):
    """What a load message is."""

    REQUEST = "request"  # a non-urgent request for information (opens a request)
    SPONTANEOUS_INFORMATION = "spontaneous_information"  # one-way
    BAD = "bad"  # a request with an invalid language code: the hub must dead-letter it


DEFAULT_MIX: Final[Mapping[LoadKind, float]] = {LoadKind.REQUEST: 1.0}


class LoadError(RuntimeError):
    """The load could not be run: wrong settings, or the hub never answered."""


@dataclass(frozen=True)
class LoadSettings:
    """How to load the hub. `rate` in messages per second (or "max"), times in seconds.

    With `rate="max"` each search step lasts `step_seconds` and `duration` is not used."""

    rate: Rate = 100.0
    duration: float = 30.0
    nodes: int = 4
    mix: Mapping[LoadKind, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    poisson: bool = False
    seed: int = 0
    tick_seconds: float = 10.0
    drain_seconds: float = 30.0  # after the last send, at most this long for outcomes
    step_seconds: float = 5.0
    start_rate: float = 250.0  # first step of the max-rate search

    def __post_init__(self) -> None:
        if self.rate != "max" and not (isinstance(self.rate, float | int) and self.rate > 0):
            raise LoadError(f"rate {self.rate!r}: give messages per second > 0, or 'max'")
        if not 2 <= self.nodes <= len(EU_MEMBERS):
            raise LoadError(f"nodes {self.nodes}: give 2 to {len(EU_MEMBERS)} nodes")
        if self.duration <= 0 or self.step_seconds <= 0:
            raise LoadError("duration and step seconds must be > 0")
        if not self.mix or any(share < 0 for share in self.mix.values()):
            raise LoadError(f"mix {dict(self.mix)}: shares must be >= 0, at least one kind")
        if sum(self.mix.values()) <= 0:
            raise LoadError(f"mix {dict(self.mix)}: at least one share must be > 0")

    def as_json(self) -> dict[str, Any]:
        """The settings as JSON-ready values."""
        data = asdict(self)
        data["mix"] = {str(kind): share for kind, share in self.mix.items()}
        return data


def parse_rate(text: str) -> Rate:
    """`"max"` or a positive number of messages per second."""
    if text.strip().lower() == "max":
        return "max"
    try:
        rate = float(text)
    except ValueError:
        raise LoadError(f"rate {text!r} is neither a number of messages/s nor 'max'") from None
    if not rate > 0 or math.isinf(rate):
        raise LoadError(f"rate {text!r} must be a finite number > 0")
    return rate


def parse_mix(text: str) -> dict[LoadKind, float]:
    """`"request=0.8,spontaneous_information=0.2"` as shares by kind (normalised later)."""
    mix: dict[LoadKind, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, share = part.partition("=")
        try:
            kind = LoadKind(name.strip())
        except ValueError:
            known = ", ".join(k.value for k in LoadKind)
            raise LoadError(f"mix {text!r}: unknown kind {name.strip()!r} (use {known})") from None
        try:
            mix[kind] = float(share) if share.strip() else 1.0
        except ValueError:
            raise LoadError(f"mix {text!r}: share {share!r} of {kind} is not a number") from None
    if not mix:
        raise LoadError(f"mix {text!r} names no kind")
    return mix


def load_nodes(count: int) -> list[Country]:
    """The first `count` EU member states, in `Country` order."""
    return [c for c in Country if c in EU_MEMBERS][:count]


def new_histogram() -> HdrHistogram:
    """An HDR histogram of latencies in microseconds, 1 us .. 60 s, 3 significant digits."""
    return HdrHistogram(LATENCY_LOWEST_US, LATENCY_HIGHEST_US, LATENCY_DIGITS)


def percentile_ms(histogram: HdrHistogram, percentile: float) -> float:
    """A percentile of a microsecond histogram, in milliseconds (0 when empty)."""
    if histogram.get_total_count() == 0:
        return 0.0
    return float(histogram.get_value_at_percentile(percentile)) / 1000.0


def latency_summary_ms(histogram: HdrHistogram) -> dict[str, float]:
    """p50, p90, p99, p99.9 and max of a microsecond histogram, in milliseconds."""
    return {
        "p50": percentile_ms(histogram, 50),
        "p90": percentile_ms(histogram, 90),
        "p99": percentile_ms(histogram, 99),
        "p99_9": percentile_ms(histogram, 99.9),
        "max": float(histogram.get_max_value()) / 1000.0 if histogram.get_total_count() else 0.0,
    }


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def memory_total_bytes() -> int | None:
    """MemTotal of /proc/meminfo in bytes, or None where there is none."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def describe_machine(kafka_version: str | None = None) -> dict[str, Any]:
    """Where a measurement ran: platform, CPUs, memory (bytes), Python and Kafka versions."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": memory_total_bytes(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "aiokafka": _package_version("aiokafka"),
        "faust_streaming": _package_version("faust-streaming"),
        "kafka_broker": kafka_version or "unknown",
    }


def machine_line(machine: Mapping[str, Any]) -> str:
    """A one-line summary of `describe_machine()`."""
    memory = machine.get("memory_bytes")
    gib = f"{memory / 2**30:.1f} GiB" if memory else "? GiB"
    return (
        f"{machine.get('platform')}, {machine.get('cpu_count')} CPUs, {gib}, "
        f"Python {machine.get('python')}, aiokafka {machine.get('aiokafka')}, "
        f"Kafka {machine.get('kafka_broker')}"
    )


# ---- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadTick:
    """Progress over the last tick: rates in messages per second, latency in milliseconds
    (of the messages delivered during the tick), `elapsed` in seconds since the start."""

    elapsed: float
    sent_per_s: float
    delivered_per_s: float
    backlog: int
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class LoadStep:
    """One step of the max-rate search. `rate` offered, `completed_per_s` = delivered plus
    dead-lettered per second during the step's sending window; `backlog_at_end` = sent minus
    delivered minus dead-lettered when the window closed."""

    rate: float
    seconds: float
    sent: int
    delivered: int
    deadlettered: int
    errors: int
    missing: int
    backlog_at_end: int
    completed_per_s: float
    p99_ms: float
    sustained: bool


@dataclass(frozen=True)
class LoadResult:
    """What a load run measured. `throughput` is delivered messages per second over the
    run (sending window, or until the last outcome when later); latencies in milliseconds.
    `missing` messages were sent but neither delivered nor dead-lettered before the drain
    timeout; `unsent` were due but skipped because the sender fell a window behind."""

    sent: int
    delivered: int
    deadlettered: int
    errors: int
    duplicates: int
    missing: int
    unsent: int
    throughput: float
    offered_rate: float
    seconds: float
    latency_ms: dict[str, float]
    settings: dict[str, Any]
    machine: dict[str, Any]
    max_rate: float | None = None
    steps: list[LoadStep] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return asdict(self)


# ---- messages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordTemplate:
    """A ready record of one kind between two nodes; ids and times are filled per message."""

    topic: str
    value_parts: tuple[bytes, ...]  # the value split at the id placeholder
    headers: tuple[tuple[str, bytes], ...]

    def record(
        self, message_id: str, sent_wall: float, intended_wall: float
    ) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        """Key, value and headers of message `message_id`."""
        raw_id = message_id.encode()
        value = raw_id.join(self.value_parts)
        headers = [
            (name, raw_id if raw == _PLACEHOLDER.encode() else raw) for name, raw in self.headers
        ]
        headers.append(("ce_time", rfc3339(sent_wall)))
        headers.append((INTENDED_TIME_HEADER, rfc3339(intended_wall)))
        return raw_id, value, headers


def rfc3339(wall: float) -> bytes:
    """Epoch seconds as an RFC 3339 UTC timestamp with microseconds, e.g. `...T08:00:00.123456Z`."""
    moment = datetime.fromtimestamp(wall, UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z").encode()


def _message(kind: LoadKind, sender: Country, recipient: Country) -> MessageBase:
    common: dict[str, Any] = {
        "message_id": _PLACEHOLDER,
        "case_id": _PLACEHOLDER,
        "request_id": _PLACEHOLDER,
        "sender": sender,
        "recipient": recipient,
        "language": "en",
        "sent_at": datetime.now(UTC),
    }
    if kind is LoadKind.SPONTANEOUS_INFORMATION:
        return SpontaneousInformation(
            **common,
            subject="Load test: convoy of stolen vans heading west",
            information="Three vans, false plates, seen on the motorway an hour ago.",
        )
    return Request(
        **common,
        urgency=Urgency.NON_URGENT,
        accessibility=Accessibility.DIRECT,
        subject="Load test: registered keeper of a vehicle",
        details="Who is the registered keeper of the vehicle, and since when?",
    )


def build_template(
    kind: LoadKind, sender: Country, recipient: Country, topics: Topics
) -> RecordTemplate:
    """The record template of `kind` from `sender` to `recipient`, checked once against the
    envelope: valid kinds must decode, `bad` must not."""
    record = encode(_message(kind, sender, recipient))
    value = record.value or b""
    if kind is LoadKind.BAD:
        value = value.replace(b'"language":"en"', b'"language":"english"')
    headers = tuple((n, v) for n, v in record.headers if n != "ce_time")
    try:
        decode(value, [*headers, ("ce_time", b"2026-01-01T00:00:00Z")])
    except EnvelopeError:
        if kind is not LoadKind.BAD:
            raise
    else:
        if kind is LoadKind.BAD:
            raise LoadError("the 'bad' load template decoded; it must be invalid")
    parts = tuple(value.split(_PLACEHOLDER.encode()))
    return RecordTemplate(topics.outbox(sender), parts, headers)


class KindChooser:
    """Draws the kind of each message from the mix (shares need not sum to 1)."""

    def __init__(self, mix: Mapping[LoadKind, float], rng: random.Random) -> None:
        self.kinds = [kind for kind, share in mix.items() if share > 0]
        shares = [mix[kind] for kind in self.kinds]
        self.cumulative = [sum(shares[: i + 1]) for i in range(len(shares))]
        self.rng = rng

    def __call__(self) -> LoadKind:
        if len(self.kinds) == 1:
            return self.kinds[0]
        return self.rng.choices(self.kinds, cum_weights=self.cumulative)[0]


# ---- one run -------------------------------------------------------------------------------

_SENT, _FAILED, _DELIVERED, _DEADLETTERED = 1, 2, 3, 4


class LoadRun:
    """The bookkeeping of one run: per message a state byte, counters and latency
    histograms (microseconds); `t0_wall` (epoch seconds) and `t0_mono` (loop seconds) are
    its start."""

    def __init__(self, tag: str, rate: float, duration: float) -> None:
        self.tag = tag
        self.rate = rate
        self.duration = duration
        self.t0_wall = 0.0
        self.t0_mono = 0.0
        self.states = bytearray()
        self.sent = 0
        self.unsent = 0
        self.delivered = 0
        self.deadlettered = 0
        self.errors = 0
        self.duplicates = 0
        self.outstanding = 0
        self.last_outcome_mono = 0.0
        self.latency = new_histogram()
        self.window = new_histogram()
        self.at_window_end: tuple[int, int, int] | None = None  # sent, delivered, deadlettered
        self.sending_done = False
        self.settled = asyncio.Event()  # set once everything sent has an outcome

    def all_sent(self) -> None:
        """Nothing more will be sent in this run."""
        self.sending_done = True
        self._check_settled()

    def _check_settled(self) -> None:
        if self.sending_done and self.outstanding == 0:
            self.settled.set()

    def sending(self, index: int) -> None:
        """Message `index` is about to be handed to the producer."""
        if index >= len(self.states):
            self.states.extend(bytes(index + 1024 - len(self.states)))
        self.states[index] = _SENT
        self.sent += 1
        self.outstanding += 1

    def failed(self, index: int) -> None:
        """The producer could not send message `index`."""
        self.errors += 1
        if self.states[index] == _SENT:
            self.states[index] = _FAILED
            self.outstanding -= 1
            self._check_settled()

    def outcome(self, index: int, deadletter: bool, latency_us: int | None, now: float) -> None:
        """Message `index` was seen in an inbox (or the dead-letter topic)."""
        if index >= len(self.states):
            return  # not one of ours: a number this run never sent
        state = self.states[index]
        if state in (_DELIVERED, _DEADLETTERED):
            self.duplicates += 1
            return
        if state == 0:
            return
        if state == _SENT:
            self.outstanding -= 1
            self._check_settled()
        self.last_outcome_mono = now
        if deadletter:
            self.states[index] = _DEADLETTERED
            self.deadlettered += 1
            return
        self.states[index] = _DELIVERED
        self.delivered += 1
        if latency_us is not None:
            value = min(max(latency_us, LATENCY_LOWEST_US), LATENCY_HIGHEST_US)
            self.latency.record_value(value)
            self.window.record_value(value)

    def close_window(self) -> None:
        """Note the counts at the end of the sending window."""
        self.at_window_end = (self.sent, self.delivered, self.deadlettered)

    @property
    def missing(self) -> int:
        """Sent and not (yet) seen delivered or dead-lettered."""
        return self.outstanding

    def seconds(self) -> float:
        """The run's length: the sending window, or until the last outcome when later."""
        if self.last_outcome_mono <= 0:
            return self.duration
        return max(self.duration, self.last_outcome_mono - self.t0_mono)

    def step(self) -> LoadStep:
        """This run judged as a step of the max-rate search."""
        sent, delivered, deadlettered = self.at_window_end or (
            self.sent,
            self.delivered,
            self.deadlettered,
        )
        backlog = sent - delivered - deadlettered
        completed_per_s = (delivered + deadlettered) / self.duration
        sustained = (
            backlog < self.rate * 1.0
            and completed_per_s >= 0.9 * self.rate
            and self.errors == 0
            and self.unsent == 0
        )
        return LoadStep(
            rate=self.rate,
            seconds=self.duration,
            sent=self.sent,
            delivered=self.delivered,
            deadlettered=self.deadlettered,
            errors=self.errors,
            missing=self.missing,
            backlog_at_end=backlog,
            completed_per_s=completed_per_s,
            p99_ms=percentile_ms(self.latency, 99),
            sustained=sustained,
        )


def arrival_offsets(
    rate: float, duration: float, poisson: bool, rng: random.Random
) -> Iterator[float]:
    """Intended send times in seconds after the start, below `duration`: every 1/rate, or
    exponential gaps of mean 1/rate (Poisson arrivals)."""
    if not poisson:
        count = math.ceil(rate * duration)
        for index in range(count):
            offset = index / rate
            if offset >= duration:
                return
            yield offset
        return
    offset = rng.expovariate(rate)
    while offset < duration:
        yield offset
        offset += rng.expovariate(rate)


class LoadGenerator:
    """A producer for the nodes' outboxes and a consumer of their inboxes and the dead-letter
    topic, kept open across runs (probe, search steps, measured run)."""

    def __init__(self, bootstrap: str, topics: Topics, nodes: int) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.nodes = load_nodes(nodes)
        if len(self.nodes) < 2:
            raise LoadError(f"nodes {nodes}: at least 2 are needed")
        self._runs: dict[str, LoadRun] = {}
        self._templates: dict[tuple[LoadKind, int], RecordTemplate] = {}
        self._producer: AIOKafkaProducer | None = None
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
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            linger_ms=5,
            max_batch_size=256 * 1024,
            request_timeout_ms=30_000,
        )
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
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
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

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
        assert self._producer is not None, "LoadGenerator.start() first"
        producer = self._producer
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
            template = self._template(choose(), index % len(self.nodes))
            key, value, headers = template.record(
                f"{run.tag}-{index}", time.time(), run.t0_wall + offset
            )
            run.sending(index)
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
        """Double the offered rate until a step is not sustained, then bisect between the
        best sustained and the first failed rate to within 10 %."""
        steps: list[LoadStep] = []
        best: LoadRun | None = None
        low, high = 0.0, math.inf
        rate = settings.start_rate
        for _ in range(MAX_SEARCH_STEPS):
            run = await self.run(
                rate,
                settings.step_seconds,
                mix=settings.mix,
                poisson=settings.poisson,
                seed=settings.seed,
                drain_seconds=settings.drain_seconds,
            )
            step = run.step()
            steps.append(step)
            if on_step is not None:
                on_step(step)
            if step.sustained:
                low, best = rate, run
            else:
                high = rate
            if math.isinf(high):
                rate *= 2
            elif low > 0 and (high - low) <= 0.1 * high:
                break
            else:
                rate = (low + high) / 2
            if rate < 1.0:
                break
        if best is None:
            raise LoadError(
                f"no rate was sustained (lowest tried: {min(s.rate for s in steps):.0f}/s)"
            )
        result = _result(best, settings, describe_machine(kafka_version))
        return replace(result, max_rate=low, steps=steps)


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
