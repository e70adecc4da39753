"""Every process's needs are granted by the namespace's ACLs, and only its own (pure)."""

from __future__ import annotations

import pytest

from onestop.kafka.acls import AclBinding, Operation, PatternType, ResourceType, namespace_bindings
from onestop.kafka.rights import (
    Need,
    clock_needs,
    hub_needs,
    missing_rights,
    node_needs,
    reader_needs,
    sender_needs,
    watcher_needs,
)
from schemas.enums import Country
from schemas.topics import Topics

TOPICS = Topics("ns")
PARTIES = list(Country)
BINDINGS = namespace_bindings("ns")


def _granted(principal: str, need: Need, bindings: list[AclBinding] = BINDINGS) -> bool:
    """What the broker's StandardAuthorizer decides for an ALLOW-only ACL set."""
    for b in bindings:
        if b.principal != f"User:{principal}" or b.resource_type is not ResourceType.TOPIC:
            continue
        if b.operation not in (need.operation, Operation.ALL):
            continue
        if b.pattern is PatternType.LITERAL and b.resource_name == need.topic:
            return True
        if b.pattern is PatternType.PREFIXED and need.topic.startswith(b.resource_name):
            return True
    return False


ROLES = [
    ("hub", hub_needs(TOPICS, PARTIES)),
    ("clock", clock_needs(TOPICS)),
    ("reader", reader_needs(TOPICS)),
    ("reader", watcher_needs(TOPICS, PARTIES)),
    *((party.value, node_needs(TOPICS, party)) for party in PARTIES),
]


@pytest.mark.parametrize(("principal", "needs"), ROLES, ids=[f"{p}-{len(n)}" for p, n in ROLES])
def test_every_need_of_every_process_is_granted(principal: str, needs: list[Need]) -> None:
    assert [n for n in needs if not _granted(principal, n)] == []


def test_the_topics_processes_use_are_all_covered() -> None:
    used = {n.topic for _, needs in ROLES for n in needs}
    assert {TOPICS.observations, TOPICS.clock, TOPICS.audit, TOPICS.deadletter} <= used
    assert set(TOPICS.hub_changelogs) <= used


def test_a_party_is_granted_nothing_of_another() -> None:
    pl, de = Country.PL, Country.DE
    own_of_de = [n for n in node_needs(TOPICS, de) if n.topic.endswith(".DE")]
    assert len(own_of_de) == 2 and not any(_granted("PL", n) for n in own_of_de)
    assert not _granted("PL", Need(TOPICS.clock, Operation.WRITE))
    assert not _granted("PL", Need(TOPICS.audit, Operation.READ))
    assert all(_granted("PL", n) for n in sender_needs(TOPICS, pl))


def test_the_reader_and_the_clock_write_no_exchange_topic() -> None:
    for principal in ("reader", "clock"):
        for party in PARTIES:
            assert not _granted(principal, Need(TOPICS.outbox(party), Operation.WRITE))
            assert not _granted(principal, Need(TOPICS.inbox(party), Operation.WRITE))
        assert not _granted(principal, Need(TOPICS.audit, Operation.WRITE))
    assert not _granted("reader", Need(TOPICS.clock, Operation.WRITE))


def test_missing_rights_reads_the_brokers_answer() -> None:
    read, write = Operation.READ, Operation.WRITE
    needs = [Need("a", read), Need("b", write), Need("c", read), Need("d", read)]
    answer = {
        "a": (0, 1 << int(read) | 1 << int(Operation.DESCRIBE)),
        "b": (0, 1 << int(read)),  # may read, not write
        "c": (29, -(2**31)),  # may not even describe it
        "d": (0, 1 << int(Operation.ALL)),
    }
    assert missing_rights(answer, needs) == [Need("b", write), Need("c", read)]
    assert missing_rights({}, [Need("x", read)]) == [Need("x", read)]  # unknown topic
