"""Where the hub stands in each input partition (pure); see `streams.ledger`.

Faust may acknowledge records it never handed to the agent (records fetched before a
rebalance are skipped and acknowledged), so its committed offset can pass a record that was
never processed. The hub therefore keeps its own "next offset" per input partition, written
only after a batch's outputs were acknowledged, and checks every record against it: a
record past a gap means records were skipped, and they are read back from Kafka directly.

A gap shows only when a later record arrives. Faust can also lose the last records of a
partition: at the end of a rebalance it empties the stream's buffer after its consumer
already took them from Kafka. So the hub also compares its next offset with the
consumer's position: records handed out long ago and still not processed are stalled, and
they too are read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class Verdict(Enum):
    """What to do with an input record."""

    PROCESS = "process"
    ALREADY_DONE = "already_done"  # below the position: processed before
    BEYOND_GAP = "beyond_gap"  # above the position: records before it were skipped


@dataclass(frozen=True)
class Stall:
    """Records [start, end) of a partition: taken from Kafka by the consumer, never
    processed by the hub."""

    topic: str
    partition: int
    start: int
    end: int


@dataclass
class InputPositions:
    """Next offset to process per (topic, partition); None until known."""

    next_offset: dict[tuple[str, int], int] = field(default_factory=dict)
    # Per partition behind the consumer: the next offset and when it was first seen behind.
    _behind_since: dict[tuple[str, int], tuple[int, float]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def restart_watch(self) -> None:
        """Forget how long partitions have been behind (after a rebalance or a failure:
        the consumer is seeked back, so being behind then says nothing yet)."""
        self._behind_since.clear()

    def judge(self, topic: str, partition: int, offset: int) -> Verdict:
        """Whether the record at `offset` is the next one to process."""
        expected = self.next_offset.get((topic, partition))
        if expected is None or offset == expected:
            return Verdict.PROCESS
        return Verdict.ALREADY_DONE if offset < expected else Verdict.BEYOND_GAP

    def taken(self, topic: str, partition: int, offset: int) -> None:
        """The record at `offset` is being processed: later records are judged against
        the offset after it. (What is stored moves only once the batch's outputs are
        acknowledged; after a failure `next_offset` is reloaded from there.)"""
        key = (topic, partition)
        self.next_offset[key] = max(self.next_offset.get(key, 0), offset + 1)

    def stalled(
        self, consumed: Mapping[tuple[str, int], int], now: float, patience: float
    ) -> list[Stall]:
        """The partitions whose next offset lies below the consumer's position (`consumed`:
        the offset after the last record it took from Kafka) and has not moved for
        `patience` seconds up to `now`. Partitions with no known next offset are left out."""
        stalls = []
        for key in set(self._behind_since) - set(consumed):
            del self._behind_since[key]
        for key, end in consumed.items():
            start = self.next_offset.get(key)
            if start is None or end <= start:
                self._behind_since.pop(key, None)
                continue
            seen = self._behind_since.get(key)
            if seen is None or seen[0] != start:
                self._behind_since[key] = (start, now)
            elif now - seen[1] >= patience:
                stalls.append(Stall(key[0], key[1], start, end))
        return stalls
