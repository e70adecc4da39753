"""Exercise control on the audit trail (pure): every clock command (a start, a pause for a
briefing, a jump to the next phase, a speed change, the end) becomes an audit record, with
who gave it and why, so that the debrief can put it on the exercise's timeline. Its id is
the command's place on the clock topic: written twice, it is recognised."""

from __future__ import annotations

from datetime import datetime

from schemas.audit import AuditEvent, AuditRecord, Operation
from schemas.audit_details import ControlDetails
from schemas.clock import ClockCommand

CONTROL_PARTITION = 0  # clock commands are chained on the audit's partition 0
CONTROL_ACTOR = "exercise control"


def control_record(
    offset: int, command: ClockCommand, exercise_time: datetime, wall: datetime
) -> AuditRecord:
    """The audit record of the clock command at `offset`, effective at `exercise_time`."""
    details: dict[str, object] = {
        "action": command.action.value,
        "clock_offset": offset,
        "exercise_id": command.exercise_id,
    }
    for name in ("actor", "reason", "speed", "jump_seconds"):
        value = getattr(command, name)
        if value is not None:
            details[name] = value
    reason = f": {command.reason}" if command.reason else ""
    return AuditRecord(
        record_id=f"clock/{offset}/{AuditEvent.EXERCISE_CONTROL.value}",
        partition=CONTROL_PARTITION,
        seq=0,
        prev_hash="",
        operation=Operation.ALTERATION,
        event=AuditEvent.EXERCISE_CONTROL,
        actor=command.actor or CONTROL_ACTOR,
        wall_time=wall,
        exercise_time=exercise_time,
        justification=f"exercise {command.exercise_id}: clock {command.action.value}{reason}",
        details=ControlDetails.model_validate(details),
    )
