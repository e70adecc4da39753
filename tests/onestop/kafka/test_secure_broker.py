"""A secure local broker, for real: SCRAM users, ACLs, credentials.json, aiokafka and kcat."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.conn import create_conn
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)

from onestop.kafka.acls import describe_acls, grant_namespace
from onestop.kafka.broker import LocalBroker
from onestop.kafka.cluster import LocalCluster
from onestop.kafka.errors import BrokerError
from onestop.kafka.probe import HOST, free_port
from onestop.kafka.topics import ensure_topics
from schemas.access import KafkaAccess, all_principals, load_credentials
from schemas.enums import Country
from schemas.topics import Topics

pytestmark = pytest.mark.kafka

ONESTOP = Path(sys.executable).parent / "onestop"
PL, DE = Country.PL, Country.DE
# librdkafka before 2.6.1 sends a SCRAM nonce that Kafka 4 brokers reject (kcat issue 462).
KCAT_SCRAM_MIN = (2, 6, 1)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """One secure single-node broker for the module."""
    local = LocalBroker(free_port(2), tmp_path_factory.mktemp("secure"), secure=True)
    try:
        local.start()
        yield local
    finally:
        local.stop()


@pytest_asyncio.fixture(scope="module")
async def topics(broker: LocalBroker) -> AsyncIterator[Topics]:
    """A namespace whose topics the admin created and whose ACLs it granted."""
    names = Topics("s" + uuid.uuid4().hex[:10], partitions=1)
    admin = broker.access("admin")
    await ensure_topics(admin, names, [PL, DE])
    await grant_namespace(admin, names.namespace)
    yield names


async def _send(access: KafkaAccess, topic: str, value: bytes, *, idempotent: bool = True) -> None:
    """Write one record. An idempotent producer first needs WRITE on some topic (for its
    producer id), so a principal with none is refused with a cluster authorization error."""
    producer = AIOKafkaProducer(
        **access.client_options(), acks="all", enable_idempotence=idempotent
    )
    try:
        await producer.start()
        await producer.send_and_wait(topic, value, key=value)
    finally:
        await producer.stop()


async def _read_all(access: KafkaAccess, topic: str, group: str | None = None) -> list[bytes]:
    """Every record of `topic`'s partition 0, from the start (committed when in `group`)."""
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(
        **access.client_options(),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        values: list[bytes] = []
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            values += [r.value for r in batch.get(tp, []) if r.value is not None]
        if group is not None:
            await consumer.commit()
        return values
    finally:
        await consumer.stop()


async def _subscribe(access: KafkaAccess, topic: str, group: str | None = None) -> None:
    """Subscribe to `topic` and fetch once (raises what the broker refuses)."""
    consumer = AIOKafkaConsumer(
        topic, **access.client_options(), group_id=group, auto_offset_reset="earliest"
    )
    try:
        await consumer.start()
        await consumer.getmany(timeout_ms=5000)
    finally:
        await consumer.stop()


def _kcat() -> str:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        pytest.skip("kcat is not installed (apt-get install kcat)")
    return kcat


def _librdkafka_version(kcat: str) -> tuple[int, ...]:
    out = subprocess.run([kcat, "-V"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(part) for part in match.groups()) if match else (0,)


def _kcat_as(
    kcat: str, access: KafkaAccess, *args: str, data: str | None = None
) -> subprocess.CompletedProcess[str]:
    sasl = [
        "-X", "security.protocol=SASL_PLAINTEXT",
        "-X", "sasl.mechanisms=SCRAM-SHA-512",
        "-X", f"sasl.username={access.username}",
        "-X", f"sasl.password={access.password}",
    ]  # fmt: skip
    return subprocess.run(
        [kcat, "-b", access.bootstrap, *sasl, "-m", "5", *args],
        input=data,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_credentials_file_is_private_and_names_every_principal(broker: LocalBroker) -> None:
    path = broker.data_dir / "credentials.json"
    assert broker.status().credentials == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = json.loads(path.read_text())
    assert isinstance(raw, dict) and list(raw) == all_principals()
    assert all(isinstance(p, str) and len(p) >= 32 for p in raw.values())
    assert load_credentials(path) == raw
    # server.properties holds the admin password among the brokers: private as well
    assert stat.S_IMODE(broker.properties_file.stat().st_mode) == 0o600


def test_cli_status_says_secure_and_where_the_credentials_are(broker: LocalBroker) -> None:
    result = subprocess.run(
        [
            str(ONESTOP),
            "broker",
            "status",
            "--port",
            str(broker.port),
            "--data",
            str(broker.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "secure:    yes" in result.stdout
    assert f"credentials: {broker.credentials_file}" in result.stdout


def test_a_secure_data_dir_is_not_started_plain(broker: LocalBroker) -> None:
    with pytest.raises(BrokerError, match="belongs to a secure broker"):
        LocalBroker(broker.port, broker.data_dir).start(timeout=5)


async def test_a_wrong_password_is_refused(broker: LocalBroker) -> None:
    pl = broker.access("PL")
    for username, password in (("PL", f"{pl.password}x"), ("nobody", "whatever")):
        options = KafkaAccess(broker.bootstrap, username, password).client_options()
        del options["bootstrap_servers"]
        with pytest.raises(SaslAuthenticationFailed, match="invalid credentials"):
            await create_conn(HOST, broker.port, **options)
    connection = await create_conn(HOST, broker.port, **{
        k: v for k, v in pl.client_options().items() if k != "bootstrap_servers"
    })  # fmt: skip
    connection.close()


async def test_a_party_writes_its_outbox_and_reads_its_inbox(
    broker: LocalBroker, topics: Topics
) -> None:
    pl, hub = broker.access("PL"), broker.access("hub")
    await _send(pl, topics.outbox(PL), b"request-1")
    await _send(hub, topics.inbox(PL), b"answer-1")
    assert b"answer-1" in await _read_all(pl, topics.inbox(PL), f"{topics.namespace}-node-PL")
    assert b"answer-1" in await _read_all(pl, topics.inbox(PL), f"{topics.namespace}-desk-PL-1")


async def test_a_party_cannot_touch_another_partys_topics_or_groups(
    broker: LocalBroker, topics: Topics
) -> None:
    pl = broker.access("PL")
    with pytest.raises(TopicAuthorizationFailedError, match=re.escape(topics.inbox(DE))):
        await _subscribe(pl, topics.inbox(DE))
    with pytest.raises(TopicAuthorizationFailedError, match=re.escape(topics.outbox(DE))):
        await _send(pl, topics.outbox(DE), b"forged")
    with pytest.raises(TopicAuthorizationFailedError, match=re.escape(topics.clock)):
        await _send(pl, topics.clock, b"pause")
    with pytest.raises(GroupAuthorizationFailedError):
        await _subscribe(pl, topics.inbox(PL), f"{topics.namespace}-node-DE")


async def test_the_hub_reads_outboxes_and_writes_inboxes(
    broker: LocalBroker, topics: Topics
) -> None:
    pl, de, hub = broker.access("PL"), broker.access("DE"), broker.access("hub")
    await _send(de, topics.outbox(DE), b"request-de")
    await _send(hub, topics.inbox(DE), b"delivered-de")
    assert b"request-de" in await _read_all(hub, topics.outbox(DE), f"{topics.namespace}-hub")
    assert b"delivered-de" in await _read_all(de, topics.inbox(DE))
    with pytest.raises(TopicAuthorizationFailedError):
        await _send(hub, topics.outbox(PL), b"forged")
    with pytest.raises(TopicAuthorizationFailedError):
        await _subscribe(pl, topics.audit)


async def test_the_clock_writes_the_clock_and_the_reader_reads_the_audit(
    broker: LocalBroker, topics: Topics
) -> None:
    clock, reader, hub = broker.access("clock"), broker.access("reader"), broker.access("hub")
    await _send(clock, topics.clock, b"start")
    assert b"start" in await _read_all(broker.access("DE"), topics.clock)
    await _send(hub, topics.audit, b"sealed")
    assert b"sealed" in await _read_all(reader, topics.audit)
    assert b"sealed" in await _read_all(clock, topics.audit)
    with pytest.raises(TopicAuthorizationFailedError):
        await _send(reader, topics.audit, b"altered", idempotent=False)
    with pytest.raises(ClusterAuthorizationFailedError):
        await _send(reader, topics.audit, b"altered")
    with pytest.raises(TopicAuthorizationFailedError):
        await _send(clock, topics.outbox(PL), b"inject")


async def test_acls_are_readable_back_and_granting_again_changes_nothing(
    broker: LocalBroker, topics: Topics
) -> None:
    admin = broker.access("admin")
    before = await describe_acls(admin, "User:PL")
    again = await grant_namespace(admin, topics.namespace)
    assert set(again) <= set(await describe_acls(admin))
    assert await describe_acls(admin, "User:PL") == before
    assert {b.resource_name for b in before} >= {topics.outbox(PL), topics.inbox(PL)}


def test_kcat_with_a_wrong_password_is_refused(broker: LocalBroker) -> None:
    kcat = _kcat()
    result = _kcat_as(kcat, KafkaAccess(broker.bootstrap, "PL", "wrong"), "-L")
    assert result.returncode != 0
    assert "SASL authentication error" in result.stderr, result.stderr


async def test_kcat_as_a_party_writes_its_outbox_but_not_another(
    broker: LocalBroker, topics: Topics
) -> None:
    kcat = _kcat()
    version = _librdkafka_version(kcat)
    if version < KCAT_SCRAM_MIN:
        pytest.skip(
            f"kcat links librdkafka {'.'.join(map(str, version))}, whose SCRAM client Kafka 4 "
            f"brokers reject; librdkafka 2.6.1 or newer is needed"
        )
    pl, hub = broker.access("PL"), broker.access("hub")
    await _send(hub, topics.inbox(PL), b"for-kcat")
    wrote = _kcat_as(kcat, pl, "-P", "-t", topics.outbox(PL), data="from-kcat\n")
    assert wrote.returncode == 0, wrote.stderr
    assert b"from-kcat" in await _read_all(hub, topics.outbox(PL))
    read = _kcat_as(kcat, pl, "-C", "-t", topics.inbox(PL), "-o", "beginning", "-e")
    assert read.returncode == 0 and "for-kcat" in read.stdout, read.stderr
    denied = _kcat_as(kcat, pl, "-C", "-t", topics.inbox(DE), "-o", "beginning", "-e")
    assert "authoriz" in denied.stderr.lower(), denied.stderr
    forged = _kcat_as(kcat, pl, "-P", "-t", topics.outbox(DE), data="forged\n")
    assert "authoriz" in forged.stderr.lower(), forged.stderr


async def test_a_secure_cluster_replicates_between_authenticated_brokers(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    cluster = LocalCluster(3, free_port(6), tmp_path_factory.mktemp("secure-cluster"), secure=True)
    try:
        bootstrap = await asyncio.to_thread(cluster.start)
        assert bootstrap.count(",") == 2
        names = Topics("c" + uuid.uuid4().hex[:10], partitions=1)
        admin = cluster.access("admin")
        await ensure_topics(admin, names, [PL])
        await grant_namespace(admin, names.namespace, [PL])
        await _send(cluster.access("PL"), names.outbox(PL), b"replicated")
        assert b"replicated" in await _read_all(cluster.access("hub"), names.outbox(PL))
        status = cluster.status()
        assert status.secure and status.credentials == cluster.credentials_file
        with pytest.raises(BrokerError, match="belongs to a secure broker"):
            LocalCluster(3, cluster.port, cluster.data_dir).start(timeout=5)
    finally:
        await asyncio.to_thread(cluster.stop)
