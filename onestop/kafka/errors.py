"""What goes wrong with the local broker, and the way out a person is offered."""

from __future__ import annotations

from typing import Final

#: What to do instead of running the local broker, appended to its errors.
ALTERNATIVES: Final = (
    "run Kafka with Docker (`docker compose up kafka`), or point `--bootstrap` / "
    "`ONESTOP_BOOTSTRAP` at an existing Kafka cluster"
)
_LOG_TAIL_LINES = 20


class BrokerError(RuntimeError):
    """The local broker could not be started, probed or stopped."""


def tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    """The last `lines` lines of `text` (a log or a tool's output), for an error message."""
    return "\n".join(text.rstrip().splitlines()[-lines:])
