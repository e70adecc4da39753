"""Credentials of a secure local broker and the plain/secure data dir rule (no broker)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from onestop.kafka.errors import BrokerError
from onestop.kafka.secure import (
    CREDENTIALS_FILE,
    check_mode,
    new_credentials,
    scram_arguments,
    write_credentials,
)
from schemas.access import all_principals, load_credentials
from schemas.enums import Country


def test_every_principal_gets_its_own_random_password() -> None:
    first, second = new_credentials(), new_credentials()
    assert list(first) == all_principals()
    assert {"admin", "hub", "clock", "reader", "PL", "EUROPOL", "INTERPOL"} <= set(first)
    assert len(first) == 4 + len(Country)
    assert len(set(first.values())) == len(first)
    assert all(first[name] != second[name] for name in first)
    assert all(len(password) >= 32 for password in first.values())


def test_scram_arguments_name_each_user() -> None:
    args = scram_arguments({"admin": "a-1", "PL": "p_2"})
    assert args == [
        "--add-scram",
        "SCRAM-SHA-512=[name=admin,password=a-1]",
        "--add-scram",
        "SCRAM-SHA-512=[name=PL,password=p_2]",
    ]


def test_credentials_file_is_private_json(tmp_path: Path) -> None:
    path = tmp_path / "data" / CREDENTIALS_FILE
    credentials = new_credentials()
    write_credentials(path, credentials)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == credentials
    assert load_credentials(path) == credentials
    assert [p.name for p in path.parent.iterdir()] == [CREDENTIALS_FILE]  # no temp file left


def test_a_secure_data_dir_is_not_reused_as_a_plain_one(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="belongs to a secure broker") as caught:
        check_mode(tmp_path, recorded_secure=True, wanted_secure=False)
    assert "--secure" in str(caught.value) and str(tmp_path) in str(caught.value)


def test_a_plain_data_dir_is_not_reused_as_a_secure_one(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="belongs to a plain broker"):
        check_mode(tmp_path, recorded_secure=False, wanted_secure=True)


def test_an_old_state_file_is_judged_by_its_credentials(tmp_path: Path) -> None:
    check_mode(tmp_path, recorded_secure=None, wanted_secure=False)
    write_credentials(tmp_path / CREDENTIALS_FILE, {"admin": "x"})
    check_mode(tmp_path, recorded_secure=None, wanted_secure=True)
    with pytest.raises(BrokerError, match="secure broker"):
        check_mode(tmp_path, recorded_secure=None, wanted_secure=False)
