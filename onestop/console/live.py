"""What the console knows of the namespace it watches, kept current from Kafka like any
other client: the exercise clock (the clock topic), the running exercise's requests (the
audit topic, folded into the deadline board), the observations (their topic), and the
health of the links (consumer groups and the hub's lag). Every change is published on the
event log for the pages. On a secure broker it reads as the ``reader`` principal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from onestop.console.board import Placed, RequestBoard
from onestop.console.events import EventLog
from onestop.console.models import BoardEntry, ClockState, Health, RawEvent
from onestop.kafka.groups import describe_groups
from schemas.access import KafkaTarget, client_options
from schemas.audit import AuditRecord
from schemas.clock import ClockCommand, ExerciseClock
from schemas.clock_feed import ClockFeed
from schemas.enums import Country
from schemas.observations import Observation
from schemas.topics import Topics

log = logging.getLogger(__name__)
HEALTH_SECONDS = 3.0


class ConsoleLive:
    """The console's view of one namespace, from `start()` to `stop()`."""

    def __init__(self, bootstrap: KafkaTarget, topics: Topics, events: EventLog) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.events = events
        self.clock = ExerciseClock()
        self.clock_feed = ClockFeed(bootstrap, topics.clock, self.clock)
        self.board = RequestBoard()
        self.observations: list[Observation] = []
        self.health = Health()
        self._tasks: list[asyncio.Task[None]] = []
        self._raw: AIOKafkaConsumer | None = None
        self._raw_lock = asyncio.Lock()
        self.on_entry: Callable[[BoardEntry], None] | None = None  # a request moved

    async def start(self) -> None:
        """Catch up with the clock, then follow the audit trail and the observations."""
        self.clock.on_change(self._clock_changed)
        await self.clock_feed.start()
        self.board.reset(self.clock.exercise_id, self._trainees())
        self._raw = AIOKafkaConsumer(**client_options(self.bootstrap), enable_auto_commit=False)
        await self._raw.start()
        self._tasks = [
            asyncio.create_task(self._follow_audit(), name="console-audit"),
            asyncio.create_task(self._follow_observations(), name="console-observations"),
            asyncio.create_task(self._watch_health(), name="console-health"),
        ]

    async def stop(self) -> None:
        """Stop following."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.clock_feed.stop()
        if self._raw is not None:
            await self._raw.stop()
            self._raw = None

    # ---- the clock -------------------------------------------------------------------------

    def clock_state(self) -> ClockState:
        """The exercise clock as of now."""
        now = datetime.now(UTC)
        setup = self.clock.setup
        return ClockState(
            exercise_id=self.clock.exercise_id,
            wall_time=now,
            exercise_time=self.clock.at(now.timestamp()),
            speed=self.clock.speed,
            paused=self.clock.paused,
            ended=self.clock.ended,
            exercise_start=self._exercise_start(),
            exercise_end=setup.exercise_end if setup else None,
            parties=sorted(setup.profiles) if setup else [],
            trainees=sorted(setup.trainees) if setup else [],
        )

    def _exercise_start(self) -> datetime | None:
        started = self.clock.run_started
        return self.clock.at(started) if started is not None else None

    def _trainees(self) -> frozenset[Country]:
        setup = self.clock.setup
        return frozenset(setup.trainees) if setup else frozenset()

    def _clock_changed(self, command: ClockCommand) -> None:
        if command.action.value == "start":
            self.board.reset(command.exercise_id, self._trainees())
            self.events.publish("board", {"reset": True})
        self.events.publish("clock", self.clock_state())

    # ---- the audit trail -------------------------------------------------------------------

    async def _follow_audit(self) -> None:
        consumer = AIOKafkaConsumer(**client_options(self.bootstrap), enable_auto_commit=False)
        await consumer.start()
        try:
            tps = [TopicPartition(self.topics.audit, p) for p in range(self.topics.partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    for raw in records:
                        self._take_audit(tp.topic, tp.partition, raw.offset, raw.value)
        finally:
            await consumer.stop()

    def _take_audit(self, topic: str, partition: int, offset: int, value: bytes | None) -> None:
        try:
            record = AuditRecord.model_validate_json(value or b"")
        except ValidationError:
            log.warning("%s[%d]@%d is not an audit record; left out", topic, partition, offset)
            return
        entry = self.board.take(Placed(record, topic, partition, offset))
        if entry is not None:
            self.events.publish("request", entry)
            if self.on_entry is not None:
                self.on_entry(entry)

    # ---- observations ----------------------------------------------------------------------

    async def _follow_observations(self) -> None:
        consumer = AIOKafkaConsumer(**client_options(self.bootstrap), enable_auto_commit=False)
        await consumer.start()
        try:
            tp = TopicPartition(self.topics.observations, 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for raw in records:
                        try:
                            observation = Observation.model_validate_json(raw.value or b"")
                        except ValidationError:
                            continue
                        self.observations.append(observation)
                        self.events.publish("observation", observation)
        finally:
            await consumer.stop()

    # ---- health ----------------------------------------------------------------------------

    async def _watch_health(self) -> None:
        while True:
            try:
                self.health = await self._check_health()
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("health check failed: %s", exc)
                self.health = self.health.model_copy(update={"kafka": False})
            self.events.publish("health", self.health)
            await asyncio.sleep(HEALTH_SECONDS)

    async def _check_health(self) -> Health:
        hub = f"{self.topics.namespace}-hub"
        node_groups = {f"{self.topics.namespace}-node-{c.value}": c for c in Country}
        states = await describe_groups(self.bootstrap, [hub, *node_groups])
        nodes = {
            node_groups[group].value: state.live_members
            for group, state in states.items()
            if group in node_groups and state.live_members
        }
        return Health(
            checked_at=datetime.now(UTC),
            hub_members=states[hub].live_members if hub in states else 0,
            nodes=nodes,
            hub_lag=await self._hub_lag(hub),
            kafka=True,
        )

    async def _hub_lag(self, group: str) -> int | None:
        """Records on the outboxes the hub's group has not committed yet."""
        admin = AIOKafkaAdminClient(**client_options(self.bootstrap), request_timeout_ms=5000)
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
        outboxes = {tp: meta.offset for tp, meta in committed.items() if ".outbox." in tp.topic}
        if not outboxes or self._raw is None:
            return None
        ends = await self._raw.end_offsets(list(outboxes))
        lag: int = sum(
            max(int(ends[tp]) - max(int(offset), 0), 0) for tp, offset in outboxes.items()
        )
        return lag

    # ---- raw records -----------------------------------------------------------------------

    async def raw_record(self, place: str) -> RawEvent | None:
        """The record at `place` (`<topic>/<partition>/<offset>`) as Kafka holds it, or
        None when it cannot be read (gone from the log, no such place)."""
        try:
            topic, partition_text, offset_text = place.rsplit("/", 2)
            partition, offset = int(partition_text), int(offset_text)
        except ValueError:
            return None
        assert self._raw is not None, "ConsoleLive.start() first"
        tp = TopicPartition(topic, partition)
        async with self._raw_lock:
            self._raw.assign([tp])
            self._raw.seek(tp, offset)
            batch = await self._raw.getmany(tp, timeout_ms=3000, max_records=1)
        records = batch.get(tp, [])
        if not records or records[0].offset != offset:
            return None
        record = records[0]
        try:
            data: Any = json.loads(record.value or b"null")
        except ValueError:
            data = (record.value or b"").decode(errors="replace")
        return RawEvent(
            topic=topic,
            partition=partition,
            offset=offset,
            timestamp=datetime.fromtimestamp(record.timestamp / 1000, UTC),
            key=record.key.decode(errors="replace") if record.key else None,
            headers={k: bytes(v).decode(errors="replace") for k, v in record.headers},
            data=data,
        )
