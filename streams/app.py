"""The hub as a Faust app: a thin shell around `Exchange`.

One agent (concurrency 1: faust-streaming loses messages above 1, its issue #606) reads
every outbox in batches. For each batch it decides with `Exchange`, seals the audit
records, writes every output and waits for the broker's acknowledgement, and only then
stores the new request state. A crash at any point therefore loses nothing: the input is
redelivered, the same outputs (same ids) are written again, and downstream readers
recognise them. A timer finds due deadlines in a heap and flags them the same way.
Another watches the input partitions: records the consumer took from Kafka that never
reached the agent are read back and processed (see `streams.positions`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faust.web import Request as WebRequest
from faust.web import Response, View
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from schemas.clock import ExerciseClock, ExerciseSetup
from schemas.clock_feed import ClockFeed
from schemas.enums import Channel
from schemas.envelope import header_map
from schemas.topics import partition_for, process_client_id
from streams.auditor import Auditor
from streams.deadline_index import DeadlineIndex, DueEntry
from streams.exchange import Effects, Exchange, Inbound
from streams.lifecycle import OpenRequest
from streams.metrics import HubMetrics
from streams.positions import InputPositions, Stall, Verdict
from streams.retention import Finished, RetentionQueue
from streams.routing import routing_for
from streams.settings import HubSettings
from streams.transport import HubApp

log = logging.getLogger(__name__)
BATCH_ATTEMPTS = 3
EXIT_BATCH_FAILED = 70  # EX_SOFTWARE
# Empty reads of 2 s each before a gap counts as unreadable: below the 20 s rebalance
# timeout, since the hub's lock is held meanwhile.
GAP_READ_ATTEMPTS = 8


class RequestTable(faust.Table[str, bytes]):
    """Open requests by request id. Its changelog partition is the key's murmur2
    partition, the same one the request's records use, so a timer may write it too."""

    def partition_for_key(self, key: Any) -> int | None:
        raw = key.encode() if isinstance(key, str) else bytes(key)
        return partition_for(raw, self.partitions or 1)


class PositionTable(faust.Table[str, bytes]):
    """Next input offset per `<topic>/<partition>`, on that partition's changelog."""

    def partition_for_key(self, key: Any) -> int | None:
        return int(str(key).rsplit("/", 1)[1])


def position_key(topic: str, partition: int) -> str:
    """The PositionTable key of an input partition."""
    return f"{topic}/{partition}"


class TableStore(MutableMapping[str, OpenRequest]):
    """The Faust table seen as a mapping of OpenRequest, stored as compact JSON bytes."""

    def __init__(self, table: RequestTable) -> None:
        self.table = table

    def __getitem__(self, key: str) -> OpenRequest:
        raw = self.table.get(key)
        if raw is None:
            raise KeyError(key)
        return OpenRequest.model_validate_json(raw)

    def __setitem__(self, key: str, value: OpenRequest) -> None:
        self.table[key] = value.model_dump_json(exclude_defaults=True).encode()

    def __delitem__(self, key: str) -> None:
        del self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table.keys())

    def __len__(self) -> int:
        return len(self.table)


class Overlay(MutableMapping[str, OpenRequest]):
    """Writes of the batch in flight, read through to the store; flushed once the batch's
    outputs are acknowledged."""

    def __init__(self, base: MutableMapping[str, OpenRequest]) -> None:
        self.base = base
        self.pending: dict[str, OpenRequest] = {}

    def __getitem__(self, key: str) -> OpenRequest:
        if key in self.pending:
            return self.pending[key]
        return self.base[key]

    def __setitem__(self, key: str, value: OpenRequest) -> None:
        self.pending[key] = value

    def __delitem__(self, key: str) -> None:
        raise NotImplementedError("requests are never deleted by the exchange")

    def __iter__(self) -> Iterator[str]:
        yield from self.pending
        yield from (k for k in self.base if k not in self.pending)

    def __len__(self) -> int:
        return len(set(self.pending) | set(self.base))

    def flush(self) -> list[OpenRequest]:
        """Write pending state to the store; return what was written."""
        written = list(self.pending.values())
        for key, value in self.pending.items():
            self.base[key] = value
        self.pending.clear()
        return written


