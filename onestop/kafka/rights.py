"""What each OneStop process needs to do on which topic, checked against a secure broker
before the process starts, so that a missing right ends it at once with one line
(:class:`schemas.refusals.AccessRefused`) instead of a client that retries for ever.

A consumer that assigns itself the partitions of a topic it may not read gets nothing and
says nothing (aiokafka logs "not authorized" and retries), and a producer learns of a
refused topic only at its first send. :func:`check_rights` asks the broker instead, with
one Metadata request (version 8, the first with ``include_topic_authorized_operations``,
KIP-430) as the principal itself: for each topic the broker answers the operations that
principal may do there. Consumer groups are not part of that answer; a refused group shows
at the consumer's first fetch as ``GroupAuthorizationFailedError``, which
:mod:`schemas.refusals` words the same way.

The needs per role mirror the grants of :func:`onestop.kafka.acls.namespace_bindings`; the
tests check that every need is granted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Int16, Int32, Schema, String

from onestop.kafka.acls import Operation
from schemas.access import KafkaAccess
from schemas.enums import Country
from schemas.refusals import AccessRefused, check_login, explained
from schemas.topics import Topics

_TOPIC_AUTHORIZATION_FAILED = 29
_UNKNOWN_TOPIC = 3
_SHOWN = 3  # refused needs named after the first


@dataclass(frozen=True, order=True)
class Need:
    """A process must do `operation` (READ or WRITE) on `topic`."""

    topic: str
    operation: Operation


def _needs(topics: Iterable[str], operation: Operation) -> list[Need]:
    return [Need(topic, operation) for topic in topics]


def sender_needs(topics: Topics, party: Country) -> list[Need]:
    """A party that sends (injects, a desk): writes its outbox."""
    return [Need(topics.outbox(party), Operation.WRITE)]


def node_needs(topics: Topics, party: Country) -> list[Need]:
    """A simulated node: reads its inbox and the clock, writes its outbox."""
    return [
        Need(topics.inbox(party), Operation.READ),
        *sender_needs(topics, party),
        Need(topics.clock, Operation.READ),
    ]


def hub_needs(topics: Topics, parties: Sequence[Country]) -> list[Need]:
    """The hub: reads the outboxes, the clock and the audit (its chain heads); writes the
    inboxes, the audit and the dead letters; reads and writes its table changelogs."""
    return [
        *_needs((topics.outbox(p) for p in parties), Operation.READ),
        *_needs((topics.inbox(p) for p in parties), Operation.WRITE),
        *_needs([topics.clock, topics.audit, *topics.hub_changelogs], Operation.READ),
        *_needs([topics.audit, topics.deadletter, *topics.hub_changelogs], Operation.WRITE),
    ]


def clock_needs(topics: Topics) -> list[Need]:
    """Exercise control (runner, `onestop clock`, the console's commands and notes): writes
    the clock and the observations, reads them and the audit."""
    return [
        *_needs([topics.clock, topics.observations], Operation.WRITE),
        *_needs([topics.clock, topics.observations, topics.audit], Operation.READ),
    ]


def reader_needs(topics: Topics) -> list[Need]:
    """Reports and `audit verify`: read the audit trail and the observations."""
    return _needs([topics.audit, topics.observations], Operation.READ)


def watcher_needs(topics: Topics, parties: Sequence[Country]) -> list[Need]:
    """The console's live view and the load generator's follower (as ``reader``): besides
    the audit and the observations, the clock, and the outbox, inbox and dead-letter
    records an audit entry names."""
    return [
        *reader_needs(topics),
        *_needs([topics.clock, topics.deadletter], Operation.READ),
        *_needs((topics.outbox(p) for p in parties), Operation.READ),
        *_needs((topics.inbox(p) for p in parties), Operation.READ),
    ]


# ---- Metadata v8 ---------------------------------------------------------------------------


class _MetadataResponse_v8(Response):  # type: ignore[misc]
    API_KEY = 3
    API_VERSION = 8
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "brokers",
            Array(
                ("node_id", Int32),
                ("host", String("utf-8")),
                ("port", Int32),
                ("rack", String("utf-8")),
            ),
        ),
        ("cluster_id", String("utf-8")),
        ("controller_id", Int32),
        (
            "topics",
            Array(
                ("error_code", Int16),
                ("topic", String("utf-8")),
                ("is_internal", Boolean),
                (
                    "partitions",
                    Array(
                        ("error_code", Int16),
                        ("partition", Int32),
                        ("leader", Int32),
                        ("leader_epoch", Int32),
                        ("replicas", Array(Int32)),
                        ("isr", Array(Int32)),
                        ("offline_replicas", Array(Int32)),
                    ),
                ),
                ("topic_authorized_operations", Int32),
            ),
        ),
        ("cluster_authorized_operations", Int32),
    )


class _MetadataRequest_v8(RequestStruct):  # type: ignore[misc]
    API_KEY = 3
    API_VERSION = 8
    RESPONSE_TYPE = _MetadataResponse_v8
    SCHEMA = Schema(
        ("topics", Array(String("utf-8"))),
        ("allow_auto_topic_creation", Boolean),
        ("include_cluster_authorized_operations", Boolean),
        ("include_topic_authorized_operations", Boolean),
    )


class _AuthorizedOperations(Request[_MetadataRequest_v8]):  # type: ignore[misc]
    """Metadata of `topics` with the operations the asking principal may do on each."""

    API_KEY = 3

    def __init__(self, topics: Sequence[str]) -> None:
        self._topics = list(topics)

    def build(self, request_struct_class: type[_MetadataRequest_v8]) -> _MetadataRequest_v8:
        return request_struct_class(self._topics, False, False, True)


def _allowed(bits: int, operation: Operation) -> bool:
    return bool(bits & (1 << int(operation)) or bits & (1 << int(Operation.ALL)))


def _word(operation: Operation) -> str:
    return operation.name.lower()


def missing_rights(answer: dict[str, tuple[int, int]], needs: Sequence[Need]) -> list[Need]:
    """The needs the broker's answer (topic -> (error code, authorized operations bits))
    does not allow, in the order given (pure)."""
    missing = []
    for need in needs:
        code, bits = answer.get(need.topic, (_UNKNOWN_TOPIC, 0))
        if code or not _allowed(bits, need.operation):
            missing.append(need)
    return missing


async def topic_rights(access: KafkaAccess, topics: Sequence[str]) -> dict[str, tuple[int, int]]:
    """For each of `topics`: the broker's error code for it (0, or 29 when `access` may not
    even describe it, 3 when it does not exist) and the bits of the operations `access`
    may do on it.

    Raises:
        AccessRefused: the broker refused the login.
    """
    await check_login(access)
    admin = AIOKafkaAdminClient(**access.client_options(), request_timeout_ms=30000)
    try:
        async with explained(access, "describe", topics[0] if len(topics) == 1 else None):
            await admin.start()
        response = await admin._send_request(_AuthorizedOperations(sorted(set(topics))))
    finally:
        await admin.close()
    return {
        topic["topic"]: (int(topic["error_code"]), int(topic["topic_authorized_operations"]))
        for topic in response.to_object()["topics"]
    }


async def check_rights(
    access: KafkaAccess, needs: Sequence[Need], *, unknown_ok: bool = False
) -> None:
    """Return when `access` may do every one of `needs`; a plain `access` (no principal)
    is not checked. With `unknown_ok`, a topic that does not exist is left for the
    caller to report.

    Raises:
        AccessRefused: for the first need the broker does not allow (or a refused login);
            the message names the principal, the operation and the topic.
    """
    if not access.secure or not needs:
        return
    answer = await topic_rights(access, [need.topic for need in needs])
    missing = missing_rights(answer, needs)
    if unknown_ok:
        missing = [n for n in missing if answer.get(n.topic, (_UNKNOWN_TOPIC, 0))[0] != 3]
    if not missing:
        return
    need = missing[0]
    code, _ = answer.get(need.topic, (_UNKNOWN_TOPIC, 0))
    if code == _UNKNOWN_TOPIC:
        reason = (
            "UnknownTopicOrPartitionError, the topic does not exist; the admin principal "
            "creates a namespace's topics and ACLs (run a command with the admin's "
            "credentials once, e.g. `onestop hub`)"
        )
    elif code and code != _TOPIC_AUTHORIZATION_FAILED:
        reason = f"{for_code(code).__name__} while asking for its metadata"
    else:
        reason = "TopicAuthorizationFailedError, the broker's ACLs do not allow it"
    others = [f"{_word(n.operation)} {n.topic!r}" for n in missing[1:]]
    more = ""
    if others:
        shown = ", ".join(others[:_SHOWN])
        rest = f" and {len(others) - _SHOWN} more" if len(others) > _SHOWN else ""
        more = f"; also refused: {shown}{rest}"
    raise AccessRefused(
        access.username, _word(need.operation), f"topic {need.topic!r}", reason + more
    )
