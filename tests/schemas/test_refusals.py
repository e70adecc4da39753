"""What the broker refuses, in one line naming principal, operation and resource (pure)."""

from __future__ import annotations

import pytest
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)

from schemas.access import KafkaAccess
from schemas.refusals import AccessRefused, explained, refusal

PL = KafkaAccess("h:1", "PL", "secret")


def test_a_topic_refusal_names_principal_operation_and_topic() -> None:
    found = refusal(TopicAuthorizationFailedError("ns.inbox.DE"), PL, "read")
    assert str(found) == (
        "Kafka refused principal 'PL' to read topic 'ns.inbox.DE': "
        "TopicAuthorizationFailedError, the broker's ACLs do not allow it"
    )


def test_a_refusal_of_several_topics_names_them_all() -> None:
    found = refusal(TopicAuthorizationFailedError({"b", "a"}), PL, "commit offsets of")
    assert found is not None and found.resource == "topics 'a', 'b'"


def test_the_topic_comes_from_the_caller_when_the_error_has_none() -> None:
    found = refusal(TopicAuthorizationFailedError(), PL, "write", "ns.clock")
    assert found is not None and found.resource == "topic 'ns.clock'"


def test_a_group_refusal_names_the_group() -> None:
    found = refusal(GroupAuthorizationFailedError("ns-node-DE"), PL, "read")
    assert str(found).startswith("Kafka refused principal 'PL' to use consumer group 'ns-node-DE'")


def test_an_idempotent_producer_of_a_principal_that_writes_nothing() -> None:
    found = refusal(ClusterAuthorizationFailedError(), "h:1", "write", "ns.audit")
    assert found is not None and found.principal is None
    assert "an unauthenticated client to write on topic 'ns.audit'" in str(found)


def test_a_refused_login_says_what_to_check() -> None:
    found = refusal(SaslAuthenticationFailed("invalid credentials"), PL, "read")
    assert found is not None and found.operation == "log in at"
    assert "wrong password or unknown user" in str(found) and "--credentials" in str(found)
    assert "secret" not in str(found)


def test_other_errors_are_no_refusal() -> None:
    assert refusal(KafkaConnectionError("down"), PL, "read") is None
    assert refusal(ValueError("x"), PL, "read") is None


async def test_explained_raises_the_refusal_and_passes_the_rest() -> None:
    with pytest.raises(AccessRefused, match=r"'PL' to write topic 'ns\.outbox\.DE'"):
        async with explained(PL, "write", "ns.outbox.DE"):
            raise TopicAuthorizationFailedError("ns.outbox.DE")
    with pytest.raises(KafkaConnectionError):  # plain: no login to ask about
        async with explained("h:1", "read"):
            raise KafkaConnectionError("down")
