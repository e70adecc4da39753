"""Session-wide fixtures: one real Kafka broker for the whole test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from onestop.broker import LocalBroker, free_port
from onestop.settings import BOOTSTRAP_ENV


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real Kafka: ``$ONESTOP_BOOTSTRAP``, else a local broker.

    The local broker (free port, temporary data dir, jars from the user's cache) runs for
    the whole session and is stopped at its end.
    """
    from_env = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if from_env:
        yield from_env
        return
    broker = LocalBroker(port=free_port(), data_dir=tmp_path_factory.mktemp("kafka"))
    try:
        yield broker.start()
    finally:
        broker.stop()


@pytest.fixture
def namespace() -> str:
    """A unique prefix for the topic and group names of one test (e.g. ``t1a2b3c4d5e``)."""
    return "t" + uuid.uuid4().hex[:10]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the broker `kafka`, so `pytest -m "not kafka"` runs the
    ones that need none."""
    for item in items:
        if "bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)
