"""Fault injection for a hub started with this directory on PYTHONPATH (Python imports
`sitecustomize` at start-up). With ONESTOP_FAULT_UNDELIVERED=N, the agent never sees the
records at offset N and beyond of every input partition 0: what Faust does when it
empties its stream buffer after its consumer took the records from Kafka."""

from __future__ import annotations

import os
from typing import Any

_FROM = os.environ.get("ONESTOP_FAULT_UNDELIVERED")

if _FROM is not None:
    import streams.app
    from streams.exchange import Inbound

    _real_in_order = streams.app.Hub._in_order
    _first_undelivered = int(_FROM)

    async def _in_order(self: streams.app.Hub, message: Any) -> list[Inbound]:
        if message.partition == 0 and message.offset >= _first_undelivered:
            return []
        return await _real_in_order(self, message)

    streams.app.Hub._in_order = _in_order  # type: ignore[method-assign]
