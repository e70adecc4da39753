"""The changelog writer's rounds: changes go out stage by stage, a stage only once the one
before is acknowledged; a failed round stops everything after it and is reported; flush
waits for every change made so far. Over a stand-in producer whose acknowledgements the
test gives by hand (the records themselves are checked on a broker in test_hub_changelog)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams.changelog import Change, ChangeBuffer, ChangelogWriter


def change(stage: int, n: int) -> Change:
    return Change(f"positions-{stage}" if stage else "requests", n % 2, f"k{n}".encode(), b"v")


class Batch:
    def __init__(self) -> None:
        self.keys: list[bytes] = []

    def append(self, *, key: bytes, value: bytes | None, timestamp: Any, headers: Any) -> object:
        self.keys.append(key)
        return object()

    def close(self) -> None:
        pass


class Producer:
    """Records each batch sent; its acknowledgement is a future the test settles."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, list[bytes], asyncio.Future[None]]] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def create_batch(self) -> Batch:
        return Batch()

    async def send_batch(self, batch: Batch, topic: str, partition: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sent.append((topic, partition, batch.keys, future))
        return future

    def acknowledge(self) -> None:
        for *_, future in self.sent:
            if not future.done():
                future.set_result(None)

    def topics(self) -> list[str]:
        return [topic for topic, *_ in self.sent]


class Writer(ChangelogWriter):
    def __init__(self) -> None:
        self.failures: list[BaseException] = []
        super().__init__({}, on_failure=self.failures.append)
        self.producer = Producer()

    def _new_producer(self) -> Any:
        return self.producer


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_the_buffer_gives_every_change_stage_by_stage_in_order() -> None:
    buffer = ChangeBuffer()
    for stage, n in [(1, 0), (0, 1), (1, 2), (0, 3)]:
        buffer.add(stage, change(stage, n))
    assert len(buffer) == 4
    assert [[c.key for c in changes] for changes in buffer.take()] == [
        [b"k1", b"k3"],
        [b"k0", b"k2"],
    ]
    assert len(buffer) == 0 and buffer.take() == []


async def test_positions_go_out_only_once_the_state_is_acknowledged() -> None:
    writer = Writer()
    await writer.start()
    writer.add(0, change(0, 0))
    writer.add(0, change(0, 1))
    writer.add(1, change(1, 2))
    flushed = asyncio.create_task(writer.flush())
    await settle()
    assert sorted(writer.producer.topics()) == ["requests", "requests"]  # one per partition
    assert not flushed.done()
    writer.producer.acknowledge()
    await settle()
    assert writer.producer.topics()[2:] == ["positions-1"]
    assert not flushed.done()
    writer.producer.acknowledge()
    await asyncio.wait_for(flushed, 1)
    await writer.stop()
    assert writer.failures == []


async def test_changes_made_during_a_round_go_in_the_next() -> None:
    writer = Writer()
    await writer.start()
    writer.add(1, change(1, 0))
    await settle()
    writer.add(0, change(0, 1))  # a later batch's state, while the positions are in flight
    await settle()
    assert writer.producer.topics() == ["positions-1"]
    writer.producer.acknowledge()
    await settle()
    assert writer.producer.topics() == ["positions-1", "requests"]
    writer.producer.acknowledge()
    await asyncio.wait_for(writer.flush(), 1)
    await writer.stop()


async def test_a_failed_round_is_reported_and_nothing_after_it_is_sent() -> None:
    writer = Writer()
    await writer.start()
    writer.add(0, change(0, 0))
    writer.add(1, change(1, 1))
    await settle()
    broken = ConnectionError("broker gone")
    writer.producer.sent[0][3].set_exception(broken)
    await settle()
    assert writer.failures == [broken]
    assert writer.producer.topics() == ["requests"]
    writer.add(1, change(1, 2))
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(writer.flush(), 1)
    await settle()
    assert writer.producer.topics() == ["requests"]
    await writer.stop()
