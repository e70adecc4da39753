"""The local Kafka broker, for real: Maven, the JVM, kcat and the CLI (no mocks)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from onestop.kafka.bootstrap import BOOTSTRAP_ENV, resolve_bootstrap
from onestop.kafka.broker import LocalBroker
from onestop.kafka.errors import BrokerError
from onestop.kafka.jars import KAFKA_VERSION, POM_PATH
from onestop.kafka.java import find_java
from onestop.kafka.probe import free_port

ONESTOP = Path(sys.executable).parent / "onestop"
MARKER = Path(f"kafka-{KAFKA_VERSION}") / "libs.complete.json"


def _alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _pgrep(pattern: str) -> list[int]:
    """Pids whose full command line contains ``pattern`` (``pgrep -f``)."""
    result = subprocess.run(
        ["pgrep", "-f", "--", re.escape(pattern)], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in result.stdout.split()]


def _onestop(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``onestop`` console script of this venv."""
    return subprocess.run(
        [str(ONESTOP), *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=180,
        check=False,
    )


def _env_with_path(path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "JAVA_HOME"}
    env["PATH"] = str(path)
    env.update(extra)
    return env


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh jar cache: the first start of this module runs Maven for real."""
    return tmp_path_factory.mktemp("kafka-cache")


@pytest.fixture(scope="module")
def local_broker(
    tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> Iterator[LocalBroker]:
    """One broker on a free port, shared by the kcat and lifecycle tests."""
    broker = LocalBroker(
        port=free_port(), data_dir=tmp_path_factory.mktemp("broker"), cache_dir=cache_dir
    )
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


def test_kafka_version_matches_pom() -> None:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ET.parse(POM_PATH).getroot().find("m:properties/m:kafka.version", ns)
    assert version is not None
    assert version.text == KAFKA_VERSION


@pytest.mark.kafka  # starts a broker of its own
def test_kcat_lists_exactly_one_broker(local_broker: LocalBroker) -> None:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        pytest.skip("kcat is not installed (apt-get install kcat)")
    result = subprocess.run(
        [kcat, "-b", local_broker.bootstrap, "-L", "-m", "10"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\s*1 brokers:", result.stdout, re.MULTILINE), result.stdout
    brokers = re.findall(r"^\s*broker (\d+) at (\S+)", result.stdout, re.MULTILINE)
    assert brokers == [("1", local_broker.bootstrap)], result.stdout


@pytest.mark.kafka  # starts a broker of its own
def test_lifecycle_reuse_status_stop_and_cached_restart(
    local_broker: LocalBroker, cache_dir: Path, tmp_path: Path
) -> None:
    data_dir = local_broker.data_dir
    first = local_broker.status()
    assert first.running and first.pid is not None
    assert first.bootstrap == local_broker.bootstrap
    assert first.data_dir == data_dir
    assert _pgrep(str(data_dir)) == [first.pid]
    marker = json.loads((cache_dir / MARKER).read_text())
    assert f"kafka_2.13-{KAFKA_VERSION}.jar" in marker["jars"]

    # A second start for the same data dir reuses the running JVM.
    other = LocalBroker(port=local_broker.port, data_dir=data_dir, cache_dir=cache_dir)
    assert other.start(timeout=30) == local_broker.bootstrap
    assert other.status().pid == first.pid
    assert _pgrep(str(data_dir)) == [first.pid]

    # Stop: the JVM is gone and nothing of ours is left.
    assert other.stop() is True
    assert not _alive(first.pid)
    assert _pgrep(str(data_dir)) == []
    assert not local_broker.pid_file.exists()
    assert not local_broker.status().running
    assert local_broker.stop() is False

    # Restart through the CLI with a PATH whose only `mvn` fails loudly: the cache is used.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").symlink_to(find_java().resolve())
    mvn_called = tmp_path / "mvn-called"
    fake_mvn = bin_dir / "mvn"
    fake_mvn.write_text(f"#!/bin/sh\ntouch '{mvn_called}'\nexit 1\n")
    fake_mvn.chmod(0o755)
    env = _env_with_path(bin_dir, ONESTOP_CACHE_DIR=str(cache_dir))
    where = ["--port", str(local_broker.port), "--data", str(data_dir)]

    started = _onestop("broker", "start", *where, env=env)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == local_broker.bootstrap
    assert not mvn_called.exists()
    second = local_broker.status()
    assert second.running and second.pid not in (None, first.pid)
    assert _pgrep(str(data_dir)) == [second.pid]

    status = _onestop("broker", "status", *where, env=env)
    assert status.returncode == 0, status.stdout
    assert str(second.pid) in status.stdout and local_broker.bootstrap in status.stdout

    stopped = _onestop("broker", "stop", *where, env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert second.pid is not None and not _alive(second.pid)
    assert _pgrep(str(data_dir)) == []
    assert _onestop("broker", "status", *where, env=env).returncode == 1
    again = _onestop("broker", "stop", *where, env=env)
    assert again.returncode == 0 and "No local Kafka broker" in again.stdout


def test_jvm_dying_at_startup_reports_the_log(tmp_path: Path) -> None:
    broker = LocalBroker(port=free_port(), data_dir=tmp_path / "data")
    broker.log_dir.mkdir(parents=True)
    (broker.log_dir / "meta.properties").write_text("version=1\nnode.id=7\ncluster.id=x\n")
    with pytest.raises(BrokerError, match="exited during startup") as caught:
        broker.start(timeout=60)
    assert str(broker.log_file) in str(caught.value)
    assert len(str(caught.value).splitlines()) > 1  # the tail of broker.log follows
    assert not broker.status().running
    assert _pgrep(str(broker.data_dir)) == []


def test_port_taken_by_something_else(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(BrokerError, match=f"Port {port}"):
            LocalBroker(port=port, data_dir=tmp_path / "data").start(timeout=10)
    assert _pgrep(str(tmp_path / "data")) == []


def test_status_and_stop_when_never_started(tmp_path: Path) -> None:
    broker = LocalBroker(port=free_port(), data_dir=tmp_path / "data")
    status = broker.status()
    assert not status.running and status.pid is None
    assert status.bootstrap == broker.bootstrap
    assert broker.stop() is False


def test_missing_java(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    result = _onestop(
        "broker",
        "start",
        "--port",
        str(free_port()),
        "--data",
        str(tmp_path / "data"),
        env=_env_with_path(empty_bin),
    )
    assert result.returncode == 2, result.stdout + result.stderr
    message = _flat(result.stderr)
    for needle in ("Java 17", "Docker", "--bootstrap", "ONESTOP_BOOTSTRAP", "apt-get install"):
        assert needle in message
    assert "Traceback" not in result.stderr


def test_java_too_old(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_java = bin_dir / "java"
    fake_java.write_text(
        "#!/bin/sh\n"
        "echo 'openjdk version \"11.0.22\" 2024-01-16' >&2\n"
        "echo 'OpenJDK 64-Bit Server VM (build 11.0.22+7, mixed mode)' >&2\n"
    )
    fake_java.chmod(0o755)
    result = _onestop(
        "broker",
        "start",
        "--port",
        str(free_port()),
        "--data",
        str(tmp_path / "data"),
        env=_env_with_path(bin_dir),
    )
    assert result.returncode == 2, result.stdout + result.stderr
    message = _flat(result.stderr)
    for needle in ("Java 17", "Java 11", "Docker", "--bootstrap"):
        assert needle in message
    assert "Traceback" not in result.stderr


def test_missing_maven_with_empty_cache(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").symlink_to(find_java().resolve())
    result = _onestop(
        "broker",
        "start",
        "--port",
        str(free_port()),
        "--data",
        str(tmp_path / "data"),
        env=_env_with_path(bin_dir, ONESTOP_CACHE_DIR=str(tmp_path / "empty-cache")),
    )
    assert result.returncode == 2, result.stdout + result.stderr
    message = _flat(result.stderr)
    for needle in ("Maven", "apt-get install maven", "Docker", "--bootstrap"):
        assert needle in message
    assert "Traceback" not in result.stderr


def test_resolve_bootstrap_prefers_explicit_then_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BOOTSTRAP_ENV, "env-host:9092")
    assert resolve_bootstrap("cli-host:9092") == "cli-host:9092"
    assert resolve_bootstrap(None) == "env-host:9092"
