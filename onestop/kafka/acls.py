"""Kafka ACLs of a secure OneStop installation: who may touch which topic and group.

:func:`namespace_bindings` computes them (pure, no I/O); :func:`grant_namespace` creates
them as the ``admin`` principal. For namespace ``ns``:

- party ``X`` (``User:X``): WRITE, DESCRIBE on ``ns.outbox.X``; READ, DESCRIBE on
  ``ns.inbox.X`` and ``ns.clock``; READ on group ``ns-node-X`` and on groups prefixed
  ``ns-desk-X`` (a trainee's desk). No IDEMPOTENT_WRITE: since Kafka 3.0 (KIP-679) WRITE
  on a topic is enough for an idempotent producer.
- ``hub``: READ, DESCRIBE on topics prefixed ``ns.outbox.`` and on ``ns.clock``; WRITE,
  DESCRIBE on topics prefixed ``ns.inbox.``, on ``ns.audit`` and ``ns.deadletter``; READ
  on ``ns.audit`` too (a worker reads each chain head back from it,
  ``streams/auditor.py``); ALL on topics and groups prefixed ``ns-hub`` (its Faust group,
  changelog and assignor topics, which Faust creates); IDEMPOTENT_WRITE on the cluster.
- ``clock`` (exercise control: the runner, ``onestop clock``, the console's commands and
  notes): READ, WRITE, DESCRIBE on ``ns.clock`` and ``ns.observations``; READ, DESCRIBE
  on ``ns.audit``; DESCRIBE on groups prefixed ``ns-`` (the exercise runner looks whether
  a hub and nodes already run). Injects are written with the sending party's credentials.
- ``reader`` (reports, ``onestop audit verify``, the console's live view, the load
  generator's follower): READ, DESCRIBE on ``ns.audit``, ``ns.observations``,
  ``ns.clock``, ``ns.deadletter`` and on topics prefixed ``ns.outbox.`` and ``ns.inbox.``
  (the console's inspector shows the very records an audit entry names); DESCRIBE on
  groups prefixed ``ns-`` (link health: members and the hub's committed offsets). It
  writes nothing.
- ``admin`` is a super user (``super.users``) and needs none.

The ACLs go over the Kafka protocol: aiokafka 0.14's admin client has no ACL method, so
CreateAcls and DescribeAcls are sent as version 1, the lowest that Kafka 4 still accepts
(KIP-896 removed version 0; the 4.1.1 broker answers versions 1 to 3) and the first with
PREFIXED patterns. aiokafka's own request wrappers hold one ACL per request; these hold
them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol import admin as protocol
from aiokafka.protocol.api import Request

from onestop.kafka.metadata import cluster_view
from schemas.access import CLOCK, HUB, READER, KafkaAccess
from schemas.enums import Country
from schemas.topics import Topics

#: The resource name of the cluster in an ACL.
CLUSTER_NAME: Final = "kafka-cluster"


class ResourceType(IntEnum):
    """Kafka's resource type codes (the subset OneStop uses, and ANY for filters)."""

    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class PatternType(IntEnum):
    """Kafka's resource pattern type codes."""

    ANY = 1
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    """Kafka's ACL operation codes (the subset OneStop uses, and ANY for filters)."""

    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8
    IDEMPOTENT_WRITE = 12


#: Permission type codes: ANY (filters) and ALLOW (every OneStop ACL allows).
ANY_PERMISSION: Final = 1
ALLOW: Final = 3


@dataclass(frozen=True, order=True)
class AclBinding:
    """One ALLOW rule: ``principal`` may do ``operation`` on the resource, from any host.

    Attributes:
        principal: ``User:<name>``.
        operation: what it may do.
        resource_type: topic, group or cluster.
        resource_name: the name, or its prefix when ``pattern`` is PREFIXED.
        pattern: LITERAL or PREFIXED.
    """

    principal: str
    operation: Operation
    resource_type: ResourceType
    resource_name: str
    pattern: PatternType = PatternType.LITERAL


