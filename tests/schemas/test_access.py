"""KafkaAccess and the credentials file a client reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from schemas.access import (
    SERVICE_PRINCIPALS,
    CredentialsError,
    KafkaAccess,
    all_principals,
    load_credentials,
)
from schemas.enums import Country


def _write(path: Path, content: str, mode: int = 0o600) -> Path:
    path.write_text(content)
    os.chmod(path, mode)
    return path


class TestKafkaAccess:
    def test_plain_access_names_only_the_bootstrap(self) -> None:
        assert KafkaAccess("h:1,h:2").client_options() == {"bootstrap_servers": "h:1,h:2"}
        assert not KafkaAccess("h:1").secure

    def test_a_principal_authenticates_with_scram_over_sasl_plaintext(self) -> None:
        access = KafkaAccess("h:1", "PL", "secret")
        assert access.secure
        assert access.client_options() == {
            "bootstrap_servers": "h:1",
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": "PL",
            "sasl_plain_password": "secret",
        }

    def test_a_principal_needs_a_password(self) -> None:
        with pytest.raises(ValueError, match="no password"):
            KafkaAccess("h:1", "PL")

    def test_the_password_stays_out_of_its_repr(self) -> None:
        assert "secret" not in repr(KafkaAccess("h:1", "PL", "secret"))

    def test_for_principal_takes_its_password(self) -> None:
        access = KafkaAccess.for_principal("h:1", {"hub": "a", "PL": "b"}, "PL")
        assert access == KafkaAccess("h:1", "PL", "b")

    def test_for_an_unknown_principal_names_the_known_ones(self) -> None:
        with pytest.raises(CredentialsError, match=r"'XX'.*known: PL, hub"):
            KafkaAccess.for_principal("h:1", {"hub": "a", "PL": "b"}, "XX")


class TestLoadCredentials:
    def test_reads_the_documented_shape(self, tmp_path: Path) -> None:
        path = _write(tmp_path / "c.json", json.dumps({"admin": "a", "PL": "p"}))
        assert load_credentials(path) == {"admin": "a", "PL": "p"}

    def test_a_missing_file_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(CredentialsError, match=r"c\.json: no such credentials file"):
            load_credentials(tmp_path / "c.json")

    @pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o666])
    def test_a_file_others_may_read_is_refused(self, tmp_path: Path, mode: int) -> None:
        path = _write(tmp_path / "c.json", json.dumps({"admin": "a"}), mode)
        with pytest.raises(CredentialsError, match=rf"mode {mode:04o}.*chmod 600"):
            load_credentials(path)

    def test_stricter_modes_are_fine(self, tmp_path: Path) -> None:
        path = _write(tmp_path / "c.json", json.dumps({"admin": "a"}), 0o400)
        assert load_credentials(path) == {"admin": "a"}

    def test_not_json(self, tmp_path: Path) -> None:
        path = _write(tmp_path / "c.json", "{admin: a")
        with pytest.raises(CredentialsError, match=r"c\.json: not valid JSON"):
            load_credentials(path)

    def test_not_an_object(self, tmp_path: Path) -> None:
        path = _write(tmp_path / "c.json", json.dumps(["admin", "a"]))
        with pytest.raises(CredentialsError, match=r"expected a JSON object.*found list"):
            load_credentials(path)

    @pytest.mark.parametrize("password", [3, None, "", ["a"]])
    def test_every_password_is_a_non_empty_string(self, tmp_path: Path, password: object) -> None:
        path = _write(tmp_path / "c.json", json.dumps({"admin": "a", "PL": password}))
        with pytest.raises(CredentialsError, match="password of 'PL'"):
            load_credentials(path)


def test_principals_are_the_services_then_every_party() -> None:
    assert all_principals() == [*SERVICE_PRINCIPALS, *(c.value for c in Country)]
    assert SERVICE_PRINCIPALS == ("admin", "hub", "clock", "reader")
