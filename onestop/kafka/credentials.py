"""Which credentials a OneStop command uses, and as whom each of its Kafka clients logs in.

A command finds its credentials file (``credentials.json``, see :mod:`schemas.access`) in
this order: ``--credentials FILE`` or ``$ONESTOP_CREDENTIALS``; else, when the bootstrap
servers are those of a secure local broker or cluster that OneStop runs on this machine
(its default data directory), that broker's own file; else none: a plain connection, as
before secure mode existed. ``--secure`` (``exercise run``, ``console``) without
``--bootstrap`` starts or reuses the secure local broker itself and uses its file.

Each client then logs in as its own principal: :meth:`KafkaLogins.access` picks the
password of the principal the caller names (``hub``, ``clock``, ``reader``, ``admin`` or a
party code). Without credentials every access is a plain one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from onestop.kafka.bootstrap import BOOTSTRAP_ENV, resolve_bootstrap
from onestop.kafka.broker import LocalBroker
from onestop.kafka.cluster import LocalCluster
from onestop.kafka.probe import HOST
from schemas.access import CredentialsError, KafkaAccess, load_credentials

#: Environment variable naming the credentials file.
CREDENTIALS_ENV: Final = "ONESTOP_CREDENTIALS"
#: Environment variable naming the principal of a command that could be several.
PRINCIPAL_ENV: Final = "ONESTOP_PRINCIPAL"
_LOCAL_HOSTS: Final = frozenset({HOST, "localhost"})


@dataclass(frozen=True)
class KafkaLogins:
    """Where Kafka is, and the passwords of the principals a process may log in as.

    Attributes:
        bootstrap: ``host:port[,host:port...]``.
        credentials: principal -> password (None: a plain broker, nobody logs in).
        file: the credentials file they were read from (passed on to subprocesses).
    """

    bootstrap: str
    credentials: Mapping[str, str] | None = field(default=None, repr=False)
    file: Path | None = None

    @property
    def secure(self) -> bool:
        """True when clients log in (SASL_PLAINTEXT with SCRAM-SHA-512)."""
        return self.credentials is not None

    def has(self, principal: str) -> bool:
        """Whether a client may log in as `principal` (always, on a plain broker)."""
        return self.credentials is None or bool(self.credentials.get(principal))

    def access(self, principal: str) -> KafkaAccess:
        """How a client reaches Kafka as `principal` (plain: anonymously).

        Raises:
            CredentialsError: secure, and the credentials name no such principal.
        """
        if self.credentials is None:
            return KafkaAccess(self.bootstrap)
        try:
            return KafkaAccess.for_principal(self.bootstrap, dict(self.credentials), principal)
        except CredentialsError as exc:
            where = f" ({self.file})" if self.file else ""
            raise CredentialsError(f"{exc}{where}") from None

    def arguments(self) -> list[str]:
        """Command-line arguments giving a OneStop subprocess the same credentials."""
        return ["--credentials", str(self.file)] if self.file is not None else []


def _local_port(bootstrap: str) -> int | None:
    """The port of the first server when every server of `bootstrap` is on this host."""
    ports = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if host not in _LOCAL_HOSTS or not port.isdigit():
            return None
        ports.append(int(port))
    return ports[0] if ports else None


def local_credentials(bootstrap: str) -> Path | None:
    """The credentials file of the secure local broker or cluster that OneStop runs at
    `bootstrap` in its default data directory, or None."""
    port = _local_port(bootstrap)
    if port is None:
        return None
    broker = LocalBroker(port, secure=True)
    if broker.credentials_file.exists() and broker.status().running:
        return broker.credentials_file
    cluster = LocalCluster(3, port, secure=True)
    if cluster.credentials_file.exists() and cluster.status().running:
        return cluster.credentials_file
    return None


def resolve_logins(
    bootstrap: str | None, credentials: Path | None = None, *, secure: bool = False
) -> KafkaLogins:
    """The Kafka logins of a command (order in the module text).

    Args:
        bootstrap: ``--bootstrap`` (None: ``$ONESTOP_BOOTSTRAP``, else the local broker).
        credentials: ``--credentials`` (typer reads ``$ONESTOP_CREDENTIALS`` into it).
        secure: with no bootstrap servers given, start or reuse the secure local broker
            instead of the plain one; in any case, refuse to go on without credentials.

    Raises:
        CredentialsError: the file is missing, unsafe or malformed, or `secure` and none
            was found.
        onestop.kafka.errors.BrokerError: a local broker is needed and cannot start.
    """
    given = (bootstrap or "").strip() or os.environ.get(BOOTSTRAP_ENV, "").strip()
    file = credentials
    if secure and not given:
        broker = LocalBroker(secure=True)
        address = broker.start()
        file = file or broker.credentials_file
    else:
        address = resolve_bootstrap(given or None)
        file = file or local_credentials(address)
    if file is None:
        if secure:
            raise CredentialsError(
                f"no credentials for the secure broker at {address}: give --credentials "
                f"FILE or set {CREDENTIALS_ENV} (a secure broker writes credentials.json "
                f"in its data directory)"
            )
        return KafkaLogins(address)
    return KafkaLogins(address, load_credentials(file), file)
