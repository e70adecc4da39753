"""The hub as a Faust worker: wiring only, around `HubCore`.

One agent (concurrency 1: faust-streaming loses messages above 1, its issue #606) reads
every outbox in batches; the input ledger puts each batch in order and the core decides,
writes and stores it. A batch that still fails after a few tries ends the process: Faust
acknowledges a taken batch even when its processing raised, so only dying first keeps the
batch for redelivery. Timers check deadlines and watch the input partitions (lag, records
taken from Kafka that never reached the agent); a watch of its own looks after table
recovery (changelog records taken from Kafka that never reached it,
`streams.recovery_watch`). Faust's tables hold the request state and
the input positions, each on the changelog partition of the records it belongs to; their
changes reach the changelogs through the hub's own `ChangelogWriter`, state before
positions. The changelog writer, the ledger, the writer, the clock feed and the recovery
watch start with the app and stop after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, Final, NoReturn, cast

import faust
from faust.web import Request as WebRequest
from faust.web import Response, View
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from schemas.clock import Clock, ExerciseClock
from schemas.clock_feed import ClockFeed
from schemas.topics import partition_for, process_client_id
from streams.batch_input import BatchInput, InputQueue
from streams.changelog import Change, ChangelogWriter
from streams.core import HubCore
from streams.effects import Inbound
from streams.ledger import InputLedger
from streams.metrics import HubMetrics
from streams.recovery_watch import RecoveryWatch
from streams.settings import HubSettings, InputPath
from streams.stores import PositionStore, RequestStore
from streams.transport import BatchedFetchConsumer, HubApp, PromptTableManager
from streams.writer import OutputWriter

log = logging.getLogger(__name__)
BATCH_ATTEMPTS: Final = 3
EXIT_BATCH_FAILED: Final = 70  # EX_SOFTWARE


class HubTable(faust.Table[str, bytes]):
    """A table whose changes reach its changelog through the hub's `ChangelogWriter`, as
    the records Faust itself would write, in the writer's `stage` of this table."""

    stage: int = 0
    changelog: ChangelogWriter | None = None

    def on_key_set(self, key: Any, value: Any) -> None:
        if self.changelog is None:
            super().on_key_set(key, value)
            return
        self.changelog.add(self.stage, self._change(key, value))
        self._sensor_on_set(self, key, value)

    def on_key_del(self, key: Any) -> None:
        if self.changelog is None:
            super().on_key_del(key)
            return
        self.changelog.add(self.stage, self._change(key, None))
        self._sensor_on_del(self, key)

    def _change(self, key: Any, value: bytes | None) -> Change:
        topic = self.changelog_topic
        raw_key, _ = topic.prepare_key(key, self.key_serializer)
        partition = self.partition_for_key(key)
        assert partition is not None
        return Change(topic.get_topic_name(), partition, raw_key, value)


class RequestTable(HubTable):
    """Requests by request id. Its changelog partition is the key's murmur2 partition, the
    same one the request's records use, so a timer may write it too."""

    stage = 0  # written before the positions (streams.changelog)

    def partition_for_key(self, key: Any) -> int | None:
        raw = key.encode() if isinstance(key, str) else bytes(key)
        return partition_for(raw, self.partitions or 1)


class PositionTable(HubTable):
    """Next input offset per `<topic>/<partition>`, on that partition's changelog."""

    stage = 1

    def partition_for_key(self, key: Any) -> int | None:
        return int(str(key).rsplit("/", 1)[1])


class WorkerGroup:
    """The worker's consumer group as the batch input path sees it (an `InputGroup`)."""

    def __init__(self, app: HubApp) -> None:
        self.app = app

    def generation(self) -> int:
        return int(self.app.consumer_generation_id)

    def rebalancing(self) -> bool:
        return bool(self.app.rebalancing)

    def assignment(self) -> set[tuple[str, int]]:
        return {(tp.topic, tp.partition) for tp in self.app.consumer.assignment()}

    async def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        await cast(BatchedFetchConsumer, self.app.consumer).commit_positions(offsets)


