"""The hub's Faust app with batched fetches.

Faust's Kafka consumer asks the broker for records with `fetch.min.bytes` = 1, so under
load it sends a fetch request for every few records. Its consumer runs in a thread of its
own and every request and response takes the interpreter lock from the hub's agent; at
1,000 msg/s that alone cost a fifth of the hub's CPU. `HubApp` lets the broker gather up
to `fetch_min_bytes` or `fetch_max_wait_ms` before it answers, whichever comes first:
fewer, fuller fetches for a few milliseconds of latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.transports import ConsumerT, TransportT


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

    async def on_shutdown(self) -> None:
        """Stop the components: after every child service has stopped."""
        for component in reversed(self.components):
            await component.stop()
        await super().on_shutdown()


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
    """Faust's aiokafka consumer, running `BatchedFetchConsumerThread`."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return BatchedFetchConsumerThread(self, loop=self.loop, beacon=self.beacon)


class BatchedFetchTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with `BatchedFetchConsumer`."""

    Consumer: ClassVar[type[ConsumerT]] = BatchedFetchConsumer
