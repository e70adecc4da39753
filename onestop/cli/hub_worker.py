"""The Faust worker that runs a hub's app in the foreground (imported only by `onestop
hub`: Faust's worker takes a fifth of a second to import, which no other command needs)."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Final

import faust

#: Net new container objects between young collections (CPython's default: 700). A batch
#: of 500 messages keeps some 20,000 alive until it is written, and at 700 the collector
#: scanned them dozens of times per batch: 5 % of the hub's CPU at 1,500 msg/s (1 %
#: with this threshold).
YOUNG_COLLECTION_THRESHOLD: Final = 20_000


class QuietWorker(faust.Worker):
    """A Faust worker without the terminal spinner, its start-up heap frozen. The spinner
    lowers the root logger to DEBUG so that it can spin on every record, which makes every
    debug call of Faust and aiokafka on the hot path build a log record that is then
    thrown away."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        logger.setLevel(level)

    async def on_startup_finished(self) -> None:
        """Once the worker is up, what it built lives as long as the process: move it out
        of the garbage collector's sight. A full collection then looks only at what came
        after: pauses of a few milliseconds instead of 55-100 ms in the middle of a batch.
        Young collections come once per batch or so rather than dozens of times."""
        await super().on_startup_finished()
        gc.collect()
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def run_worker(app: faust.App, log_level: str) -> None:
    """Run a Faust app's worker in the foreground until a signal stops it."""
    asyncio.set_event_loop(asyncio.new_event_loop())
    worker = QuietWorker(app, loglevel=log_level, quiet=True)
    worker.execute_from_commandline()
