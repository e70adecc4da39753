"""The hub's Faust consumer asks the broker for batched fetches, and commits only once the
hub has stored what it processed."""

from __future__ import annotations

from pathlib import Path

import pytest
from faust.types import TP

from streams.settings import HubSettings
from streams.transport import BatchedFetchConsumerThread
from streams.worker import Hub


async def test_worker_consumer_takes_the_hub_fetch_settings(tmp_path: Path) -> None:
    settings = HubSettings(
        bootstrap="127.0.0.1:9", data_dir=tmp_path, fetch_min_bytes=4096, fetch_max_wait=0.007
    )
    app = Hub(settings).app
    thread = app.consumer._thread  # type: ignore[attr-defined]
    assert isinstance(thread, BatchedFetchConsumerThread)

    consumer = thread._create_worker_consumer(app.transport)

    assert consumer._fetch_min_bytes == 4096
    assert consumer._fetch_max_wait_ms == 7
    assert consumer._group_id == settings.app_id  # still Faust's worker consumer
    await consumer.stop()


async def test_no_offset_is_committed_before_the_app_says_so(tmp_path: Path) -> None:
    """Both input paths commit through the consumer's `_commit`; it waits for the app's
    `before_commit` (the hub's changelog flush) first, and a failure there stops it."""
    app = Hub(HubSettings(bootstrap="127.0.0.1:9", data_dir=tmp_path)).app
    assert app.before_commit is not None  # the hub wires its changelog flush in

    async def refuse() -> None:
        raise ConnectionError("changelog not written")

    app.before_commit = refuse
    with pytest.raises(ConnectionError, match="changelog not written"):
        await app.consumer._commit({TP("t.outbox.PL", 0): 5})  # type: ignore[attr-defined]
