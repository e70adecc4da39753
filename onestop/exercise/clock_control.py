"""Publishes exercise clock commands (start, pause, resume, speed, jump)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from schemas.access import KafkaTarget, client_options
from schemas.clock import ClockAction, ClockCommand
from schemas.refusals import explained
from schemas.topics import Topics


async def publish_clock(bootstrap: KafkaTarget, topics: Topics, command: ClockCommand) -> int:
    """Write one clock command, wait for the broker's acknowledgement, return its offset.

    `bootstrap`: the servers, or a `KafkaAccess` (the ``clock`` principal on a secure
    broker). Raises `schemas.refusals.AccessRefused` when the broker refuses the write."""
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all")
    async with explained(bootstrap, "write", topics.clock):
        try:
            await producer.start()
            metadata = await producer.send_and_wait(
                topics.clock,
                value=command.model_dump_json().encode(),
                key=command.exercise_id.encode(),
            )
            offset: int = metadata.offset
            return offset
        finally:
            await producer.stop()


def clock_command(
    exercise_id: str,
    action: ClockAction,
    *,
    exercise_start: datetime | None = None,
    speed: float | None = None,
    jump_seconds: float | None = None,
) -> ClockCommand:
    """A command issued now (wall time)."""
    return ClockCommand(
        exercise_id=exercise_id,
        action=action,
        issued_at=datetime.now(UTC),
        exercise_start=exercise_start,
        speed=speed,
        jump_seconds=jump_seconds,
    )
