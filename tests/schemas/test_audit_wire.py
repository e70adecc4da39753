"""The audit record's body written from its own values (`schemas.audit_wire`) is byte for
byte what pydantic's JSON mode gives, for records of every event the hub writes: the chain
a hub seals this way verifies with the model's own dump."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel

from schemas import audit
from schemas.audit import AuditEvent, AuditRecord, ChainHead, Operation, hash_matches
from schemas.audit_details import AnswerDetails
from schemas.audit_wire import fields_of
from schemas.clock import ClockAction, ClockCommand
from schemas.enums import Channel, Country, MessageKind
from schemas.trusted import trusted
from streams.control import control_record
from tests import trails
from tests.trails import T0, worked_scenario


def pydantic_sealed(record: AuditRecord) -> bytes:
    """`record` sealed at the start of a chain from pydantic's JSON-mode dump."""
    return ChainHead()._seal_body(record.model_dump(mode="json", exclude={"hash"}))


def records_of_every_event(monkeypatch: pytest.MonkeyPatch) -> list[AuditRecord]:
    """The unsealed records of the worked scenario (every event the exchange writes), and
    of a clock command."""
    unsealed: list[AuditRecord] = []
    seal = trails.ExchangeTrail._append

    def capture(self: trails.ExchangeTrail, record: AuditRecord) -> AuditRecord:
        unsealed.append(record)
        return seal(self, record)

    monkeypatch.setattr(trails.ExchangeTrail, "_append", capture)
    worked_scenario()
    command = ClockCommand(
        exercise_id="drill-1",
        action=ClockAction.START,
        issued_at=T0,
        exercise_start=T0,
        speed=60,
        actor="trainer",
    )
    unsealed.append(control_record(0, command, T0, T0 + timedelta(microseconds=123400)))
    return unsealed


def test_every_event_is_written_as_pydantic_writes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    records = records_of_every_event(monkeypatch)
    events = {record.event for record in records}

    # The hub no longer writes `delivered` records (trails before 2026-12-06 have them:
    # their hashes are checked with the committed trails of tests/schemas/trails).
    not_written = {AuditEvent.ACKNOWLEDGED, AuditEvent.PARTIALLY_ANSWERED, AuditEvent.DELIVERED}
    assert events >= set(AuditEvent) - not_written
    for record in records:
        sealed = ChainHead().seal_json(record)
        assert sealed == pydantic_sealed(record), record.event
        assert hash_matches(AuditRecord.model_validate_json(sealed))


def record(**details: object) -> AuditRecord:
    return trusted(
        AuditRecord,
        record_id="M-1/answered",
        partition=0,
        seq=0,
        prev_hash="",
        operation=Operation.COLLECTION,
        event=AuditEvent.ANSWERED,
        actor="hub",
        wall_time=datetime(2026, 12, 2, 9, 0, 0, 5, tzinfo=UTC),
        exercise_time=datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=1))),
        justification="reply from LT",
        kind=MessageKind.REPLY,
        sender=Country.LT,
        recipients=[Country.PL, Country.LT],
        channel=Channel.SIENA,
        details=trusted(AnswerDetails, **details),
    )


def test_an_int_in_a_float_field_is_written_as_a_float() -> None:
    built = record(answer_seconds=7200, on_time=True)

    assert fields_of(built)["details"] == {"answer_seconds": 7200.0, "on_time": True}
    assert ChainHead().seal_json(built) == pydantic_sealed(built)


def test_times_with_microseconds_and_offsets_are_written_as_pydantic_writes_them() -> None:
    built = record(deadline=datetime(2026, 3, 9, 8, 0, 0, 120000, tzinfo=UTC))

    assert ChainHead().seal_json(built) == pydantic_sealed(built)


def test_a_value_orjson_cannot_write_is_sealed_from_pydantic_s_dump(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = record(on_time=False)

    def with_a_set(model: BaseModel) -> dict[str, object]:
        return {**fields_of(model), "recipients": {Country.PL}}

    monkeypatch.setattr(audit, "fields_of", with_a_set)

    assert ChainHead().seal_json(built) == pydantic_sealed(built)
