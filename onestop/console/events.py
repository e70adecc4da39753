"""The console's live updates: every change is an event with a sequence number, kept for a
while so that a page that reconnects (after a network drop, a reload) asks for what came
after the last one it saw and misses nothing. Many pages may follow at once."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel

KEPT: Final = 20_000  # events kept for catching up; an older id gets a "reset"


@dataclass(frozen=True)
class Event:
    """One change: `kind` names what changed (clock, request, observation, exercise,
    health, reset); `data` is its new state as JSON-ready values."""

    id: int
    kind: str
    data: Any

    def sse(self) -> str:
        """The event as a server-sent event frame."""
        return f"id: {self.id}\nevent: {self.kind}\ndata: {json.dumps(self.data)}\n\n"


class EventLog:
    """The last `KEPT` events, and the pages waiting for the next one."""

    def __init__(self, kept: int = KEPT) -> None:
        self._events: deque[Event] = deque(maxlen=kept)
        self._next = 1
        self._changed = asyncio.Condition()

    @property
    def last_id(self) -> int:
        """The id of the newest event (0 before any)."""
        return self._next - 1

    def publish(self, kind: str, data: BaseModel | dict[str, Any]) -> Event:
        """Record a change and wake the pages that follow."""
        payload = (
            data.model_dump(mode="json", by_alias=True) if isinstance(data, BaseModel) else data
        )
        event = Event(self._next, kind, payload)
        self._next += 1
        self._events.append(event)
        asyncio.get_running_loop().create_task(self._notify())
        return event

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def since(self, last_id: int) -> list[Event] | None:
        """The events after `last_id`, or None when some of them are no longer kept (or
        `last_id` is not one of this log's: the console restarted)."""
        if last_id > self.last_id:
            return None
        if not self._events or last_id == self.last_id:
            return []
        oldest = self._events[0].id
        if last_id < oldest - 1:
            return None
        return [e for e in self._events if e.id > last_id]

    async def _wait_past(self, last_id: int, seconds: float) -> bool:
        """Wait until an event after `last_id` exists; False after `seconds` without."""
        async with self._changed:
            try:
                async with asyncio.timeout(seconds):  # (wait_for can lose a cancellation)
                    await self._changed.wait_for(lambda: self.last_id > last_id)
            except TimeoutError:
                return False
        return True

    async def follow(
        self,
        last_id: int,
        heartbeat: float = 15.0,
        only: Callable[[Event], bool] | None = None,
    ) -> AsyncIterator[str]:
        """Server-sent event frames from after `last_id` on, forever (those `only` lets
        through, when given); a comment line every `heartbeat` seconds keeps proxies and
        browsers from dropping a quiet stream."""
        while True:
            events = self.since(last_id)
            if events is None:
                yield Event(self.last_id, "reset", {"reason": "too far behind"}).sse()
                last_id = self.last_id
                continue
            for event in events:
                if only is None or only(event):
                    yield event.sse()
                last_id = event.id
            if not await self._wait_past(last_id, heartbeat):
                yield ": still here\n\n"
