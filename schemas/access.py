"""How a OneStop client reaches Kafka: the bootstrap servers and, on a secure broker, the
SCRAM principal it authenticates as.

A secure local broker (``onestop broker start --secure``) writes its passwords to
``<data dir>/credentials.json`` with file mode 0600: one JSON object from principal name to
password, for example ``{"admin": "...", "hub": "...", "clock": "...", "reader": "...",
"PL": "...", ..., "INTERPOL": "..."}``. Every party of ``Country`` has its own principal,
named by its code; :data:`SERVICE_PRINCIPALS` are the others.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeAlias

from schemas.enums import Country

#: SASL mechanism of every OneStop principal.
SASL_MECHANISM: Final = "SCRAM-SHA-512"
#: Creates topics and ACLs; a Kafka super user.
ADMIN: Final = "admin"
#: The hub: reads every outbox, writes inboxes, audit and dead letters.
HUB: Final = "hub"
#: The exercise runner and `onestop clock`: writes the clock topic, follows the audit.
CLOCK: Final = "clock"
#: Reports and `onestop audit verify`: reads the audit trail.
READER: Final = "reader"
#: The principals that are not a party.
SERVICE_PRINCIPALS: Final = (ADMIN, HUB, CLOCK, READER)


class CredentialsError(ValueError):
    """A credentials file is missing, unreadable, readable by others or of the wrong shape,
    or names no password for the principal asked for."""


def all_principals() -> list[str]:
    """Every principal of a secure OneStop broker: the services, then each party's code."""
    return [*SERVICE_PRINCIPALS, *(party.value for party in Country)]


def load_credentials(path: Path) -> dict[str, str]:
    """Read a ``credentials.json`` (principal name -> password).

    Raises:
        CredentialsError: the file is missing or unreadable, group or others may read or
            write it (it must be mode 0600 or stricter), it is not JSON, or it is not an
            object of non-empty strings. The message names the file and what is wrong.
    """
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except FileNotFoundError:
        raise CredentialsError(
            f"{path}: no such credentials file; a secure broker writes it at its first "
            f"start (`onestop broker start --secure`)"
        ) from None
    except OSError as exc:
        raise CredentialsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_IMODE(mode) & 0o077:
        raise CredentialsError(
            f"{path}: mode {stat.S_IMODE(mode):04o} lets other users read or change the "
            f"passwords; it must be 0600 (`chmod 600 {path}`)"
        )
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CredentialsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CredentialsError(
            f"{path}: expected a JSON object from principal name to password, found "
            f"{type(data).__name__}"
        )
    for name, password in data.items():
        if not name:
            raise CredentialsError(f"{path}: a principal with an empty name")
        if not isinstance(password, str) or not password:
            raise CredentialsError(f"{path}: the password of {name!r} must be a non-empty string")
    return dict(data)


@dataclass(frozen=True)
class KafkaAccess:
    """Where Kafka is and who a client is there.

    Attributes:
        bootstrap: ``host:port[,host:port...]``.
        username: SCRAM principal (None: a plain, unauthenticated connection).
        password: its password.
    """

    bootstrap: str
    username: str | None = None
    password: str | None = None

    def __post_init__(self) -> None:
        if self.username is not None and not self.password:
            raise ValueError(f"KafkaAccess for {self.username!r} has no password")

    @property
    def secure(self) -> bool:
        """True when the client authenticates (SASL_PLAINTEXT with SCRAM-SHA-512)."""
        return self.username is not None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        options: dict[str, Any] = {"bootstrap_servers": self.bootstrap}
        if self.username is not None:
            options.update(
                security_protocol="SASL_PLAINTEXT",
                sasl_mechanism=SASL_MECHANISM,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password,
            )
        return options

    @classmethod
    def for_principal(
        cls, bootstrap: str, credentials: dict[str, str], principal: str
    ) -> KafkaAccess:
        """Access as ``principal`` with its password from ``credentials``.

        Raises:
            CredentialsError: ``credentials`` has no password for ``principal``.
        """
        password = credentials.get(principal)
        if not password:
            known = ", ".join(sorted(credentials)) or "none"
            raise CredentialsError(
                f"no password for principal {principal!r} in the credentials (known: {known})"
            )
        return cls(bootstrap=bootstrap, username=principal, password=password)

    def __repr__(self) -> str:  # never show the password in a log or a traceback
        return f"KafkaAccess(bootstrap={self.bootstrap!r}, username={self.username!r})"


#: Where a client connects: bootstrap servers alone (a plain broker), or a `KafkaAccess`.
KafkaTarget: TypeAlias = str | KafkaAccess


def as_access(target: KafkaTarget) -> KafkaAccess:
    """`target` as a `KafkaAccess` (bootstrap servers alone: a plain connection)."""
    return target if isinstance(target, KafkaAccess) else KafkaAccess(target)


def client_options(target: KafkaTarget) -> dict[str, Any]:
    """aiokafka keyword arguments reaching `target` (see `KafkaAccess.client_options`)."""
    return as_access(target).client_options()
