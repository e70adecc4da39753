"""Reading the audit trail: from its Kafka topic or from a JSONL export.

A trail keeps, per partition, the entries in the order they were read. An entry that is
not a valid audit record (bad JSON, a field out of place) is kept as an entry with a
problem rather than dropped, so that `audit verify` can point at it: a trail is evidence.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from onestop.kafka.metadata import cluster_view
from schemas.access import KafkaTarget, as_access, client_options
from schemas.audit import AuditRecord, ChainFault, ChainReport, verify_chain
from schemas.refusals import explained

#: What Kafka accepts as a topic name.
TOPIC_NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,249}")
#: Seconds without any progress after which reading a topic gives up.
READ_STALL_SECONDS = 30.0


class AuditSourceError(RuntimeError):
    """The audit source cannot be read; the message names it and says what to do."""


@dataclass(frozen=True)
class TrailEntry:
    """One entry of a partition as read: an audit record, or the raw text that is not one
    (then `problem` says why)."""

    raw: str
    record: AuditRecord | None = None
    problem: str | None = None


@dataclass
class AuditTrail:
    """An audit trail as read from `source`: entries per partition, in read order."""

    source: str
    partitions: dict[int, list[TrailEntry]] = field(default_factory=dict)

    def add(self, partition: int, entry: TrailEntry) -> None:
        """Append `entry` to `partition`."""
        self.partitions.setdefault(partition, []).append(entry)

    def records(self) -> list[AuditRecord]:
        """Every readable record, partition by partition (ascending), each in read order."""
        return [record for _, record in self._readable()]

    def partition_records(self, partition: int) -> list[AuditRecord]:
        """The readable records of `partition`, in read order."""
        return [e.record for e in self.partitions.get(partition, []) if e.record is not None]

    def _readable(self) -> Iterator[tuple[int, AuditRecord]]:
        for partition in sorted(self.partitions):
            for entry in self.partitions[partition]:
                if entry.record is not None:
                    yield partition, entry.record

    def entry_count(self) -> int:
        """Entries read, readable or not."""
        return sum(len(entries) for entries in self.partitions.values())


def verify_trail(trail: AuditTrail) -> dict[int, ChainReport]:
    """The hash-chain check of every partition of `trail` (pure).

    An unreadable entry is a fault at its own position; the records around it are checked
    as a chain, so the record after it shows the broken link too. Positions are indexes in
    the partition as read, counting unreadable entries."""
    reports: dict[int, ChainReport] = {}
    for partition in sorted(trail.partitions):
        entries = trail.partitions[partition]
        positions = [i for i, e in enumerate(entries) if e.record is not None]
        report = verify_chain(partition, trail.partition_records(partition))
        faults = [
            ChainFault(f.partition, positions[f.position], f.record_id, f.problem)
            for f in report.faults
        ]
        for position, entry in enumerate(entries):
            if entry.record is None:
                report.records += 1
                faults.append(
                    ChainFault(
                        partition,
                        position,
                        str(_json_field(entry.raw, "record_id") or "?"),
                        f"not a valid audit record: {entry.problem}",
                    )
                )
        report.faults = sorted(faults, key=lambda f: f.position)
        reports[partition] = report
    return reports


def combined_report(reports: dict[int, ChainReport]) -> ChainReport:
    """The partitions' chain reports added up into one."""
    total = ChainReport()
    for partition in sorted(reports):
        report = reports[partition]
        total.records += report.records
        total.unique_records += report.unique_records
        total.duplicates += report.duplicates
        total.faults.extend(report.faults)
    return total


def is_file_source(source: str) -> bool:
    """True when `source` names a file: it exists, ends with .jsonl, or cannot be a Kafka
    topic name (a path with a separator, say); False when it names a topic."""
    return (
        source.endswith(".jsonl") or Path(source).exists() or TOPIC_NAME.fullmatch(source) is None
    )


