"""The hub's Faust app with batched fetches.

Faust's Kafka consumer asks the broker for records with `fetch.min.bytes` = 1, so under
load it sends a fetch request for every few records. Its consumer runs in a thread of its
own and every request and response takes the interpreter lock from the hub's agent; at
1,000 msg/s that alone cost a fifth of the hub's CPU. `HubApp` lets the broker gather up
to `fetch_min_bytes` or `fetch_max_wait_ms` before it answers, whichever comes first:
fewer, fuller fetches for a few milliseconds of latency.

On the batch input path (`streams.batch_input`) the consumer also hands the records of the
hub's input partitions to the app's `input_queue` as fetched, instead of making Faust
messages of them, and commits the positions the hub processed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

import aiokafka
import faust
from faust.tables import TableManager
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.transports import ConsumerT, TransportT

from streams.batch_input import InputQueue


class Component(Protocol):
    """A part of the hub with a lifecycle of its own (writer, ledger, clock feed)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class HubApp(faust.App):
    """A Faust app whose worker consumer fetches in batches (see the module text), and
    that starts its `components` before its consumer and agents, and stops them after."""

    fetch_min_bytes: int | None = None  # None: Faust's own (1 byte, 1,500 ms)
    fetch_max_wait_ms: int | None = None
    components: Sequence[Component] = ()
    inputs: Sequence[Component] = ()  # stopped first, before the consumer
    input_queue: InputQueue | None = None  # the batch input path's, if it is on
    # Awaited before any input offset is committed: what was processed must be stored.
    before_commit: Callable[[], Awaitable[None]] | None = None
    # Awaited once the inputs have stopped, before the consumer leaves the group: the last
    # of what this worker stored reaches Kafka before another worker recovers it.
    settle: Callable[[], Awaitable[None]] | None = None

    def _new_transport(self) -> TransportT:
        return BatchedFetchTransport(self.conf.broker_consumer, self)

    async def on_start(self) -> None:
        """Start the components: before any child service (consumer, agents, timers)."""
        await super().on_start()
        started: list[Component] = []
        try:
            for component in self.components:
                await component.start()
                started.append(component)
        except BaseException:
            for component in reversed(started):
                await component.stop()
            raise

    async def on_stop(self) -> None:
        """Stop taking input (a batch under way finishes), then stop as Faust does."""
        for component in reversed(self.inputs):
            await component.stop()
        if self.settle is not None:
            await self.settle()
        await super().on_stop()

    async def on_shutdown(self) -> None:
        """Stop the components: after every child service has stopped."""
        for component in reversed(self.components):
            await component.stop()
        await super().on_shutdown()


class PromptTableManager(TableManager):
    """Faust's table manager without the second it waits at start for tables declared
    late: the hub declares both of its tables before the app starts."""

    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()


class BatchedFetchConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's aiokafka consumer thread with the app's fetch batching applied."""

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        app = self.app
        # Both are read by AIOKafkaConsumer.start() when it builds its fetcher.
        if isinstance(app, HubApp) and app.fetch_min_bytes is not None:
            consumer._fetch_min_bytes = app.fetch_min_bytes
        if isinstance(app, HubApp) and app.fetch_max_wait_ms is not None:
            consumer._fetch_max_wait_ms = app.fetch_max_wait_ms
        return consumer


class BatchedFetchConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, running `BatchedFetchConsumerThread`; with an input queue,
    the records of the hub's inputs go to it instead of to Faust."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return BatchedFetchConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:  # noqa: ASYNC109
        queue = getattr(self.app, "input_queue", None)
        if queue is None or active_partitions is None:
            return await super()._getmany(active_partitions, timeout)
        asking = active_partitions
        if not queue.has_room():  # leave the inputs in aiokafka's buffer for now
            asking = {tp for tp in active_partitions if not queue.takes(tp)}
            if not asking:  # an empty set would drain every partition
                await queue.wait_for_room(timeout)
                return {}
        before = self.app.consumer_generation_id
        records = await super()._getmany(asking, timeout)
        inputs = {tp: batch for tp, batch in records.items() if queue.takes(tp)}
        if not inputs:
            return records
        queue.put(before, self.app.consumer_generation_id, inputs)
        return {tp: batch for tp, batch in records.items() if tp not in inputs}

    async def _commit(self, offsets: Mapping[TP, int]) -> bool:
        """Commit once the app's `before_commit` has returned (both paths commit here)."""
        before = getattr(self.app, "before_commit", None)
        if before is not None:
            await before()
        return bool(await super()._commit(offsets))

    async def commit_positions(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit the next offsets of input partitions the hub processed itself (those
        still assigned; a commit the group refuses after a rebalance is let go)."""
        await self._commit({TP(topic, part): offset for (topic, part), offset in offsets.items()})


class BatchedFetchTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with `BatchedFetchConsumer`."""

    Consumer: ClassVar[type[ConsumerT]] = BatchedFetchConsumer