def _allow(
    name: str,
    operations: Iterable[Operation],
    kind: ResourceType,
    resource: str,
    pattern: PatternType = PatternType.LITERAL,
) -> list[AclBinding]:
    return [AclBinding(f"User:{name}", op, kind, resource, pattern) for op in operations]


def namespace_bindings(
    namespace: str, parties: Iterable[Country] = tuple(Country)
) -> list[AclBinding]:
    """Every ACL of namespace ``namespace`` (rules in the module docstring), sorted.

    Args:
        namespace: the topic namespace (``schemas.topics.Topics.namespace``).
        parties: the parties that get their own rights (default: every party).
    """
    topics = Topics(namespace)
    topic, group, prefixed = ResourceType.TOPIC, ResourceType.GROUP, PatternType.PREFIXED
    read, write, describe = Operation.READ, Operation.WRITE, Operation.DESCRIBE
    bindings: list[AclBinding] = []
    for party in parties:
        name = party.value
        bindings += _allow(name, (write, describe), topic, topics.outbox(party))
        bindings += _allow(name, (read, describe), topic, topics.inbox(party))
        bindings += _allow(name, (read, describe), topic, topics.clock)
        bindings += _allow(name, (read,), group, f"{namespace}-node-{name}")
        bindings += _allow(name, (read,), group, f"{namespace}-desk-{name}", prefixed)
    bindings += _allow(HUB, (read, describe), topic, f"{namespace}.outbox.", prefixed)
    bindings += _allow(HUB, (read, describe), topic, topics.clock)
    bindings += _allow(HUB, (write, describe), topic, f"{namespace}.inbox.", prefixed)
    bindings += _allow(HUB, (read, write, describe), topic, topics.audit)
    bindings += _allow(HUB, (write, describe), topic, topics.deadletter)
    bindings += _allow(HUB, (Operation.ALL,), topic, f"{namespace}-hub", prefixed)
    bindings += _allow(HUB, (Operation.ALL,), group, f"{namespace}-hub", prefixed)
    bindings += _allow(HUB, (Operation.IDEMPOTENT_WRITE,), ResourceType.CLUSTER, CLUSTER_NAME)
    bindings += _allow(CLOCK, (read, write, describe), topic, topics.clock)
    bindings += _allow(CLOCK, (read, write, describe), topic, topics.observations)
    bindings += _allow(CLOCK, (read, describe), topic, topics.audit)
    bindings += _allow(CLOCK, (describe,), group, f"{namespace}-", prefixed)
    for name in (topics.audit, topics.observations, topics.clock, topics.deadletter):
        bindings += _allow(READER, (read, describe), topic, name)
    for prefix in (f"{namespace}.outbox.", f"{namespace}.inbox."):
        bindings += _allow(READER, (read, describe), topic, prefix, prefixed)
    bindings += _allow(READER, (describe,), group, f"{namespace}-", prefixed)
    return sorted(set(bindings))


class AclError(RuntimeError):
    """The broker refused to create or describe ACLs."""


class _CreateAcls(Request[protocol.CreateAclsRequest_v1]):  # type: ignore[misc]
    """CreateAcls v1 with every binding in one request."""

    API_KEY = 30

    def __init__(self, bindings: Sequence[AclBinding]) -> None:
        self._bindings = bindings

    def build(
        self, request_struct_class: type[protocol.CreateAclsRequest_v1]
    ) -> protocol.CreateAclsRequest_v1:
        return protocol.CreateAclsRequest_v1(
            [
                (b.resource_type, b.resource_name, b.pattern, b.principal, "*", b.operation, ALLOW)
                for b in self._bindings
            ]
        )


