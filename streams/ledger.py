"""The hub's input ledger: which input records to process, in which order, each once.

Faust may acknowledge records it never handed to the agent (records fetched before a
rebalance are skipped and acknowledged), so its committed offset can pass a record that
was never processed; and at the end of a rebalance it can empty a stream's buffer after its
consumer already took the records from Kafka. The ledger therefore keeps its own "next
offset" per input partition (`streams.positions`, stored by the core after each batch's
outputs were acknowledged) and checks every record against it:

- a record below it was processed before: it is skipped (a redelivery);
- a record past a gap means records were skipped: they are read back from Kafka directly
  (in a partition where nothing was processed yet, the gap is counted from where the
  group starts reading it: its committed offset, or its first);
- records the consumer took long ago that never arrived are stalled: `stalled_batches`
  reads them back too.

It turns the messages Faust delivers into ordered `Inbound` lists for `HubCore.process`.
Its reader of input partitions (outside any consumer group) lives from `start()` to
`stop()`. A fault can be injected through `lost`: the records for which it is true are
dropped as Faust would drop them, for tests of the read-backs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, MutableMapping, Sequence
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.core import position_key
from streams.effects import Inbound
from streams.metrics import HubMetrics
from streams.positions import InputPositions, Stall, Verdict
from streams.settings import READER_FETCH_WAIT_MS

log = logging.getLogger(__name__)
# Empty reads of 2 s each before a gap counts as unreadable: below the 20 s rebalance
# timeout, since the hub's lock is held meanwhile.
GAP_READ_ATTEMPTS: Final = 8


class GapError(RuntimeError):
    """Records the consumer skipped could not be read back."""


def inbound_of(message: Any) -> Inbound:
    """A Faust message (or an aiokafka record) as the exchange takes it (timestamp in
    epoch seconds)."""
    timestamp = message.timestamp
    return Inbound(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=_header_pairs(message.headers),
        timestamp=timestamp / 1000 if isinstance(timestamp, int) else timestamp,
    )


def _header_pairs(headers: Any) -> list[tuple[str, bytes]]:
    if not headers:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return [(str(k), bytes(v)) for k, v in headers]


class InputLedger:
    """Where the hub stands in each input partition, and the records read back."""

    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        stored: MutableMapping[str, int],
        metrics: HubMetrics,
        *,
        batch_size: int = 500,
        stall_patience: float = 10.0,
        lost: Callable[[Inbound], bool] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        """`stored`: the next offset per `<topic>/<partition>` as the core stored it after
        acknowledged batches. `lost`: a fault, records Faust is to have lost."""
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.stored = stored
        self.metrics = metrics
        self.batch_size = batch_size
        self.stall_patience = stall_patience
        self.lost = lost
        self.monotonic = monotonic
        self.client_options = client_options or {"bootstrap_servers": bootstrap}
        self.positions = InputPositions()
        self._checked: set[tuple[str, int]] = set()
        self._reader: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Open the reader of input partitions."""
        if self._reader is not None:
            return
        reader = AIOKafkaConsumer(
            **self.client_options,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # records past retention: read what is left
            fetch_max_wait_ms=READER_FETCH_WAIT_MS,  # questions wait behind a fetch
        )
        await reader.start()
        self._reader = reader

    async def stop(self) -> None:
        """Close the reader."""
        if self._reader is not None:
            await self._reader.stop()
            self._reader = None

    def forget(self) -> None:
        """After a failure mid-way or a rebalance: positions are read from the store
        again, and how long partitions have been behind is measured anew."""
        self.positions.next_offset.clear()
        self.positions.restart_watch()
        self._checked.clear()

    def restart_watch(self) -> None:
        """A rebalance: positions are checked against the store again."""
        self.positions.restart_watch()
        self._checked.clear()

    def _load(self, topic: str, partition: int) -> None:
        """After start-up or a rebalance: the store may know better than memory."""
        key = (topic, partition)
        if key in self._checked:
            return
        stored = self.stored.get(position_key(topic, partition))
        known = [v for v in (stored, self.positions.next_offset.get(key)) if v]
        if known:
            self.positions.next_offset[key] = max(known)
        self._checked.add(key)

    # ---- records delivered ---------------------------------------------------------------

    async def in_order(self, messages: Sequence[Any]) -> list[Inbound]:
        """The records to process for a batch of delivered `messages`, in order: none for
        a message processed before; the records skipped before a message that comes after
        a gap, read back from Kafka; otherwise the message itself."""
        inbounds: list[Inbound] = []
        read_back = 0
        await self._know_starts({(m.topic, m.partition) for m in messages})
        for message in messages:
            inbound = inbound_of(message)
            if self.lost is not None and self.lost(inbound):
                continue
            in_order = await self._in_order(inbound)
            read_back += max(len(in_order) - 1, 0)  # all but the record itself
            inbounds.extend(in_order)
        self.metrics.read_back.labels("skipped").inc(read_back)
        return inbounds

    async def _know_starts(self, keys: set[tuple[str, int]]) -> None:
        """Where to expect the first record of partitions where nothing was processed
        yet: where the group starts reading them. Without it the first record seen would
        be taken as the first one, and records before it that were fetched and dropped
        (a fetch that spanned a rebalance) would never show as a gap."""
        for topic, partition in keys:
            self._load(topic, partition)
        unknown = [key for key in keys if key not in self.positions.next_offset]
        if unknown:
            self.positions.next_offset.update(await self._group_starts(unknown))

    async def _in_order(self, inbound: Inbound) -> list[Inbound]:
        topic, partition, offset = inbound.topic, inbound.partition, inbound.offset
        self._load(topic, partition)
        verdict = self.positions.judge(topic, partition, offset)
        if verdict is Verdict.ALREADY_DONE:
            self.metrics.duplicate("redelivered")
            return []
        inbounds = []
        if verdict is Verdict.BEYOND_GAP:
            start = self.positions.next_offset[(topic, partition)]
            log.warning(
                "%s[%d]: records %d..%d were skipped by the consumer; reading them",
                topic,
                partition,
                start,
                offset - 1,
            )
            inbounds = await self.read(topic, partition, start, offset)
        inbounds.append(inbound)
        for each in inbounds:
            self.positions.taken(topic, partition, each.offset)
        return inbounds

    # ---- records stalled -----------------------------------------------------------------

    async def measure(self, consumer: Any, inputs: set[str]) -> dict[tuple[str, int], int]:
        """The worker `consumer`'s position in each assigned partition of the topics
        `inputs`; each topic's lag (records on the broker it has not taken) goes to the
        metrics."""
        consumed: dict[tuple[str, int], int] = {}
        lag: dict[str, int] = {}
        for tp in consumer.assignment():
            position = await consumer.position(tp) if tp.topic in inputs else None
            if position is None:
                continue
            consumed[(tp.topic, tp.partition)] = position
            highwater = consumer.highwater(tp)
            if highwater is not None:
                lag[tp.topic] = lag.get(tp.topic, 0) + max(highwater - position, 0)
        for topic, behind in lag.items():
            self.metrics.consumer_lag.labels(topic).set(behind)
        return consumed

    async def stalled_batches(
        self, consumed: dict[tuple[str, int], int], still_ours: Callable[[], bool]
    ) -> AsyncIterator[list[Inbound]]:
        """The records of every stalled input partition, read back, in batches to
        process one after the other; `consumed` is the consumer's position per partition.
        Stops as soon as `still_ours()` says the partitions may have moved."""
        for topic, partition in consumed:
            self._load(topic, partition)
        unknown = [
            key
            for key, position in consumed.items()
            if position > 0 and key not in self.positions.next_offset
        ]
        if unknown:
            # Nothing processed there yet: the agent starts where the group does.
            self.positions.next_offset.update(await self._group_starts(unknown))
        for stall in self.positions.stalled(consumed, self.monotonic(), self.stall_patience):
            if not still_ours():
                return
            async for batch in self._stall(stall, still_ours):
                yield batch

    async def _stall(
        self, stall: Stall, still_ours: Callable[[], bool]
    ) -> AsyncIterator[list[Inbound]]:
        log.warning(
            "%s[%d]: records %d..%d were taken from Kafka but never processed; reading them",
            stall.topic,
            stall.partition,
            stall.start,
            stall.end - 1,
        )
        inbounds = await self.read(stall.topic, stall.partition, stall.start, stall.end)
        for first in range(0, len(inbounds), self.batch_size):
            if not still_ours():
                return
            batch = inbounds[first : first + self.batch_size]
            for inbound in batch:
                self.positions.taken(inbound.topic, inbound.partition, inbound.offset)
            yield batch
            self.metrics.read_back.labels("stalled").inc(len(batch))

    # ---- reading ---------------------------------------------------------------------------

    async def read(self, topic: str, partition: int, start: int, end: int) -> list[Inbound]:
        """Records [start, end) of one partition, read straight from Kafka."""
        assert self._reader is not None, "InputLedger.start() first"
        reader = self._reader
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
            records.extend(inbound_of(r) for r in batch.get(tp, []) if r.offset < end)
        reader.pause(tp)  # read: no more fetches until the next read-back
        return records

    async def _group_starts(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Where the hub's consumer group starts reading these partitions: the committed
        offset, or the partition's first offset when there is none or it is gone from the
        log (the consumer then resets to the earliest)."""
        assert self._reader is not None, "InputLedger.start() first"
        tps = [TopicPartition(topic, partition) for topic, partition in keys]
        admin = AIOKafkaAdminClient(**self.client_options)
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(self.group_id, partitions=tps)
        finally:
            await admin.close()
        beginnings = await self._reader.beginning_offsets(tps)
        starts = {}
        for tp in tps:
            offset = committed[tp].offset if tp in committed else -1
            starts[(tp.topic, tp.partition)] = max(int(offset), int(beginnings[tp]))
        return starts
