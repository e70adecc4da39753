"""The local 3-node cluster, for real: kcat, replicated topics, a node killed under writes."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from onestop.kafka.cluster import LocalCluster
from onestop.kafka.errors import BrokerError
from onestop.kafka.probe import free_port
from onestop.kafka.topics import ensure_topics
from schemas.enums import Country
from schemas.topics import Topics

pytestmark = pytest.mark.kafka

ONESTOP = Path(sys.executable).parent / "onestop"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """One plain 3-node cluster for the module, on six consecutive free ports."""
    local = LocalCluster(3, free_port(6), tmp_path_factory.mktemp("cluster"))
    try:
        local.start()
        yield local
    finally:
        local.stop()


def _onestop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ONESTOP), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
        check=False,
    )


async def _topic_config(bootstrap: str, topic: str, key: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        for resource in response.to_object()["resources"]:
            for entry in resource["config_entries"]:
                if entry["config_names"] == key:
                    return str(entry["config_value"])
        raise AssertionError(f"{topic} has no {key}")
    finally:
        await admin.close()


async def _partitions(bootstrap: str, topics: list[str]) -> list[dict[str, Any]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return [p for meta in await admin.describe_topics(topics) for p in meta["partitions"]]
    finally:
        await admin.close()


async def _wait_in_sync(bootstrap: str, topics: list[str], replicas: int, seconds: float) -> None:
    """Wait until every partition of `topics` has `replicas` in-sync replicas."""
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(KafkaError):
            partitions = await _partitions(bootstrap, topics)
            if partitions and all(len(p["isr"]) == replicas for p in partitions):
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"under-replicated after {seconds:g} s: {partitions}")
        await asyncio.sleep(0.5)


def test_start_returns_every_node_and_reuses_a_running_cluster(cluster: LocalCluster) -> None:
    ports = [node.port for node in cluster.nodes]
    assert cluster.bootstrap == ",".join(f"127.0.0.1:{port}" for port in ports)
    assert len(set(ports)) == 3
    pids = [node.pid for node in cluster.status().nodes]
    assert all(pids) and cluster.status().running
    again = LocalCluster(3, cluster.port, cluster.data_dir)
    assert again.start(timeout=30) == cluster.bootstrap
    assert [node.pid for node in again.status().nodes] == pids
    assert all((cluster.node_dir(i) / "logs" / "meta.properties").is_file() for i in (1, 2, 3))


def test_kcat_lists_three_brokers(cluster: LocalCluster) -> None:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        pytest.skip("kcat is not installed (apt-get install kcat)")
    result = subprocess.run(
        [kcat, "-b", cluster.bootstrap, "-L", "-m", "10"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\s*3 brokers:", result.stdout, re.MULTILINE), result.stdout
    brokers = re.findall(r"^\s*broker (\d+) at (\S+)", result.stdout, re.MULTILINE)
    assert sorted(brokers) == [(str(n.node_id), n.bootstrap) for n in cluster.nodes]


def test_cli_status_reports_each_node(cluster: LocalCluster) -> None:
    result = _onestop("broker", "status", "--data", str(cluster.data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "yes (3 of 3 nodes)" in result.stdout
    assert cluster.bootstrap in result.stdout
    for node in cluster.status().nodes:
        assert f"node {node.node_id}:    running, pid {node.pid}, {node.bootstrap}" in result.stdout


def test_a_single_broker_refuses_the_cluster_data_dir(cluster: LocalCluster) -> None:
    from onestop.kafka.broker import LocalBroker

    with pytest.raises(BrokerError, match="belongs to a local cluster"):
        LocalBroker(cluster.port, cluster.data_dir).start(timeout=5)


async def test_topics_replicate_three_times_with_two_in_sync(
    cluster: LocalCluster, namespace: str
) -> None:
    topics = Topics(namespace, partitions=2)
    created = await ensure_topics(cluster.bootstrap, topics, [Country.PL])
    assert topics.outbox(Country.PL) in created
    for name in (topics.outbox(Country.PL), topics.audit, topics.clock):
        partitions = await _partitions(cluster.bootstrap, [name])
        assert all(len(p["replicas"]) == 3 for p in partitions)
        assert await _topic_config(cluster.bootstrap, name, "min.insync.replicas") == "2"
    assert await _topic_config(cluster.bootstrap, topics.audit, "retention.ms") == "-1"


async def test_acknowledged_writes_survive_a_killed_node_which_comes_back(
    cluster: LocalCluster, namespace: str
) -> None:
    topics = Topics(namespace, partitions=2)
    topic = topics.outbox(Country.PL)
    await ensure_topics(cluster.bootstrap, topics, [Country.PL])
    leaders = {p["leader"] for p in await _partitions(cluster.bootstrap, [topic])}
    victim = int(next(iter(leaders)))  # a partition leader: its clients must fail over

    producer = AIOKafkaProducer(
        bootstrap_servers=cluster.bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    acknowledged: list[bytes] = []
    stop, reached = asyncio.Event(), asyncio.Event()
    goal = {"count": 0}

    async def write() -> None:
        n = 0
        while not stop.is_set():
            value = f"m{n}".encode()
            n += 1
            with contextlib.suppress(KafkaError):
                await producer.send_and_wait(topic, value, key=value)
                acknowledged.append(value)
                if len(acknowledged) >= goal["count"]:
                    reached.set()
            await asyncio.sleep(0.01)

    writer = asyncio.create_task(write())
    try:
        await asyncio.sleep(1.0)
        before = len(acknowledged)
        await asyncio.to_thread(cluster.kill_node, victim)
        assert not next(n for n in cluster.status().nodes if n.node_id == victim).running
        # Writes go on with two of three replicas in sync, once clients find the new leaders.
        goal["count"] = before + 20
        reached.clear()
        await asyncio.wait_for(reached.wait(), 60)
        after_kill = len(acknowledged)
        restarted = asyncio.create_task(asyncio.to_thread(cluster.start_node, victim, 90.0))
        await asyncio.sleep(1.0)
        stop.set()
        await writer
        await restarted
    finally:
        stop.set()
        await writer
        await producer.stop()
    assert before > 0 and after_kill >= before + 20

    consumer = AIOKafkaConsumer(bootstrap_servers=cluster.bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(topics.partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        seen: set[bytes] = set()
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                seen.update(r.value for r in records if r.value is not None)
    finally:
        await consumer.stop()
    assert set(acknowledged) <= seen

    assert cluster.status().running
    await _wait_in_sync(cluster.bootstrap, [topic], replicas=3, seconds=60)
