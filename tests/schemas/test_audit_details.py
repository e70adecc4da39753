"""Typed audit details: each event has its model, trails written before the models existed
still read and verify, and a record read back is written back byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from onestop.audit.source import read_jsonl, verify_trail
from schemas.audit import AuditEvent, AuditRecord
from schemas.audit_details import (
    DETAILS_OF_EVENT,
    AnswerDetails,
    OverdueDetails,
    ReceivedDetails,
    RejectedDetails,
)
from schemas.enums import MessageKind
from tests.trails import worked_scenario

TRAILS = sorted((Path(__file__).parent / "trails").glob("*.jsonl"))


def test_every_event_has_a_details_model() -> None:
    assert set(DETAILS_OF_EVENT) == {e.value for e in AuditEvent}


@pytest.mark.parametrize("path", TRAILS, ids=[p.stem for p in TRAILS])
def test_a_trail_written_before_typed_details_still_verifies(path: Path) -> None:
    trail = read_jsonl(path)
    reports = verify_trail(trail)
    assert all(r.intact for r in reports.values()), [
        str(f) for r in reports.values() for f in r.faults
    ]
    assert trail.entry_count() == len(trail.records()) > 0


@pytest.mark.parametrize("path", TRAILS, ids=[p.stem for p in TRAILS])
def test_a_record_read_back_is_written_back_unchanged(path: Path) -> None:
    for line in path.read_text().splitlines():
        record = AuditRecord.model_validate_json(line)
        assert json.loads(record.model_dump_json()) == json.loads(line)


def test_old_trails_read_into_the_model_of_their_event() -> None:
    records = [r for path in TRAILS for r in read_jsonl(path).records()]
    kinds = {r.event: type(r.details) for r in records}
    assert kinds[AuditEvent.RECEIVED] is ReceivedDetails
    assert kinds[AuditEvent.REFUSED] is AnswerDetails
    assert kinds[AuditEvent.OVERDUE] is OverdueDetails
    assert kinds[AuditEvent.REJECTED] is RejectedDetails
    received = next(
        r for r in records if r.event is AuditEvent.RECEIVED and r.kind is MessageKind.REQUEST
    )
    assert isinstance(received.details, ReceivedDetails)
    assert received.details.limit_seconds is not None
    assert received.details.deadline is not None and received.details.deadline.tzinfo


def test_details_of_another_event_are_refused() -> None:
    record = worked_scenario().records[0]
    assert record.event is AuditEvent.RECEIVED
    with pytest.raises(ValidationError, match="received record takes ReceivedDetails"):
        AuditRecord.model_validate(
            {**record.model_dump(), "details": RejectedDetails(reason="x", deadletter_id="y")}
        )
    data = json.loads(record.model_dump_json())
    data["details"]["no_such_field"] = 1
    with pytest.raises(ValidationError, match="no_such_field"):
        AuditRecord.model_validate(data)
