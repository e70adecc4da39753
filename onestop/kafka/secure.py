"""Credentials of a secure local broker or cluster: made once, when its storage is formatted.

Every principal of :func:`schemas.access.all_principals` (``admin``, ``hub``, ``clock``,
``reader`` and each party code of ``schemas.enums.Country``: ``PL``, ``DE``, ...,
``EUROPOL``, ``INTERPOL``) gets a random password (``secrets.token_urlsafe``). They go

- to Kafka as SCRAM-SHA-512 users, through ``kafka-storage format --add-scram``;
- to ``<data dir>/credentials.json``, mode 0600: one JSON object from principal name to
  password, ``{"admin": "...", "hub": "...", "clock": "...", "reader": "...", "PL": "...",
  ...}`` (read it with :func:`schemas.access.load_credentials`).

A data directory is secure or plain for its whole life: its SCRAM users and ACLs are in
the metadata log, and a plain broker would serve its topics to anyone. The state file of
the data directory records which it is, and :func:`check_mode` refuses the other.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from onestop.kafka.errors import BrokerError
from schemas.access import ADMIN, SASL_MECHANISM, all_principals

#: File name of the credentials in a secure data directory.
CREDENTIALS_FILE: Final = "credentials.json"
_PASSWORD_BYTES = 24


def new_credentials() -> dict[str, str]:
    """A fresh random password for every OneStop principal."""
    return {name: secrets.token_urlsafe(_PASSWORD_BYTES) for name in all_principals()}


def scram_arguments(credentials: Mapping[str, str]) -> list[str]:
    """``--add-scram`` arguments of ``kafka-storage format`` creating every user (pure)."""
    args: list[str] = []
    for name, password in credentials.items():
        # token_urlsafe passwords hold no ',', '=', '[' or ']' that would break the syntax
        args += ["--add-scram", f"{SASL_MECHANISM}=[name={name},password={password}]"]
    return args


def write_credentials(path: Path, credentials: Mapping[str, str]) -> None:
    """Write ``credentials`` to ``path`` as JSON, mode 0600 from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(dict(credentials), out, indent=1)
        out.write("\n")
    os.replace(tmp, path)


def admin_password(credentials: Mapping[str, str], path: Path) -> str:
    """The ``admin`` password, which the brokers use among themselves.

    Raises:
        BrokerError: ``credentials`` (read from ``path``) has none.
    """
    password = credentials.get(ADMIN)
    if not password:
        raise BrokerError(f"{path} has no password for {ADMIN!r}; the broker cannot start.")
    return password


def check_mode(data_dir: Path, *, recorded_secure: bool | None, wanted_secure: bool) -> None:
    """Refuse to run a formatted data directory in the other mode.

    Args:
        data_dir: the data directory (for the message).
        recorded_secure: what its state file says (None: never started, or started before
            secure mode existed, which means plain unless ``credentials.json`` exists).
        wanted_secure: the mode asked for now.

    Raises:
        BrokerError: the modes differ.
    """
    secure = recorded_secure
    if secure is None:
        secure = (data_dir / CREDENTIALS_FILE).exists()
    if secure == wanted_secure:
        return
    if secure:
        raise BrokerError(
            f"The data directory {data_dir} belongs to a secure broker (SCRAM users and "
            f"ACLs, passwords in {data_dir / CREDENTIALS_FILE}); it cannot be reused as a "
            f"plain one. Start it with `--secure`, or choose another `--data` directory."
        )
    raise BrokerError(
        f"The data directory {data_dir} belongs to a plain broker (no authentication); it "
        f"cannot be reused as a secure one. Start it without `--secure`, or choose another "
        f"`--data` directory (by default secure brokers use their own)."
    )