class Hub:
    """Builds the Faust app and wires the core, the ledger and the writer into it."""

    def __init__(
        self,
        settings: HubSettings,
        registry: CollectorRegistry | None = None,
        wall: Clock | None = None,
        lost: Callable[[Inbound], bool] | None = None,
    ) -> None:
        """`wall`: the wall clock every time is read from; `lost`: a fault for tests,
        delivered records the agent is never to see (as Faust may lose them)."""
        self.settings = settings
        self.topics = settings.topics
        self.registry = registry or CollectorRegistry()
        self.metrics = HubMetrics(self.registry)
        self.clock = ExerciseClock(wall)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.app = HubApp(
            settings.app_id,
            broker=f"kafka://{settings.bootstrap}",
            broker_credentials=settings.broker_credentials(),
            broker_client_id=process_client_id("hub"),
            store="memory://",
            datadir=str(settings.data_dir),
            web_host=settings.web_host,
            web_port=settings.web_port,
            web_in_thread=False,
            topic_partitions=self.topics.partitions,
            topic_replication_factor=1,
            topic_allow_declare=True,
            topic_disable_leader=True,  # no timer runs on the leader only
            TableManager=PromptTableManager,
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
        # Faust picks the changelog codecs from the types: str keys as JSON strings, bytes
        # values raw (an RequestEntry's compact JSON; an offset as decimal text).
        self.request_table = RequestTable(
            self.app,
            name="requests",
            default=None,
            beacon=self.app.tables.beacon,
            partitions=self.topics.partitions,
            key_type=str,
            value_type=bytes,
            help="Requests by request id",
        )
        self.app.tables.add(self.request_table)
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
        self.changelog = ChangelogWriter(settings.client_options(), on_failure=self._lost_changes)
        self.request_table.changelog = self.changelog
        self.position_table.changelog = self.changelog
        # An input offset is committed only once the state it led to is on the changelogs:
        # a worker that finds no stored position starts at the committed offset.
        self.app.before_commit = self.changelog.flush
        self.app.settle = self._settle
        positions = PositionStore(self.position_table)
        self.clock_feed = ClockFeed(settings.kafka, self.topics.clock, self.clock)
        options = settings.client_options()
        self.writer = OutputWriter(settings.bootstrap, self.topics, self.metrics, options)
        self.ledger = InputLedger(
            settings.bootstrap,
            settings.app_id,
            positions,
            self.metrics,
            batch_size=settings.batch_size,
            stall_patience=settings.stall_patience,
            lost=lost,
            client_options=options,
        )
        self.core = HubCore(
            settings,
            requests=RequestStore(self.request_table),
            positions=positions,
            sink=self.writer,
            clock=self.clock,
            clock_source=self.clock_feed,
            metrics=self.metrics,
            wall=wall,
            pipelined=settings.input is InputPath.PIPELINED,
            on_lost=self._forget_progress,
        )
        # The changelog writer starts first and stops last: every table write comes after
        # its start and before its stop.
        self.app.components = [self.changelog, self.clock_feed, self.writer, self.ledger]
        self.recovery_watch = RecoveryWatch(
            self.app,
            settings.watch_interval,
            settings.stall_patience,
            on_reseek=self.metrics.recovery_reseeks.inc,
        )
        self.app.components = [*self.app.components, self.recovery_watch]
        self.batch_input: BatchInput | None = None
        if settings.input.batched:
            self.app.input_queue = InputQueue(self._outbox_names)
            self.batch_input = BatchInput(
                self.app.input_queue,
                WorkerGroup(self.app),
                self.process_batch_or_die,
                batch_size=settings.batch_size,
                batch_wait=settings.batch_wait,
            )
            self.app.components = [*self.app.components, self.batch_input]
            self.app.inputs = [self.batch_input]
            self.core.on_stored = self.batch_input.stored
        self._wire()
        log.info(
            "hub %s: input path %s, batches of up to %d records gathered for %.0f ms",
            settings.app_id,
            settings.input.value,
            settings.batch_size,
            settings.batch_wait * 1000,
        )

    # ---- wiring --------------------------------------------------------------------------

    def _wire(self) -> None:
        outboxes = [self.topics.outbox(p) for p in self.settings.parties]
        source = self.app.topic(
            *outboxes,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=self.topics.partitions,
        )
        hub = self

        @self.app.agent(source, name="exchange", concurrency=1)
        async def exchange(stream: faust.StreamT[Any]) -> None:
            async for events in cast(faust.Stream[bytes], stream).take_events(
                self.settings.batch_size, within=self.settings.batch_wait
            ):
                await hub.process_batch_or_die([event.message for event in events])

        @self.app.timer(interval=self.settings.tick, name="deadlines")  # type: ignore[untyped-decorator]
        async def deadlines() -> None:
            try:
                await hub.check_deadlines()
            except Exception:
                # Entries taken from the heap were not flagged: rebuild it from the table.
                log.exception("deadline check failed; the index is rebuilt")
                hub._forget_progress()
                hub.core.index_stale = True

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

    async def _on_revoked(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        # Nothing of this worker's may be written once its partitions can move: the batch,
        # read-back or deadline check under way ends first (as Faust waits for its own
        # streams), and the changelog records it stored are flushed.
        async with contextlib.AsyncExitStack() as quiet:
            if self.batch_input is not None:
                await quiet.enter_async_context(self.batch_input.held())
            await quiet.enter_async_context(self.core.lock)
            await self._drain()
            if self.batch_input is not None:
                self.batch_input.revoke()
            await self.changelog.flush()
            self.writer.forget()
            self.ledger.restart_watch()
            self.core.revoke()

    async def _settle(self) -> None:
        """Stopping: nothing more is stored (the core stays locked), and what was stored is
        on the changelogs before the consumer leaves the group."""
        await self.core.lock.acquire()
        await self._drain()
        self.core.close()
        await self.changelog.flush()

    async def _drain(self) -> None:
        """Store the batch in flight, if it is acknowledged (if not, its input comes
        again: the core told the ledger)."""
        try:
            await self.core.drain()
        except Exception:
            log.warning("the batch in flight was not acknowledged; its input comes again")

    def _on_assigned(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        assigned: set[Any] = kwargs.get("assigned") or (args[0] if args else set())
        self.writer.forget()  # a chain head holds only while its partition stays ours
        self.core.assign({tp.partition for tp in assigned if tp.topic in self._outbox_names})

    # ---- the work ------------------------------------------------------------------------

    async def process_batch_or_die(self, messages: list[Any]) -> None:
        """Process a batch, retrying a failure (a broker hiccup) a few times. If it still
        fails, end the process at once (see the module text)."""
        for attempt in range(1, BATCH_ATTEMPTS + 1):
            try:
                async with self.core.lock:
                    inbounds = await self.ledger.in_order(messages)
                    await self.core.process(inbounds, len(messages))
                return
            except Exception:
                log.exception("batch of %d failed (attempt %d)", len(messages), attempt)
                self._forget_progress()
                await asyncio.sleep(0.5 * attempt)
        _exit("giving up on a batch; exiting so that it is redelivered after restart")

    def _lost_changes(self, failure: BaseException) -> None:
        """A changelog round failed: no later round may land before it (streams.changelog)."""
        _exit(
            f"table changes not written ({failure!r}); exiting so that their input is "
            "processed again after restart"
        )

    def _forget_progress(self) -> None:
        """After a failure mid-way: chain heads and input positions are read again."""
        self.writer.forget()
        self.ledger.forget()

    async def check_deadlines(self) -> None:
        """Flag due deadlines, except while tables are being recovered."""
        async with self.core.lock:
            if self.app.rebalancing:
                return  # the index is rebuilt afterwards
            await self.core.check_deadlines()

    async def watch_inputs(self) -> None:
        """Measure the consumer lag per input topic, then process the stalled records:
        those the consumer took from Kafka long ago that never reached the agent."""
        if self.app.rebalancing:
            return
        generation = self.app.consumer_generation_id
        consumed = await self.ledger.measure(self.app.consumer, self._outbox_names)
        await self.process_stalled(consumed, generation)

    async def process_stalled(self, consumed: dict[tuple[str, int], int], generation: int) -> None:
        """Read back and process the stalled records of `consumed` (the consumer's position
        per partition as of group generation `generation`), while the inputs are ours."""

        def still_ours() -> bool:
            return not self.app.rebalancing and self.app.consumer_generation_id == generation

        async with self.core.lock:
            if not still_ours():
                return
            try:
                batches = self.ledger.stalled_batches(consumed, still_ours)
                async for batch in batches:
                    await self.core.process(batch)
            except Exception:
                self._forget_progress()
                raise

    @property
    def _outbox_names(self) -> set[str]:
        return {self.topics.outbox(p) for p in self.settings.parties}


def _exit(reason: str) -> NoReturn:
    """End the process at once, without Faust's shutdown: nothing more may be written."""
    log.critical(reason)
    logging.shutdown()
    os._exit(EXIT_BATCH_FAILED)
