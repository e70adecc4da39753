"""The watch on table recovery: changelog records the worker's consumer took from Kafka but
never handed to Faust's recovery are read again.

After an assignment Faust restores the hub's tables from their changelogs before the worker
takes any input, and it ends the recovery only once it has applied every changelog record
up to the highwater it measured when the recovery began. Faust's consumer can take records
from aiokafka and not hand them on: its fetch loop lets go of the rest of a fetch when the
flow stops or the group generation changes while it hands records over, and it passes over
records below the read offset it keeps per partition. If that befalls a changelog partition
during a recovery, the consumer's position is already past the records, no fetch brings
them again, and the recovery waits for them for ever: the worker holds partitions whose
outboxes it never processes, and Faust only logs "No event received for active tp".

`RecoveryWatch` looks every `watch_interval` seconds, from a task of its own that starts
with the app (Faust starts its timers only once the first recovery is complete). A
changelog partition with records still to restore and no record received for
`stall_patience` seconds (since the recovery began, since its last record or since it was
last sought back) is sought back to the offset after the last record recovery applied.
Seeking back is always safe: recovery applies a record only if its offset is above the
last one applied for its partition, so nothing is applied twice, and a table's value per
key is the last record in offset order.

What a recovery has received is read from Faust's `Recovery` service (`active_highwaters`,
`active_offsets` and the monotonic times of the last record per partition); nothing in it
is changed but the consumer's position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from time import monotonic
from typing import Any

log = logging.getLogger(__name__)


def stalled_changelogs(
    now: float,
    began: float,
    remaining: Mapping[Any, int],
    last_received: Mapping[Any, float],
    applied: Mapping[Any, int],
    patience: float,
) -> dict[Any, int]:
    """Where to read again the changelog partitions of a recovery that began at `began`
    and that have records `remaining` but none received for `patience` seconds (pure).

    `last_received`: monotonic time of each partition's last record (or of its last seek
    back); `applied`: the offset of the last record applied per partition, -1 for none.
    The answer maps each stalled partition to the offset after its last applied record."""
    targets: dict[Any, int] = {}
    for tp, left in remaining.items():
        if left <= 0:
            continue
        quiet_since = max(began, last_received.get(tp, began))
        if now - quiet_since >= patience:
            last = applied.get(tp)
            targets[tp] = 0 if last is None or last < 0 else last + 1
    return targets


class RecoveryWatch:
    """Seeks stalled changelog partitions of Faust's recovery back (see the module text)."""

    def __init__(
        self,
        app: Any,
        interval: float,
        patience: float,
        on_reseek: Callable[[int], None] = lambda count: None,
        now: Callable[[], float] = monotonic,
    ) -> None:
        """`app`: the Faust app whose recovery is watched, every `interval` seconds;
        `on_reseek`: told how many partitions each look sought back (the hub counts them)."""
        self.app = app
        self.interval = interval
        self.patience = patience
        self.on_reseek = on_reseek
        self.now = now
        self._recovery_began: float | None = None
        self._sought_at: dict[Any, float] = {}  # per partition, in the current recovery
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="recovery-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # a rebalance mid-way, a broker hiccup: next time
                log.warning("table recovery not watched", exc_info=True)

    async def check(self) -> dict[Any, int]:
        """Seek back what is stalled now; the partitions sought and where to."""
        recovery = self.app.tables.recovery
        began = getattr(recovery, "_recovery_started_at", None)
        if not recovery.in_recovery or began is None:
            return {}
        if began != self._recovery_began:  # a new recovery: earlier seeks do not count
            self._recovery_began = began
            self._sought_at.clear()
        received: dict[Any, float] = dict(getattr(recovery, "_active_events_received_at", {}))
        for tp, at in self._sought_at.items():
            received[tp] = max(received.get(tp, at), at)
        now = self.now()
        targets = stalled_changelogs(
            now,
            began,
            recovery.active_remaining(),
            received,
            recovery.active_offsets,
            self.patience,
        )
        if not targets:
            return {}
        log.warning(
            "table recovery received nothing for %.0f s from %s; reading again from %s",
            self.patience,
            ", ".join(f"{tp.topic}[{tp.partition}]" for tp in targets),
            ", ".join(str(offset) for offset in targets.values()),
        )
        await self.app.consumer.seek_wait(targets)
        self._sought_at.update(dict.fromkeys(targets, now))
        self.on_reseek(len(targets))
        return targets
