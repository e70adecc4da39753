"""What a secure broker refuses a client, said in one line a person can act on.

aiokafka reports refusals in several shapes: ``TopicAuthorizationFailedError`` (with the
topic, or a set of them), ``GroupAuthorizationFailedError`` (with the group),
``ClusterAuthorizationFailedError`` (an idempotent producer of a principal that may write
no topic at all), and a wrong password only as ``KafkaConnectionError("Unable to
bootstrap ...")`` from a client's ``start()`` (the ``SaslAuthenticationFailed`` behind it
is only logged). :func:`refusal` maps every one of them to :class:`AccessRefused`, which
names the principal, what it tried and on what; :func:`explained` does it around a block
of client calls.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Final

from aiokafka.conn import create_conn
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)

from schemas.access import SASL_MECHANISM, KafkaAccess, KafkaTarget, as_access

#: Seconds a login probe may take.
LOGIN_PROBE_SECONDS: Final = 10.0


class AccessRefused(Exception):
    """The broker refused `principal` to do `operation` on `resource`.

    Attributes:
        principal: the SCRAM user (None: an unauthenticated client).
        operation: what it tried, in words (``read``, ``write``, ``log in``, ...).
        resource: what on (``topic 'ns.inbox.DE'``, ``consumer group 'ns-node-DE'``).
        reason: the broker's error, and what to do about it.
    """

    def __init__(self, principal: str | None, operation: str, resource: str, reason: str):
        self.principal = principal
        self.operation = operation
        self.resource = resource
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        who = f"principal {self.principal!r}" if self.principal else "an unauthenticated client"
        return f"Kafka refused {who} to {self.operation} {self.resource}: {self.reason}"


_NOT_ALLOWED = "the broker's ACLs do not allow it"


def _names(exc: KafkaError) -> list[str]:
    """The topic or group names an aiokafka authorization error carries."""
    found: list[str] = []
    for arg in exc.args:
        if isinstance(arg, str):
            found.append(arg)
        elif isinstance(arg, Iterable):
            found += sorted(str(item) for item in arg)
    return found


def refusal(
    exc: BaseException, access: KafkaTarget, operation: str, topic: str | None = None
) -> AccessRefused | None:
    """`exc` as an `AccessRefused` of `access`'s principal, or None when it is no refusal
    (a broker that is down, a timeout: the caller reports those its own way).

    Args:
        exc: what an aiokafka client raised.
        access: who the client is.
        operation: what the client was doing (``read``, ``write``, ...).
        topic: the topic it was doing it on, when the error does not name one.
    """
    if isinstance(exc, AccessRefused):
        return exc
    principal = as_access(access).username
    if isinstance(exc, TopicAuthorizationFailedError):
        names = _names(exc) or ([topic] if topic else [])
        what = ", ".join(repr(name) for name in names) or "(not named)"
        noun = "topics" if len(names) > 1 else "topic"
        return AccessRefused(
            principal, operation, f"{noun} {what}", f"TopicAuthorizationFailedError, {_NOT_ALLOWED}"
        )
    if isinstance(exc, GroupAuthorizationFailedError):
        names = _names(exc)
        what = repr(names[0]) if names else "(not named)"
        return AccessRefused(
            principal,
            "use",
            f"consumer group {what}",
            f"GroupAuthorizationFailedError, {_NOT_ALLOWED}",
        )
    if isinstance(exc, ClusterAuthorizationFailedError):
        where = f" on topic {topic!r}" if topic else ""
        return AccessRefused(
            principal,
            f"{operation}{where} with an idempotent producer",
            "(the cluster)",
            f"ClusterAuthorizationFailedError: the principal may write no topic at all; "
            f"{_NOT_ALLOWED}",
        )
    if isinstance(exc, SaslAuthenticationFailed):
        return login_refused(as_access(access), str(exc))
    return None


def login_refused(access: KafkaAccess, detail: str = "") -> AccessRefused:
    """The refusal of `access`'s login (a wrong password or an unknown user)."""
    said = f" ({detail.strip()})" if detail.strip() else ""
    return AccessRefused(
        access.username,
        "log in at",
        access.bootstrap,
        f"SaslAuthenticationFailed{said}: wrong password or unknown user for "
        f"{SASL_MECHANISM}; check the credentials file (--credentials / ONESTOP_CREDENTIALS)",
    )


async def check_login(access: KafkaAccess) -> None:
    """Log in once on a fresh connection to the first bootstrap server; raise
    `AccessRefused` when the broker refuses the password. A plain `access`, or a broker
    that cannot be reached, passes (the client that follows reports those).

    Raises:
        AccessRefused: the broker refused the login.
    """
    if not access.secure:
        return
    host, _, port = access.bootstrap.split(",")[0].strip().rpartition(":")
    options = {k: v for k, v in access.client_options().items() if k != "bootstrap_servers"}
    try:
        connection = await create_conn(
            host.strip("[]"),
            int(port),
            request_timeout_ms=int(LOGIN_PROBE_SECONDS * 1000),
            **options,
        )
    except SaslAuthenticationFailed as exc:
        raise login_refused(access, str(exc).split(":", 1)[-1]) from None
    except (KafkaError, OSError, TimeoutError, ValueError):
        return
    connection.close()


@contextlib.asynccontextmanager
async def explained(
    access: KafkaTarget, operation: str, topic: str | None = None
) -> AsyncIterator[None]:
    """Raise a refusal inside the block as `AccessRefused` (see :func:`refusal`). A
    secure client that could not connect at all is asked whether its login was refused.

    Example::

        async with explained(access, "read", topics.inbox(party)):
            await consumer.getmany(timeout_ms=200)
    """
    try:
        yield
    except KafkaError as exc:
        found = refusal(exc, access, operation, topic)
        if found is None and isinstance(exc, KafkaConnectionError):
            await check_login(as_access(access))
        if found is None:
            raise
        raise found from None
