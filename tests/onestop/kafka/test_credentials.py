"""Which credentials a command uses and as whom its clients log in (no broker)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from onestop.kafka.credentials import KafkaLogins, local_credentials, resolve_logins
from schemas.access import CredentialsError, KafkaAccess


def _file(path: Path, credentials: dict[str, str]) -> Path:
    path.write_text(json.dumps(credentials))
    os.chmod(path, 0o600)
    return path


def test_plain_logins_give_plain_access_for_every_principal() -> None:
    logins = KafkaLogins("h:1")
    assert not logins.secure and logins.has("anyone")
    assert logins.access("hub") == KafkaAccess("h:1")
    assert logins.arguments() == []


def test_secure_logins_pick_each_principals_password(tmp_path: Path) -> None:
    secrets = {"hub": "hub-secret-1", "PL": "pl-secret-2"}
    path = _file(tmp_path / "c.json", secrets)
    logins = KafkaLogins("h:1", secrets, path)
    assert logins.access("PL") == KafkaAccess("h:1", "PL", "pl-secret-2")
    assert logins.has("hub") and not logins.has("admin")
    assert logins.arguments() == ["--credentials", str(path)]
    with pytest.raises(CredentialsError, match=rf"'DE'.*known: PL, hub.*{path.name}"):
        logins.access("DE")
    assert "secret" not in repr(logins)


def test_a_given_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONESTOP_BOOTSTRAP", raising=False)
    path = _file(tmp_path / "c.json", {"PL": "b"})
    logins = resolve_logins("127.0.0.1:1", path)
    assert logins.secure and logins.file == path and logins.bootstrap == "127.0.0.1:1"


def test_secure_without_credentials_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with pytest.raises(CredentialsError, match="no credentials for the secure broker"):
        resolve_logins("127.0.0.1:1", secure=True)
    assert resolve_logins("127.0.0.1:1") == KafkaLogins("127.0.0.1:1")


def test_only_local_brokers_are_looked_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert local_credentials("kafka.example:9092") is None
    assert local_credentials("127.0.0.1:9092,kafka.example:9092") is None
    assert local_credentials("127.0.0.1:1") is None  # no broker runs there