def parse_entry(raw: str) -> TrailEntry:
    """`raw` JSON text as a trail entry (pure)."""
    try:
        return TrailEntry(raw=raw, record=AuditRecord.model_validate_json(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        return TrailEntry(raw=raw, problem=f"{where}: {first['msg']}")


def _json_field(raw: str, name: str) -> object:
    """Field `name` of the JSON object in `raw`, or None when there is none."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value.get(name) if isinstance(value, dict) else None


def _partition_hint(raw: str, fallback: int) -> int:
    """The partition an unreadable JSONL line claims, else `fallback`."""
    claimed = _json_field(raw, "partition")
    return claimed if isinstance(claimed, int) and claimed >= 0 else fallback


def read_jsonl(path: Path) -> AuditTrail:
    """The trail in JSONL file `path`: one audit record per line, grouped by the record's
    own `partition`, in file order. Blank lines are skipped.

    Raises AuditSourceError when the file cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuditSourceError(
            f"audit file {path} does not exist; give an existing .jsonl file or a topic name"
        ) from None
    except IsADirectoryError:
        raise AuditSourceError(
            f"audit source {path} is a directory; give a .jsonl file or a topic name"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditSourceError(f"audit file {path} cannot be read: {exc}") from None
    trail = AuditTrail(source=str(path))
    last_partition = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        entry = parse_entry(line)
        if entry.record is not None:
            last_partition = entry.record.partition
        else:
            last_partition = _partition_hint(line, last_partition)
        trail.add(last_partition, entry)
    return trail


def write_jsonl(trail: AuditTrail, path: Path) -> int:
    """Write `trail` to `path` as JSONL, partition by partition in read order; return the
    number of lines. Unreadable entries are written as read (on one line), so the export
    shows the same faults as its source."""
    lines: list[str] = []
    for partition in sorted(trail.partitions):
        for entry in trail.partitions[partition]:
            if entry.record is not None:
                lines.append(entry.record.model_dump_json())
            else:
                lines.append(" ".join(entry.raw.splitlines()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)


async def read_topic(topic: str, bootstrap: KafkaTarget) -> AuditTrail:
    """Every record of `topic` on Kafka at `bootstrap`, each partition from the beginning
    to the end it had when reading started. No consumer group, nothing committed.

    Raises AuditSourceError when the broker cannot be reached or the topic is missing."""
    partitions = await _partition_numbers(topic, bootstrap)
    consumer = AIOKafkaConsumer(
        **client_options(bootstrap), group_id=None, enable_auto_commit=False
    )
    try:
        async with explained(bootstrap, "read", topic):
            await consumer.start()
    except KafkaError as exc:
        where = as_access(bootstrap).bootstrap
        raise AuditSourceError(f"cannot reach Kafka at {where}: {exc}") from None
    trail = AuditTrail(source=topic)
    for partition in partitions:
        trail.partitions[partition] = []
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = await consumer.end_offsets(tps)  # before a fetch waits on the broker
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        loop = asyncio.get_running_loop()
        stalled_at = loop.time() + READ_STALL_SECONDS
        while True:
            positions = {tp: await consumer.position(tp) for tp in tps}
            pending = [tp for tp in tps if positions[tp] < ends[tp]]
            if not pending:
                return trail
            if loop.time() > stalled_at:
                raise AuditSourceError(
                    f"audit topic {topic}: no progress reading partitions "
                    f"{[tp.partition for tp in pending]} for {READ_STALL_SECONDS:.0f} s"
                )
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    raw = record.value.decode("utf-8", errors="replace") if record.value else ""
                    entry = parse_entry(raw) if raw else TrailEntry(raw="", problem="empty value")
                    trail.add(tp.partition, entry)
                if records:
                    stalled_at = loop.time() + READ_STALL_SECONDS
    finally:
        await consumer.stop()


async def _partition_numbers(topic: str, bootstrap: KafkaTarget) -> list[int]:
    where = as_access(bootstrap).bootstrap
    admin = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=30000)
    try:
        async with explained(bootstrap, "read", topic):
            await admin.start()
    except KafkaError as exc:
        raise AuditSourceError(f"cannot reach Kafka at {where}: {exc}") from None
    try:
        view = await cluster_view(admin, [topic])
        if topic not in view.topics:
            raise AuditSourceError(
                f"audit topic {topic} does not exist on {where}; check the name or "
                f"--namespace (the trail is <namespace>.audit), or give a .jsonl file"
            )
        return view.partitions(topic)
    finally:
        await admin.close()


async def load_audit(source: str, bootstrap: KafkaTarget | None) -> AuditTrail:
    """The audit trail in `source`: a JSONL file (a path that exists or ends with .jsonl)
    or a Kafka topic on `bootstrap`.

    Raises AuditSourceError when it cannot be read (missing file or topic, no broker)."""
    if is_file_source(source):
        return await asyncio.to_thread(read_jsonl, Path(source))
    if not bootstrap:
        raise AuditSourceError(f"audit topic {source}: no Kafka bootstrap servers given")
    return await read_topic(source, bootstrap)
