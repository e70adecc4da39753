"""The ACLs of a secure namespace, computed from the rules (pure)."""

from __future__ import annotations

from onestop.kafka.acls import (
    CLUSTER_NAME,
    AclBinding,
    Operation,
    PatternType,
    ResourceType,
    namespace_bindings,
)
from schemas.enums import Country

TOPIC, GROUP, CLUSTER = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER
LITERAL, PREFIXED = PatternType.LITERAL, PatternType.PREFIXED
READ, WRITE, DESCRIBE = Operation.READ, Operation.WRITE, Operation.DESCRIBE


def _rights(principal: str) -> set[tuple[Operation, ResourceType, str, PatternType]]:
    return {
        (b.operation, b.resource_type, b.resource_name, b.pattern)
        for b in namespace_bindings("ns", [Country.PL, Country.DE])
        if b.principal == principal
    }


def test_a_party_writes_its_outbox_and_reads_its_inbox_and_the_clock() -> None:
    assert _rights("User:PL") == {
        (WRITE, TOPIC, "ns.outbox.PL", LITERAL),
        (DESCRIBE, TOPIC, "ns.outbox.PL", LITERAL),
        (READ, TOPIC, "ns.inbox.PL", LITERAL),
        (DESCRIBE, TOPIC, "ns.inbox.PL", LITERAL),
        (READ, TOPIC, "ns.clock", LITERAL),
        (DESCRIBE, TOPIC, "ns.clock", LITERAL),
        (READ, GROUP, "ns-node-PL", LITERAL),
        (READ, GROUP, "ns-desk-PL", PREFIXED),
    }


def test_no_party_touches_another_partys_topics_or_groups() -> None:
    names = {name for _, _, name, _ in _rights("User:PL")}
    assert not any("DE" in name for name in names)
    assert not any(name.startswith("ns.outbox.") and name != "ns.outbox.PL" for name in names)


def test_the_hub_reads_every_outbox_and_writes_every_inbox() -> None:
    rights = _rights("User:hub")
    assert {
        (READ, TOPIC, "ns.outbox.", PREFIXED),
        (DESCRIBE, TOPIC, "ns.outbox.", PREFIXED),
        (WRITE, TOPIC, "ns.inbox.", PREFIXED),
        (DESCRIBE, TOPIC, "ns.inbox.", PREFIXED),
        (READ, TOPIC, "ns.clock", LITERAL),
        (WRITE, TOPIC, "ns.audit", LITERAL),
        (READ, TOPIC, "ns.audit", LITERAL),  # the auditor reads chain heads back
        (WRITE, TOPIC, "ns.deadletter", LITERAL),
        (Operation.ALL, TOPIC, "ns-hub", PREFIXED),
        (Operation.ALL, GROUP, "ns-hub", PREFIXED),
        (Operation.IDEMPOTENT_WRITE, CLUSTER, CLUSTER_NAME, LITERAL),
    } <= rights
    assert (WRITE, TOPIC, "ns.outbox.", PREFIXED) not in rights
    assert (WRITE, TOPIC, "ns.clock", LITERAL) not in rights


def test_the_clock_writes_only_the_clock_and_the_observations() -> None:
    rights = _rights("User:clock")
    assert {(op, name) for op, kind, name, _ in rights if op is WRITE} == {
        (WRITE, "ns.clock"),
        (WRITE, "ns.observations"),
    }
    assert (READ, TOPIC, "ns.audit", LITERAL) in rights
    assert (READ, TOPIC, "ns.clock", LITERAL) in rights
    assert (READ, TOPIC, "ns.observations", LITERAL) in rights
    assert (DESCRIBE, GROUP, "ns-", PREFIXED) in rights


def test_the_reader_reads_and_never_writes() -> None:
    rights = _rights("User:reader")
    assert {op for op, *_ in rights} == {READ, DESCRIBE}
    assert {(name, pattern) for op, kind, name, pattern in rights if op is READ} == {
        ("ns.audit", LITERAL),
        ("ns.observations", LITERAL),
        ("ns.clock", LITERAL),
        ("ns.deadletter", LITERAL),
        ("ns.outbox.", PREFIXED),
        ("ns.inbox.", PREFIXED),
    }
    assert (DESCRIBE, GROUP, "ns-", PREFIXED) in rights


def test_admin_needs_no_acl_being_a_super_user() -> None:
    assert _rights("User:admin") == set()


def test_every_party_by_default_and_namespaces_stay_apart() -> None:
    bindings = namespace_bindings("a")
    principals = {b.principal for b in bindings}
    assert principals == {f"User:{c.value}" for c in Country} | {
        "User:hub",
        "User:clock",
        "User:reader",
    }
    topics = {b.resource_name for b in bindings if b.resource_type is TOPIC}
    assert all(name.startswith(("a.", "a-")) for name in topics)


def test_bindings_are_sorted_and_unique() -> None:
    bindings = namespace_bindings("ns")
    assert bindings == sorted(set(bindings))
    assert all(isinstance(b, AclBinding) for b in bindings)
