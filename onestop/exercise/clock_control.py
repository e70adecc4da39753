"""Publishes exercise clock commands (start, pause, resume, speed, jump)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from schemas.clock import ClockAction, ClockCommand
from schemas.topics import Topics


async def publish_clock(bootstrap: str, topics: Topics, command: ClockCommand) -> int:
    """Write one clock command, wait for the broker's acknowledgement, return its offset."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        metadata = await producer.send_and_wait(
            topics.clock, value=command.model_dump_json().encode(), key=command.exercise_id.encode()
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
