"""The audit trail's hash chain (Directive 2016/680 Art. 25): a sealed chain verifies, and
alteration, removal, insertion and reordering each show at the position where they happen;
a record redelivered after a crash is a duplicate, not tampering."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from schemas.audit import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    ChainFault,
    ChainHead,
    Operation,
    record_hash,
    verify_chain,
)
from schemas.audit_details import ReceivedDetails
from schemas.enums import Country

PARTITION = 2
WALL = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
EXERCISE = datetime(2030, 6, 15, 6, 0, tzinfo=UTC)


def unsealed(n: int, partition: int = PARTITION) -> AuditRecord:
    """The audit record of the n-th message, before the auditor chains it."""
    return AuditRecord(
        record_id=f"PL-MSG-{n}/delivered",
        partition=partition,
        seq=0,
        prev_hash="",
        operation=Operation.DISCLOSURE,
        event=AuditEvent.DELIVERED,
        actor="hub",
        wall_time=WALL,
        exercise_time=EXERCISE,
        justification="disclosed to DE: SIENA by default (Art. 13)",
        request_id=f"PL-REQ-{n}",
        message_id=f"PL-MSG-{n}",
        sender=Country.PL,
        recipient=Country.DE,
        recipients=[Country.DE],
    )


def sealed_chain(length: int = 5) -> list[AuditRecord]:
    head = ChainHead()
    return [head.seal(unsealed(n)) for n in range(length)]


def first_fault(records: list[AuditRecord]) -> ChainFault:
    report = verify_chain(PARTITION, records)
    assert report.faults, "expected the chain to be broken"
    return report.faults[0]


class TestSeal:
    def test_first_record_links_to_genesis(self) -> None:
        first = ChainHead().seal(unsealed(0))

        assert first.seq == 0
        assert first.prev_hash == GENESIS_HASH

    def test_each_record_links_to_the_one_before(self) -> None:
        records = sealed_chain(3)

        assert [r.seq for r in records] == [0, 1, 2]
        assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]

    def test_head_moves_on(self) -> None:
        head = ChainHead()
        sealed = head.seal(unsealed(0))

        assert head.seq == 1
        assert head.last_hash == sealed.hash

    def test_head_restored_from_the_last_record_continues_the_chain(self) -> None:
        records = sealed_chain(3)
        restarted = ChainHead(seq=records[-1].seq + 1, last_hash=records[-1].hash)

        records.append(restarted.seal(unsealed(3)))

        assert verify_chain(PARTITION, records).intact


class TestIntactChain:
    def test_passes(self) -> None:
        report = verify_chain(PARTITION, sealed_chain(5))

        assert report.intact
        assert (report.records, report.unique_records, report.duplicates) == (5, 5, 0)

    def test_empty_chain_passes(self) -> None:
        assert verify_chain(PARTITION, []).intact


class TestTampering:
    def test_altered_record_is_named(self) -> None:
        records = sealed_chain()
        records[2] = records[2].model_copy(update={"recipients": [Country.DE, Country.FR]})

        report = verify_chain(PARTITION, records)

        assert [(f.position, f.record_id) for f in report.faults] == [(2, "PL-MSG-2/delivered")]
        assert "altered" in report.faults[0].problem

    def test_altered_and_rehashed_record_breaks_the_next_link(self) -> None:
        records = sealed_chain()
        forged = records[2].model_copy(update={"justification": "routine check"})
        records[2] = ChainHead(seq=2, last_hash=records[1].hash).seal(forged)

        fault = first_fault(records)

        assert fault.position == 3
        assert "previous-hash link" in fault.problem

    def test_removed_record_shows_where_it_was(self) -> None:
        records = sealed_chain()
        del records[2]

        fault = first_fault(records)

        assert fault.position == 2
        assert "sequence 3, expected 2" in fault.problem

    def test_inserted_record_is_named(self) -> None:
        records = sealed_chain()
        records.insert(2, ChainHead().seal(unsealed(99)))

        fault = first_fault(records)

        assert (fault.position, fault.record_id) == (2, "PL-MSG-99/delivered")

    def test_inserted_record_chained_in_skilfully_breaks_the_one_after(self) -> None:
        records = sealed_chain()
        records.insert(2, ChainHead(seq=2, last_hash=records[1].hash).seal(unsealed(99)))

        fault = first_fault(records)

        assert (fault.position, fault.record_id) == (3, "PL-MSG-2/delivered")

    def test_reordered_records_are_named(self) -> None:
        records = sealed_chain()
        records[1], records[2] = records[2], records[1]

        fault = first_fault(records)

        assert (fault.position, fault.record_id) == (1, "PL-MSG-2/delivered")

    def test_record_of_another_partition_is_named(self) -> None:
        records = sealed_chain()
        records[2] = ChainHead(seq=2, last_hash=records[1].hash).seal(
            unsealed(2, partition=PARTITION + 1)
        )

        fault = first_fault(records)

        assert fault.position == 2
        assert f"belongs to partition {PARTITION + 1}" in fault.problem

    def test_fault_reads_with_partition_and_position(self) -> None:
        records = sealed_chain()
        del records[2]

        assert str(first_fault(records)).startswith(
            f"partition {PARTITION}, record #2 (PL-MSG-3/delivered): "
        )


class TestRedelivery:
    @pytest.fixture
    def with_duplicate(self) -> list[AuditRecord]:
        head = ChainHead()
        records = [head.seal(unsealed(n)) for n in range(3)]
        records.append(head.seal(unsealed(2)))  # written again after a crash
        records.append(head.seal(unsealed(3)))
        return records

    def test_duplicate_is_not_a_fault(self, with_duplicate: list[AuditRecord]) -> None:
        assert verify_chain(PARTITION, with_duplicate).intact

    def test_duplicate_is_counted_once(self, with_duplicate: list[AuditRecord]) -> None:
        report = verify_chain(PARTITION, with_duplicate)

        assert (report.records, report.unique_records, report.duplicates) == (5, 4, 1)


class TestTrailsSealedBeforeOrjson:
    """Chains were once hashed over Python's json module's canonical form, which writes a
    few floats differently from orjson (1e-05 for 0.00001): they still verify."""

    @staticmethod
    def sealed_the_old_way(length: int) -> list[AuditRecord]:
        records = []
        prev = GENESIS_HASH
        for n in range(length):
            record = unsealed(n).model_copy(
                update={
                    "event": AuditEvent.RECEIVED,
                    "operation": Operation.COLLECTION,
                    "details": ReceivedDetails(limit_seconds=0.00001 * (n + 1)),
                }
            )
            body = record.model_dump(mode="json", exclude={"hash"})
            body.update(seq=n, prev_hash=prev)
            canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256((prev + canonical).encode()).hexdigest()
            records.append(AuditRecord.model_validate({**body, "hash": digest}))
            prev = digest
        return records

    def test_the_encoders_differ_on_these_records(self) -> None:
        record = self.sealed_the_old_way(1)[0]
        assert record_hash(record) != record.hash

    def test_an_old_chain_verifies(self) -> None:
        assert verify_chain(PARTITION, self.sealed_the_old_way(3)).intact

    def test_an_altered_old_record_is_still_named(self) -> None:
        records = self.sealed_the_old_way(3)
        records[1] = records[1].model_copy(update={"justification": "nothing to see"})
        assert first_fault(records).position == 1
