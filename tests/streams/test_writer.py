"""The output writer on a real broker: every output and audit record of a write lands,
in order within its partition, where the exchange said (or where the key's murmur2 hash
puts it), and the audit chain it seals verifies; more records than one batch holds are
sent in several batches without losing or reordering any."""

from __future__ import annotations

import time
from collections import defaultdict

from prometheus_client import CollectorRegistry

from schemas.audit import AuditRecord, verify_chain
from schemas.enums import Country
from schemas.envelope import KafkaRecord
from schemas.topics import Topics, partition_for
from streams.effects import Effects, Outbound
from streams.metrics import HubMetrics
from streams.writer import OutputWriter
from tests.schemas.test_audit_chain import unsealed
from tests.support import create_topics, read_all

PARTIES = [Country.PL, Country.DE]


async def test_every_record_lands_in_order_where_it_belongs(bootstrap: str, namespace: str) -> None:
    topics = Topics(namespace, 4)
    await create_topics(bootstrap, topics, PARTIES)
    writer = OutputWriter(bootstrap, topics, HubMetrics(CollectorRegistry()))
    await writer.start()
    big = b"x" * 60_000  # five of them fill a 256 KB batch
    stamped = round(time.time()) - 100.5  # the node's wall time, seconds
    results = []
    for n in range(40):
        effects = Effects()
        effects.outputs.append(
            Outbound(
                topics.inbox(Country.DE),
                KafkaRecord(f"REQ-{n}".encode(), big + str(n).encode(), [("n", str(n).encode())]),
                partition=n % 2,
                timestamp=stamped + n,
            )
        )
        effects.outputs.append(  # no partition: the key chooses, as Kafka's partitioner does
            Outbound(topics.deadletter, KafkaRecord(f"BAD-{n}".encode(), b"%d" % n, []))
        )
        opened = unsealed(n, partition=n % 4)
        effects.audit.append(opened.model_copy(update={"request_id": f"REQ-{n}"}))
        results.append(effects)
    try:
        for part in (results[:25], results[25:]):
            await (await writer.send(part)).wait()
    finally:
        await writer.stop()

    inbox = await read_all(bootstrap, topics.inbox(Country.DE))
    by_partition: dict[int, list[int]] = defaultdict(list)
    for record in inbox:
        n = int(dict(record.headers)["n"])
        assert record.value == big + str(n).encode()
        assert record.timestamp == round((stamped + n) * 1000)
        by_partition[record.partition].append(n)
    assert by_partition == {0: list(range(0, 40, 2)), 1: list(range(1, 40, 2))}

    dead = await read_all(bootstrap, topics.deadletter)
    assert sorted(int(r.value) for r in dead) == list(range(40))
    for record in dead:
        assert record.key is not None
        assert record.partition == partition_for(record.key, 4)

    audit = await read_all(bootstrap, topics.audit)
    assert len(audit) == 40
    for partition in range(4):
        chain = [
            AuditRecord.model_validate_json(r.value) for r in audit if r.partition == partition
        ]
        assert [r.request_id for r in chain] == [f"REQ-{n}" for n in range(partition, 40, 4)]
        assert verify_chain(partition, chain).intact