class Hub:
    """Builds the Faust app and holds what its agent and timers share."""

    def __init__(self, settings: HubSettings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.topics = settings.topics
        self.registry = registry or CollectorRegistry()
        self.metrics = HubMetrics(self.registry)
        self.clock = ExerciseClock()
        self.index = DeadlineIndex()
        self.retention = RetentionQueue(settings.settled_retention)
        self.lock = asyncio.Lock()
        self._index_stale = True
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.app = HubApp(
            settings.app_id,
            broker=f"kafka://{settings.bootstrap}",
            broker_client_id=process_client_id("hub"),
            store="memory://",
            datadir=str(settings.data_dir),
            web_host=settings.web_host,
            web_port=settings.web_port,
            web_in_thread=False,
            topic_partitions=self.topics.partitions,
            topic_replication_factor=1,
            topic_allow_declare=True,
            consumer_auto_offset_reset="earliest",
            producer_acks=-1,
            # A killed worker's partitions move to a new one within seconds, not a minute.
            broker_session_timeout=10.0,
            broker_heartbeat_interval=2.0,
            broker_rebalance_timeout=20.0,
            producer_linger=0.002,
            broker_commit_every=1000,
            broker_commit_interval=1.0,
            stream_buffer_maxsize=8192,
            table_standby_replicas=0,
            loghandlers=[],
        )
        self.app.fetch_min_bytes = settings.fetch_min_bytes
        self.app.fetch_max_wait_ms = round(settings.fetch_max_wait * 1000)
        self.table = RequestTable(
            self.app,
            name="requests",
            default=None,
            beacon=self.app.tables.beacon,
            partitions=self.topics.partitions,
            # Faust picks the changelog codecs from these types: str keys as JSON strings,
            # bytes values raw (the OpenRequest JSON, stored compact).
            key_type=str,
            value_type=bytes,
            help="Open requests by request id",
        )
        self.app.tables.add(self.table)
        self.position_table = PositionTable(
            self.app,
            name="positions",
            default=None,
            beacon=self.app.tables.beacon,
            partitions=self.topics.partitions,
            key_type=str,
            value_type=bytes,
            help="Next offset to process per input partition (decimal text)",
        )
        self.app.tables.add(self.position_table)
        self.positions = InputPositions()
        self._positions_checked: set[tuple[str, int]] = set()
        self._gap_reader: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._owned: set[int] = set(range(self.topics.partitions))
        self._configured_for: tuple[ExerciseSetup | None, frozenset[Channel] | None] = (
            None,
            None,
        )
        self._started = False
        self._clock_unreachable = 2**62
        self.store = TableStore(self.table)
        self.exchange = Exchange(
            self.topics, settings.rules, settings.routing, self.store, frozenset(settings.parties)
        )
        self.auditor = Auditor(settings.bootstrap, self.topics.audit)
        self.clock_feed = ClockFeed(settings.bootstrap, self.topics.clock, self.clock)
        self._wire()

    # ---- wiring --------------------------------------------------------------------------

    def _raw_topic(self, *names: str) -> faust.TopicT:
        return self.app.topic(
            *names,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=self.topics.partitions,
        )

    def _wire(self) -> None:
        outboxes = [self.topics.outbox(p) for p in self.settings.parties]
        source = self._raw_topic(*outboxes)
        hub = self

        @self.app.agent(source, name="exchange", concurrency=1)
        async def exchange(stream: faust.StreamT[Any]) -> None:
            async for events in cast(faust.Stream[bytes], stream).take_events(
                self.settings.batch_size, within=self.settings.batch_wait
            ):
                await hub.process_batch_or_die(events)

        @self.app.timer(interval=self.settings.tick, name="deadlines")  # type: ignore[untyped-decorator]
        async def deadlines() -> None:
            try:
                await hub.check_deadlines()
            except Exception:
                # Entries taken from the heap were not flagged: rebuild it from the table.
                log.exception("deadline check failed; the index is rebuilt")
                hub.auditor.forget(set(range(hub.topics.partitions)))
                hub.mark_index_stale()

        @self.app.timer(interval=self.settings.watch_interval, name="inputs")  # type: ignore[untyped-decorator]
        async def inputs() -> None:
            try:
                await hub.watch_inputs()
            except Exception:  # a partition revoked mid-way, a broker hiccup: next time
                log.warning("input partitions not watched", exc_info=True)

        registry = self.registry

        @self.app.page("/metrics")
        class Metrics(View):
            async def get(self, request: WebRequest) -> Response:
                return self.bytes(
                    generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
                )

        self.app.on_partitions_revoked.connect(self._on_revoked)
        self.app.on_partitions_assigned.connect(self._on_assigned)

    def mark_index_stale(self) -> None:
        """Rebuild the deadline heap from the table before the next check."""
        self._index_stale = True

    def _on_revoked(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked: set[Any] = kwargs.get("revoked") or (args[0] if args else set())
        self.auditor.forget({tp.partition for tp in revoked})
        self._positions_checked.clear()
        self.positions.restart_watch()
        self._index_stale = True

    def _on_assigned(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        assigned: set[Any] = kwargs.get("assigned") or (args[0] if args else set())
        self._owned = {tp.partition for tp in assigned if tp.topic in self._outbox_names}
        self._index_stale = True

    # ---- the work ------------------------------------------------------------------------

    async def _ensure_started(self) -> None:
        """Catch up with the clock and open the audit reader, once, before any work."""
        if self._started:
            return
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            max_batch_size=256 * 1024,
        )
        try:
            await self.clock_feed.start()
            await self.auditor.start()
            await producer.start()
        except Exception:
            await self.clock_feed.stop()
            await self.auditor.stop()
            await producer.stop()
            raise
        self._producer = producer
        self._started = True

    async def process_batch_or_die(self, events: Sequence[faust.EventT[bytes]]) -> None:
        """Process a batch, retrying a failure (a broker hiccup) a few times. If it still
        fails, end the process at once: Faust acknowledges a taken batch even when its
        processing raised, so only dying before that keeps the batch for redelivery."""
        for attempt in range(1, BATCH_ATTEMPTS + 1):
            try:
                await self.process_batch(events)
                return
            except Exception:
                log.exception("batch of %d failed (attempt %d)", len(events), attempt)
                self._forget_progress()
                await asyncio.sleep(0.5 * attempt)
        log.critical("giving up on a batch; exiting so that it is redelivered after restart")
        logging.shutdown()
        os._exit(EXIT_BATCH_FAILED)

    async def process_batch(self, events: Sequence[faust.EventT[bytes]]) -> None:
        """Decide, write and acknowledge one batch of outbox records."""
        async with self.lock:
            await self._ensure_started()
            started = time.perf_counter()
            inbounds: list[Inbound] = []
            read_back = 0
            for event in events:
                in_order = await self._in_order(event.message)
                read_back += max(len(in_order) - 1, 0)  # all but the event itself
                inbounds.extend(in_order)
            await self._process(inbounds, started, len(events))
            self.metrics.read_back.labels("skipped").inc(read_back)

    async def _process(self, inbounds: list[Inbound], started: float, count: int) -> None:
        """Decide on `inbounds` (in order), write every output and wait for the broker's
        acknowledgements, then store the new state and input positions."""
        await self._catch_up_clock(inbounds)
        wall = datetime.now(UTC)
        results: list[Effects] = []
        overlay = Overlay(self.store)
        self.exchange.store = overlay
        try:
            for inbound in inbounds:
                now = self.clock.at(inbound.timestamp)
                self._configure(now)
                results.append(self.exchange.receive(inbound, now, wall))
        finally:
            self.exchange.store = self.store
        await self._write(results)
        written = overlay.flush()
        last = {position_key(i.topic, i.partition): i.offset + 1 for i in inbounds}
        for key, next_offset in last.items():
            self.position_table[key] = str(next_offset).encode()
        self._account(results, written, time.perf_counter() - started, count)

    def _forget_progress(self) -> None:
        """After a failure mid-way: chain heads and input positions are read again."""
        self.auditor.forget(set(range(self.topics.partitions)))
        self.positions.next_offset.clear()  # reloaded from the table
        self.positions.restart_watch()
        self._positions_checked.clear()

    def _load_position(self, topic: str, partition: int) -> None:
        """After start-up or a rebalance: the table may know better than memory."""
        key = (topic, partition)
        if key in self._positions_checked:
            return
        stored = self.position_table.get(position_key(topic, partition))
        known = [int(v) for v in (stored, self.positions.next_offset.get(key)) if v]
        if known:
            self.positions.next_offset[key] = max(known)
        self._positions_checked.add(key)

    async def _in_order(self, message: Any) -> list[Inbound]:
        """The records to process for `message`, in order: none when it was processed
        before; the records Faust skipped before it, read back from Kafka, when it comes
        after a gap; otherwise just itself."""
        topic, partition, offset = message.topic, message.partition, message.offset
        key = (topic, partition)
        self._load_position(topic, partition)
        verdict = self.positions.judge(topic, partition, offset)
        if verdict is Verdict.ALREADY_DONE:
            self.metrics.duplicate("redelivered")
            return []
        inbounds = []
        if verdict is Verdict.BEYOND_GAP:
            start = self.positions.next_offset[key]
            log.warning(
                "%s[%d]: records %d..%d were skipped by the consumer; reading them",
                topic,
                partition,
                start,
                offset - 1,
            )
            inbounds = await self._read_gap(topic, partition, start, offset)
        inbounds.append(_inbound(message))
        for inbound in inbounds:
            self.positions.advance(topic, partition, inbound.offset)
        return inbounds

    async def _read_gap(self, topic: str, partition: int, start: int, end: int) -> list[Inbound]:
        """Records [start, end) of one partition, read straight from Kafka."""
        reader = await self._reader()
        tp = TopicPartition(topic, partition)
        reader.assign([tp])
        reader.seek(tp, start)
        records: list[Inbound] = []
        empty_reads = 0
        # By position, not by the last record: a reset past records gone from the log, or
        # a hole left by compaction, moves the position on without a record at `end - 1`.
        while await reader.position(tp) < end:
            batch = await reader.getmany(tp, timeout_ms=2000)
            if not batch:
                empty_reads += 1  # a busy broker, or a reader still finding the leader
                if empty_reads >= GAP_READ_ATTEMPTS:
                    raise GapError(
                        f"{topic}[{partition}]: could not read offsets {start}..{end - 1}"
                    )
                continue
            records.extend(
                Inbound(
                    topic=r.topic,
                    partition=r.partition,
                    offset=r.offset,
                    key=r.key,
                    value=r.value,
                    headers=[(k, bytes(v)) for k, v in r.headers],
                    timestamp=r.timestamp / 1000,
                )
                for r in batch.get(tp, [])
                if r.offset < end
            )
        return records

    async def _reader(self) -> AIOKafkaConsumer:
        """The hub's own reader of input partitions (records read back), outside any
        consumer group."""
        if self._gap_reader is None:
            reader = AIOKafkaConsumer(
                bootstrap_servers=self.settings.bootstrap,
                enable_auto_commit=False,
                auto_offset_reset="earliest",  # records past retention: read what is left
            )
            await reader.start()
            self._gap_reader = reader
        return self._gap_reader

    async def _group_starts(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Where the hub's consumer group starts reading these partitions: the committed
        offset, or the partition's first offset when there is none or it is gone from the
        log (the consumer then resets to the earliest)."""
        tps = [TopicPartition(topic, partition) for topic, partition in keys]
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.bootstrap)
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(
                self.settings.app_id, partitions=tps
            )
        finally:
            await admin.close()
        beginnings = await (await self._reader()).beginning_offsets(tps)
        starts = {}
        for tp in tps:
            offset = committed[tp].offset if tp in committed else -1
            starts[(tp.topic, tp.partition)] = max(int(offset), int(beginnings[tp]))
        return starts

    async def _catch_up_clock(self, inbounds: Sequence[Inbound]) -> None:
        """Apply every clock command the senders had seen before timing their messages."""
        needed = 0
        for inbound in inbounds:
            for name, value in inbound.headers:
                if name == "ce_clockoffset" and value.isdigit():
                    needed = max(needed, int(value))
        # A sender may claim an offset that never comes: wait for it once, not every batch.
        if self.clock_feed.position >= self._clock_unreachable:
            self._clock_unreachable = 2**62
        waiting = self.clock_feed.position < needed < self._clock_unreachable
        if waiting and not await self.clock_feed.wait_for(needed, wait_seconds=2.0):
            self._clock_unreachable = needed

    def _configure(self, now: datetime) -> None:
        """Rules and routing of the running exercise, as of exercise time `now`
        (rebuilt only when the exercise or the set of channels down changes)."""
        setup = self.clock.setup
        down = setup.down_at(now) if setup else frozenset()
        seen_setup, seen_down = self._configured_for
        if self.exchange.exercise_id != self.clock.exercise_id:
            # A new exercise: requests of the one before no longer fall due.
            self.exchange.exercise_id = self.clock.exercise_id
            self._index_stale = True
        if setup is not seen_setup or down != seen_down:
            self._configured_for = (setup, down)  # holding it keeps the identity check sound
            self.exchange.routing = routing_for(setup, now, self.settings.routing)
            self.exchange.rules = (setup.rules if setup else None) or self.settings.rules

    async def check_deadlines(self) -> None:
        """Flag the requests whose deadline has passed in exercise time."""
        async with self.lock:
            if self.app.rebalancing:
                return  # tables are being recovered; the index is rebuilt afterwards
            await self._ensure_started()
            now = self.clock.before(self.settings.lateness)
            self._configure(now)
            if self._index_stale:
                self._rebuild_index()
            self._let_go_of_finished()
            due = self.index.due(now)
            if not due:
                return
            overlay = Overlay(self.store)
            self.exchange.store = overlay
            wall = datetime.now(UTC)
            try:
                results = [self.exchange.deadline_due(e.request_id, now, wall) for e in due]
            finally:
                self.exchange.store = self.store
            await self._write(results)
            written = overlay.flush()
            self._account(results, written, 0.0, 0)

    def _let_go_of_finished(self) -> None:
        """Remove from the table the finished requests kept past their retention."""
        for finished in self.retention.expired(time.time()):
            if finished.partition in self._owned and finished.request_id in self.table:
                del self.table[finished.request_id]  # a tombstone on the changelog

    async def _write(self, results: list[Effects]) -> None:
        """Seal the audit records and send every output; return when all are acknowledged.

        Outputs go through the hub's own producer rather than Faust's: it batches freely
        (Faust's send path costs several times more per record), and the hub waits for
        every acknowledgement itself before it stores state or lets Faust commit."""
        assert self._producer is not None, "Hub._ensure_started() first"
        send = self._producer.send
        futures: list[Any] = []
        try:
            await self._send_all(results, send, futures)
        finally:
            # Every send settles before a failure is raised, so a retry never overtakes
            # a record still in flight (the audit chain would fork).
            outcomes = await asyncio.gather(*futures, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _send_all(self, results: list[Effects], send: Any, futures: list[Any]) -> None:
        for effects in results:
            for out in effects.outputs:
                futures.append(
                    await send(
                        out.topic,
                        value=out.record.value,
                        key=out.record.key,
                        partition=out.partition,
                        headers=out.record.headers,
                        timestamp_ms=round(out.timestamp * 1000) if out.timestamp else None,
                    )
                )
            for record in effects.audit:
                sealed = await self.auditor.seal(record)
                self.metrics.observe_audit(record)
                futures.append(
                    await send(
                        self.topics.audit,
                        value=sealed,
                        key=(record.request_id or record.record_id).encode(),
                        partition=record.partition,
                        headers=[("onestop_record_id", record.record_id.encode())],
                    )
                )

    def _account(
        self, results: list[Effects], written: list[OpenRequest], seconds: float, count: int
    ) -> None:
        # Deadlines first: nothing below may cost a request its place in the index.
        now_wall = time.time()
        for stored in written:
            if stored.deadline is not None and not stored.overdue:
                self.index.schedule(stored.request_id, stored.deadline, stored.partition)
            elif stored.settled or stored.one_way:
                self.retention.add(stored.request_id, stored.partition, now_wall)
        for effects in results:
            if effects.duplicate:
                self.metrics.duplicate(effects.kind.value if effects.kind else "unknown")
            for request, delta in ((effects.opened, 1), (effects.settled, -1)):
                if request is not None:
                    self.metrics.open_requests.labels(*_labels(request)).inc(delta)
            if effects.overdue is not None:
                self.metrics.overdue_requests.labels(*_labels(effects.overdue)).inc()
            if effects.settled is not None and effects.settled.overdue:
                self.metrics.overdue_requests.labels(*_labels(effects.settled)).dec()
            for out in effects.outputs:
                if out.topic == self.topics.deadletter:
                    continue
                headers = header_map(out.record.headers)
                sent = _epoch(headers.get("ce_time"))
                if sent is not None:
                    self.metrics.transit.labels(
                        headers.get("ce_channel", "none"), _urgency_of(effects)
                    ).observe(max(now_wall - sent, 0.0))
        if count:
            per_message = seconds / count
            for _ in range(count):
                self.metrics.processing.observe(per_message)

    def _rebuild_index(self) -> None:
        """Rebuild the deadline heap, the retention queue and the gauges from the table
        (after a restart or a rebalance). Finished requests get their retention anew."""
        entries = []
        finished = []
        now_wall = time.time()
        self.metrics.open_requests.clear()
        self.metrics.overdue_requests.clear()
        for key in list(self.store):
            request = self.store[key]
            if request.partition not in self._owned:
                continue
            over = request.exercise_id != self.exchange.exercise_id  # an earlier exercise
            if request.one_way or request.settled or over:
                finished.append(Finished(now_wall, request.request_id, request.partition))
                continue
            self.metrics.open_requests.labels(*_labels(request)).inc()
            if request.overdue:
                self.metrics.overdue_requests.labels(*_labels(request)).inc()
            elif request.deadline is not None:
                entries.append(
                    DueEntry(request.deadline.timestamp(), request.request_id, request.partition)
                )
        self.index.rebuild(entries)
        self.retention.rebuild(finished)
        self._index_stale = False

    async def watch_inputs(self) -> None:
        """Measure the consumer lag per input topic, then process the stalled records:
        those the consumer took from Kafka long ago that never reached the agent."""
        if self.app.rebalancing:
            return
        generation = self.app.consumer_generation_id
        consumer = self.app.consumer
        consumed: dict[tuple[str, int], int] = {}
        totals: dict[str, int] = {}
        for tp in consumer.assignment():
            if tp.topic not in self._outbox_names:
                continue
            position = await consumer.position(tp)
            if position is None:
                continue
            consumed[(tp.topic, tp.partition)] = position
            highwater = consumer.highwater(tp)
            if highwater is not None:
                totals[tp.topic] = totals.get(tp.topic, 0) + max(highwater - position, 0)
        for topic, lag in totals.items():
            self.metrics.consumer_lag.labels(topic).set(lag)
        await self.process_stalled(consumed, generation)

    async def process_stalled(self, consumed: dict[tuple[str, int], int], generation: int) -> None:
        """Read back and process the records of every stalled input partition (see
        `streams.positions`); `consumed` is the consumer's position per partition as of
        group generation `generation`. Stops as soon as a rebalance begins."""
        async with self.lock:
            if not self._owns_inputs(generation):
                return
            await self._ensure_started()
            for topic, partition in consumed:
                self._load_position(topic, partition)
            unknown = [
                key
                for key, position in consumed.items()
                if position > 0 and key not in self.positions.next_offset
            ]
            if unknown:
                # Nothing processed there yet: the agent starts where the group does.
                self.positions.next_offset.update(await self._group_starts(unknown))
            stalls = self.positions.stalled(
                consumed, time.monotonic(), self.settings.stall_patience
            )
            for stall in stalls:
                if not self._owns_inputs(generation):
                    return
                log.warning(
                    "%s[%d]: records %d..%d were taken from Kafka but never processed; "
                    "reading them",
                    stall.topic,
                    stall.partition,
                    stall.start,
                    stall.end - 1,
                )
                try:
                    await self._process_stall(stall, generation)
                except Exception:
                    self._forget_progress()
                    raise

    async def _process_stall(self, stall: Stall, generation: int) -> None:
        """Read a stall's records and process them in batches, while the inputs are ours."""
        inbounds = await self._read_gap(stall.topic, stall.partition, stall.start, stall.end)
        size = self.settings.batch_size
        for first in range(0, len(inbounds), size):
            if not self._owns_inputs(generation):
                return
            chunk = inbounds[first : first + size]
            for inbound in chunk:
                self.positions.advance(inbound.topic, inbound.partition, inbound.offset)
            await self._process(chunk, time.perf_counter(), 0)
            self.metrics.read_back.labels("stalled").inc(len(chunk))

    def _owns_inputs(self, generation: int) -> bool:
        """Whether the input partitions seen in group generation `generation` are still
        this worker's: no rebalance since, none under way."""
        return not self.app.rebalancing and self.app.consumer_generation_id == generation

    @property
    def _outbox_names(self) -> set[str]:
        return {self.topics.outbox(p) for p in self.settings.parties}


def _labels(request: OpenRequest) -> tuple[str, str]:
    return request.channel.value, (request.urgency.value if request.urgency else "non_urgent")


def _urgency_of(effects: Effects) -> str:
    for request in (effects.opened, effects.settled, effects.overdue):
        if request is not None and request.urgency is not None:
            return request.urgency.value
    return "non_urgent"


class GapError(RuntimeError):
    """Records the consumer skipped could not be read back."""


def _inbound(message: Any) -> Inbound:
    """A Faust message as the exchange takes it (timestamp in epoch seconds)."""
    return Inbound(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=_header_pairs(message.headers),
        timestamp=message.timestamp,
    )


def _header_pairs(headers: Any) -> list[tuple[str, bytes]]:
    if not headers:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return [(str(k), bytes(v)) for k, v in headers]


def _epoch(text: str | None) -> float | None:
    """Epoch seconds of an ISO 8601 time, or None when absent or unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None
