"""Topic names and partitioning. Outbox, inbox and audit topics share one partition count so
that a request and every answer to it land on the same partition number (co-partitioning)."""

from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass
from typing import Final

from aiokafka.partitioner import murmur2

from schemas.enums import Country

DEFAULT_NAMESPACE: Final = "onestop"
DEFAULT_PARTITIONS: Final = 4


@dataclass(frozen=True)
class Topics:
    """The topic names of one OneStop installation; `namespace` keeps installations (and
    tests) apart on one broker."""

    namespace: str = DEFAULT_NAMESPACE
    partitions: int = DEFAULT_PARTITIONS

    def outbox(self, party: Country) -> str:
        """Where `party` writes requests, answers and notices for the hub."""
        return f"{self.namespace}.outbox.{party.value}"

    def inbox(self, party: Country) -> str:
        """Where the hub delivers what is addressed to `party`."""
        return f"{self.namespace}.inbox.{party.value}"

    @property
    def audit(self) -> str:
        """The hash-chained audit trail."""
        return f"{self.namespace}.audit"

    @property
    def deadletter(self) -> str:
        """Rejected input, kept byte for byte with the reason."""
        return f"{self.namespace}.deadletter"

    @property
    def clock(self) -> str:
        """Exercise clock commands (one partition: a total order)."""
        return f"{self.namespace}.clock"

    @property
    def hub_group(self) -> str:
        """The hub workers' consumer group, and the prefix of their internal topics."""
        return f"{self.namespace}-hub"

    @property
    def hub_changelogs(self) -> list[str]:
        """The changelogs of the hub's tables (requests and input positions), co-partitioned
        with the outboxes. OneStop creates them before any worker starts: a worker whose
        group leader did not know them yet would recover no positions and trust committed
        offsets, which can pass records Faust skipped in a rebalance."""
        return [f"{self.hub_group}-{table}-changelog" for table in ("requests", "positions")]

    @property
    def observations(self) -> str:
        """The exercise control team's observations (one partition: a total order)."""
        return f"{self.namespace}.observations"

    def party_of(self, topic: str) -> Country | None:
        """The party whose outbox or inbox `topic` is, or None for any other topic."""
        prefix, _, code = topic.rpartition(".")
        if prefix not in (f"{self.namespace}.outbox", f"{self.namespace}.inbox"):
            return None
        try:
            return Country(code)
        except ValueError:
            return None

    def copartitioned(self, parties: list[Country]) -> list[str]:
        """Every topic that must have `partitions` partitions."""
        return [
            *(self.outbox(p) for p in parties),
            *(self.inbox(p) for p in parties),
            self.audit,
        ]


@functools.lru_cache(maxsize=16384)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as in the Java client and
    aiokafka) gives `key`. Records of one request must all land there. Remembered for the
    latest keys: murmur2 is pure Python, and the hub asks for a record's key twice (its
    placement, and its request table's changelog partition)."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


def process_client_id(role: str) -> str:
    """A Kafka client id naming this process: `onestop-<role>-<host>-<pid>`. A group's
    members show it, so a tool on the same machine can tell a live member from one left
    behind by a process that died (the broker keeps it until its session times out)."""
    return f"onestop-{role}-{socket.gethostname()}-{os.getpid()}"


def client_id_alive(client_id: str) -> bool:
    """False only for a OneStop client id of a process on this machine that is gone; any
    other id (another machine, another program) is taken to be alive."""
    prefix, _, pid = client_id.rpartition("-")
    host = prefix.split("-", 2)[-1] if prefix.count("-") >= 2 else ""
    if not client_id.startswith("onestop-") or not pid.isdigit() or host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