class _DescribeAcls(Request[protocol.DescribeAclsRequest_v1]):  # type: ignore[misc]
    """DescribeAcls v1 matching every ACL (of one principal when given)."""

    API_KEY = 29

    def __init__(self, principal: str | None) -> None:
        self._principal = principal

    def build(
        self, request_struct_class: type[protocol.DescribeAclsRequest_v1]
    ) -> protocol.DescribeAclsRequest_v1:
        any_type, any_pattern = ResourceType.ANY, PatternType.ANY
        return protocol.DescribeAclsRequest_v1(
            any_type, None, any_pattern, self._principal, None, Operation.ANY, ANY_PERMISSION
        )


def _admin(access: KafkaAccess) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**access.client_options(), request_timeout_ms=30000)


async def create_acls(access: KafkaAccess, bindings: Sequence[AclBinding]) -> None:
    """Create ``bindings`` (existing ones are left as they are) as ``access``'s principal.

    Raises:
        AclError: the broker refused one (the message names it and why).
    """
    if not bindings:
        return
    admin = _admin(access)
    await admin.start()
    try:
        response = await admin._send_request(_CreateAcls(bindings))
    finally:
        await admin.close()
    for binding, (code, message) in zip(bindings, response.creation_responses, strict=True):
        if code:
            error = for_code(code)
            raise AclError(f"creating {binding}: {error.__name__} ({message or error.description})")


def _described(response: Any) -> list[AclBinding]:
    if response.error_code:
        error = for_code(response.error_code)
        raise AclError(f"describing ACLs: {error.__name__} ({response.error_message})")
    found = []
    for kind, name, pattern, acls in response.resources:
        for principal, _host, operation, permission in acls:
            if permission != ALLOW:
                continue
            try:
                binding = AclBinding(
                    principal, Operation(operation), ResourceType(kind), name, PatternType(pattern)
                )
            except ValueError:  # an operation or resource type OneStop never grants
                continue
            found.append(binding)
    return sorted(found)


async def describe_acls(
    access: KafkaAccess, principal: str | None = None, node_id: int | None = None
) -> list[AclBinding]:
    """The ALLOW ACLs the broker knows (of ``principal``, ``User:<name>``, when given),
    sorted; those of operations or resource types OneStop never grants are left out.

    Args:
        node_id: the broker to ask (default: any); each applies new ACLs from the metadata
            log a moment after they were created.
    """
    admin = _admin(access)
    await admin.start()
    try:
        if node_id is None:
            response = await admin._send_request(_DescribeAcls(principal))
        else:
            response = await admin._send_request_to_node(node_id, _DescribeAcls(principal))
    finally:
        await admin.close()
    return _described(response)


async def _broker_ids(access: KafkaAccess) -> list[int]:
    admin = _admin(access)
    await admin.start()
    try:
        return (await cluster_view(admin)).brokers
    finally:
        await admin.close()


async def grant_namespace(
    access: KafkaAccess,
    namespace: str,
    parties: Iterable[Country] = tuple(Country),
    wait_seconds: float = 30.0,
) -> list[AclBinding]:
    """Create the ACLs of ``namespace`` (:func:`namespace_bindings`) as ``access``'s
    principal (``admin``), and wait until every broker applies them; return them.

    Call it after creating the namespace's topics on a secure broker. Calling it again
    changes nothing.

    Raises:
        AclError: the broker refused them, or a broker had not applied them within
            ``wait_seconds``.
    """
    bindings = namespace_bindings(namespace, parties)
    await create_acls(access, bindings)
    wanted = set(bindings)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    for node_id in await _broker_ids(access):
        while True:
            try:
                if wanted <= set(await describe_acls(access, node_id=node_id)):
                    break
            except KafkaError:
                pass  # a broker that is starting or gone: try again until the deadline
            if loop.time() >= deadline:
                raise AclError(
                    f"broker {node_id} had not applied the ACLs of {namespace!r} after "
                    f"{wait_seconds:g} s"
                )
            await asyncio.sleep(0.2)
    return bindings
