"""The hub's Faust consumer asks the broker for batched fetches."""

from __future__ import annotations

from pathlib import Path

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
