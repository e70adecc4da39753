"""The Faust worker that runs a hub's app in the foreground (imported only by `onestop
hub`: Faust's worker takes a fifth of a second to import, which no other command needs)."""

from __future__ import annotations

import asyncio
import gc
import logging

import faust


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
        after: pauses of a few milliseconds instead of 55-100 ms in the middle of a batch."""
        await super().on_startup_finished()
        gc.collect()
        gc.freeze()


def run_worker(app: faust.App, log_level: str) -> None:
    """Run a Faust app's worker in the foreground until a signal stops it."""
    asyncio.set_event_loop(asyncio.new_event_loop())
    worker = QuietWorker(app, loglevel=log_level, quiet=True)
    worker.execute_from_commandline()
