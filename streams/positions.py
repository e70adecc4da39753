"""Where the hub stands in each input partition (pure), kept beside the request state.

Faust may acknowledge records it never handed to the agent (records fetched before a
rebalance are skipped and acknowledged), so its committed offset can pass a record that was
never processed. The hub therefore keeps its own "next offset" per input partition, written
only after a batch's outputs were acknowledged, and checks every record against it: a
record past a gap means records were skipped, and they are read back from Kafka directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Verdict(Enum):
    """What to do with an input record."""

    PROCESS = "process"
    ALREADY_DONE = "already_done"  # below the position: processed before
    BEYOND_GAP = "beyond_gap"  # above the position: records before it were skipped


@dataclass
class InputPositions:
    """Next offset to process per (topic, partition); None until known."""

    next_offset: dict[tuple[str, int], int] = field(default_factory=dict)

    def judge(self, topic: str, partition: int, offset: int) -> Verdict:
        """Whether the record at `offset` is the next one to process."""
        expected = self.next_offset.get((topic, partition))
        if expected is None or offset == expected:
            return Verdict.PROCESS
        return Verdict.ALREADY_DONE if offset < expected else Verdict.BEYOND_GAP

    def advance(self, topic: str, partition: int, offset: int) -> None:
        """The record at `offset` is processed (its outputs acknowledged)."""
        key = (topic, partition)
        self.next_offset[key] = max(self.next_offset.get(key, 0), offset + 1)
