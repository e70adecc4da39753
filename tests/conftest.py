"""Session-wide fixtures: one real Kafka broker for the whole test session."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Generator, Iterator

import pytest

from onestop.kafka.bootstrap import BOOTSTRAP_ENV
from onestop.kafka.broker import LocalBroker
from onestop.kafka.probe import free_port
from tests.support import delete_every_topic

LOG_TAIL_BYTES = 20_000  # of each service log shown with a failed test
_OWN_BROKER: list[str] = []  # the address of the broker this session started, if any


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
        address = broker.start()
        _OWN_BROKER.append(address)
        yield address
    finally:
        _OWN_BROKER.clear()
        broker.stop()


@pytest.fixture(scope="module", autouse=True)
def _topics_deleted_after_each_module() -> Iterator[None]:
    """After each test module, every topic on the session's own broker is deleted (never on
    a broker named by ``$ONESTOP_BOOTSTRAP``). A broker that kept every test's namespace
    would hold thousands of topics by the end of the run: each one a few open files (the
    broker stops at its file limit) and part of every metadata answer."""
    yield
    if _OWN_BROKER:
        asyncio.run(delete_every_topic(_OWN_BROKER[0]))


@pytest.fixture
def namespace() -> str:
    """A unique prefix for the topic and group names of one test (e.g. ``t1a2b3c4d5e``)."""
    return "t" + uuid.uuid4().hex[:10]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the broker `kafka`, so `pytest -m "not kafka"` runs the
    ones that need none. Files with such tests run first: the quick files without any
    then fill the end of a run in several processes, instead of one process finishing a
    long broker file alone."""
    on_broker: set[str] = set()
    for item in items:
        if "bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)
        if item.get_closest_marker("kafka") is not None:
            on_broker.add(item.nodeid.split("::", 1)[0])
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in on_broker)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """When a test fails, its report ends with the logs of the services it ran (the
    `*.log` files in its temporary directory), so a failure in CI can be read."""
    report = yield
    tmp_path = (getattr(item, "funcargs", None) or {}).get("tmp_path")
    if report.failed and report.when == "call" and tmp_path is not None:
        for log_file in sorted(tmp_path.rglob("*.log")):
            if log_file.stem.isdigit():
                continue  # a Kafka log segment, not a service's log
            try:
                with log_file.open("rb") as stream:
                    stream.seek(max(log_file.stat().st_size - LOG_TAIL_BYTES, 0))
                    tail = stream.read().decode(errors="replace")
            except OSError as exc:
                tail = f"(could not read it: {exc})"
            report.sections.append((f"log {log_file.name}", tail))
    return report
