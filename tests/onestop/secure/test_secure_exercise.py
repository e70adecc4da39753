"""Secure mode end to end, on a `--secure` broker of this module's own: an exercise where
every process logs in as its own principal, what each principal is refused (with aiokafka,
with Apache Kafka's Java client, with kcat where it can), and the one line a person reads
when a password is wrong or a right is missing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import TopicAuthorizationFailedError

from onestop.exercise.clock_control import clock_command, publish_clock
from onestop.kafka.broker import LocalBroker, default_data_dir
from onestop.kafka.credentials import KafkaLogins, local_credentials, resolve_logins
from onestop.kafka.jars import default_cache_dir, ensure_kafka_libs
from onestop.kafka.namespace import prepare_namespace
from onestop.kafka.probe import free_port
from onestop.kafka.rights import topic_rights
from producers.host import NodeHost
from schemas.access import ADMIN, KafkaAccess, load_credentials
from schemas.clock import ClockAction
from schemas.enums import Country
from schemas.envelope import DLQ_REASON, encode
from schemas.profiles import NodeProfile
from schemas.refusals import AccessRefused, check_login, explained
from schemas.topics import Topics
from tests.factories import make_request
from tests.onestop.console.conftest import start_console
from tests.support import HubProcess, wait_for_hub

pytestmark = pytest.mark.kafka

PL, DE = Country.PL, Country.DE
KCAT_SCRAM_MIN = (2, 6, 1)  # older librdkafka sends a SCRAM nonce Kafka 4 rejects
PROBE = Path(__file__).with_name("AccessProbe.java")
SCENARIO = """\
name: Secure drill
rules: directive_2023_977
clock:
  start: 2026-03-02T08:00:00Z
  speed: 86400
  end: 20d 00:00  # ends settled long before: room for a busy machine
seed: 7
nodes:
  PL: {}
  DE: {}
injects:
  - id: first
    at: "00:10"
    from: PL
    to: DE
    subject: Registration holder of vehicle PL-WX-1234
  - id: second
    at: "01:00"
    from: DE
    to: PL
    subject: Owner of a mobile phone number used in a fraud call
"""


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xdg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user data directory of the module's own, where OneStop keeps its local brokers."""
    return tmp_path_factory.mktemp("xdg")


@pytest.fixture(scope="module")
def broker(xdg: Path) -> Iterator[LocalBroker]:
    """A secure broker in its default data directory (under `xdg`), as `onestop broker
    start --secure --port P` makes it: commands find its credentials by its address."""
    port = free_port(2)
    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(xdg)
    try:
        data_dir = default_data_dir(port, secure=True)
    finally:
        if saved is None:
            del os.environ["XDG_DATA_HOME"]
        else:
            os.environ["XDG_DATA_HOME"] = saved
    local = LocalBroker(port, data_dir, secure=True)
    try:
        local.start()
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def logins(broker: LocalBroker) -> KafkaLogins:
    """Every principal's password (as read from the broker's credentials.json)."""
    file = broker.credentials_file
    return KafkaLogins(broker.bootstrap, load_credentials(file), file)


@pytest.fixture(scope="module")
def no_admin(logins: KafkaLogins, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A credentials file with every principal but the super user `admin`: a process that
    logs in with it can do only what its own principal's ACLs allow."""
    assert logins.credentials is not None
    path = tmp_path_factory.mktemp("creds") / "no-admin.json"
    others = {k: v for k, v in logins.credentials.items() if k != ADMIN}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(others, out)
    return path


@pytest_asyncio.fixture(scope="module")
async def topics(logins: KafkaLogins) -> AsyncIterator[Topics]:
    """A namespace whose topics and ACLs the admin made (one partition each: quick)."""
    names = Topics("s" + uuid.uuid4().hex[:10], partitions=1)
    await prepare_namespace(logins, names, [PL, DE])
    yield names


def _onestop(xdg: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """`onestop ARGS` with the module's user data directory and no Kafka settings from
    the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")}
    env["XDG_DATA_HOME"] = str(xdg)
    return subprocess.run(
        [sys.executable, "-m", "onestop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a refused command printed (exit code 2, no traceback)."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def _write_credentials(path: Path, credentials: dict[str, str]) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(credentials, out)
    return path


async def _subscribe(access: KafkaAccess, topic: str, group: str | None = None) -> None:
    consumer = AIOKafkaConsumer(
        topic, **access.client_options(), group_id=group, auto_offset_reset="earliest"
    )
    try:
        await consumer.start()
        await consumer.getmany(timeout_ms=5000)
    finally:
        await consumer.stop()


async def _send(
    access: KafkaAccess,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    producer = AIOKafkaProducer(**access.client_options(), acks="all")
    try:
        await producer.start()
        await producer.send_and_wait(topic, value, key=key or value, headers=headers)
    finally:
        await producer.stop()


async def _end_offset(access: KafkaAccess, topic: str) -> int:
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(**access.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        end: int = (await consumer.end_offsets([tp]))[tp]
        return end
    finally:
        await consumer.stop()


async def _records(access: KafkaAccess, topic: str, wait_seconds: float = 30.0) -> list[object]:
    """Every record of `topic`'s partition 0 once it has any (as `access`)."""
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(**access.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        found: list[object] = []
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=500)
            found += batch.get(tp, [])
            if found and await consumer.position(tp) >= (await consumer.end_offsets([tp]))[tp]:
                return found
        return found
    finally:
        await consumer.stop()


# ---- a whole exercise ----------------------------------------------------------------------


def test_an_exercise_runs_with_every_process_on_its_own_principal(
    broker: LocalBroker, topics: Topics, no_admin: Path, xdg: Path, tmp_path: Path
) -> None:
    """No process of the run may use the super user: the hub logs in as `hub`, the nodes
    as PL and DE, the clock and audit follower as `clock`, the report as `reader`; with
    `allow.everyone.if.no.acl.found=false` each could only have done its own part."""
    scenario = tmp_path / "secure_drill.yaml"
    scenario.write_text(SCENARIO)
    report = tmp_path / "report"
    result = _onestop(
        xdg, "exercise", "run", str(scenario),
        "--bootstrap", broker.bootstrap, "--credentials", str(no_admin),
        "--namespace", topics.namespace, "--partitions", "1", "--report", str(report),
        timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ended (settled)" in result.stdout and "2 answered" in result.stdout, result.stdout
    built = json.loads((report / "report.json").read_text())
    assert built["exercise"]["name"] == "Secure drill"
    assert built["chain"]["intact"], built["chain"]
    assert (report / "report.html").is_file()


def test_commands_find_the_credentials_of_the_secure_local_broker(
    broker: LocalBroker, topics: Topics, xdg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given only the address of a secure broker OneStop runs here, a command logs in with
    that broker's credentials.json, each part as its own principal."""
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg))
    assert local_credentials(broker.bootstrap) == broker.credentials_file
    found = resolve_logins(broker.bootstrap)
    assert found.secure and found.file == broker.credentials_file
    assert found.arguments() == ["--credentials", str(broker.credentials_file)]
    scenario = tmp_path / "secure_drill.yaml"
    scenario.write_text(SCENARIO)
    played = _onestop(
        xdg, "exercise", "run", str(scenario), "--bootstrap", broker.bootstrap,
        "--namespace", topics.namespace, "--partitions", "1", "--report", str(tmp_path / "r"),
        timeout=180,
    )  # fmt: skip
    assert played.returncode == 0, played.stdout + played.stderr
    assert (tmp_path / "r" / "report.json").is_file()
    verified = _onestop(
        xdg, "audit", "verify", "--bootstrap", broker.bootstrap, "--namespace", topics.namespace
    )
    assert verified.returncode == 0 and "audit trail intact" in verified.stdout, verified.stdout
    plain = _onestop(xdg, "audit", "verify", "--bootstrap", "127.0.0.1:1", "--namespace", "x")
    assert plain.returncode == 2 and "Traceback" not in plain.stderr  # no secure broker there


# ---- one party cannot act for another ------------------------------------------------------


async def test_pl_cannot_read_the_inbox_of_de_nor_write_its_outbox(
    logins: KafkaLogins, topics: Topics
) -> None:
    pl = logins.access("PL")
    with pytest.raises(TopicAuthorizationFailedError, match=re.escape(topics.inbox(DE))):
        await _subscribe(pl, topics.inbox(DE))
    with pytest.raises(TopicAuthorizationFailedError, match=re.escape(topics.outbox(DE))):
        await _send(pl, topics.outbox(DE), b"forged")
    # the broker's own answer about PL's rights (Metadata v8, authorized operations)
    rights = await topic_rights(pl, [topics.inbox(DE), topics.outbox(DE), topics.inbox(PL)])
    assert rights[topics.inbox(DE)][0] == rights[topics.outbox(DE)][0] == 29
    assert rights[topics.inbox(PL)][0] == 0
    # and the line a person reads
    with pytest.raises(AccessRefused) as refused:
        async with explained(pl, "read", topics.inbox(DE)):
            await _subscribe(pl, topics.inbox(DE))
    assert str(refused.value) == (
        f"Kafka refused principal 'PL' to read topic '{topics.inbox(DE)}': "
        "TopicAuthorizationFailedError, the broker's ACLs do not allow it"
    )
    with pytest.raises(AccessRefused, match=r"principal 'PL' to use consumer group '.*-node-DE'"):
        async with explained(pl, "read", topics.inbox(PL)):
            await _subscribe(pl, topics.inbox(PL), f"{topics.namespace}-node-DE")


def test_the_java_client_is_refused_the_same(logins: KafkaLogins, topics: Topics) -> None:
    """An independent client: Apache Kafka's own Java client (kafka-clients 4.1.1)."""
    java = shutil.which("java")
    if java is None:
        pytest.skip("no java on PATH")
    libs = ensure_kafka_libs(default_cache_dir())
    pl = logins.access("PL")
    assert pl.password is not None
    result = subprocess.run(
        [
            java, "-cp", f"{libs}/*", str(PROBE), pl.bootstrap,
            "as", "PL", pl.password,
            "read", topics.inbox(PL), "write", topics.outbox(PL),
            "read", topics.inbox(DE), "write", topics.outbox(DE), "write", topics.clock,
            "as", "PL", "wrong", "read", topics.inbox(PL),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if "source-file mode" in result.stderr or "jdk.compiler" in result.stderr:
        pytest.skip(f"this Java cannot run a source file: {result.stderr.strip()[:200]}")
    outcomes = [
        m.group(1)
        for m in re.finditer(r"^(PL (?:read|write) \S+ \S+)$", result.stdout, re.MULTILINE)
    ]
    assert outcomes == [
        f"PL read {topics.inbox(PL)} ok",
        f"PL write {topics.outbox(PL)} ok",
        f"PL read {topics.inbox(DE)} TopicAuthorizationException",
        f"PL write {topics.outbox(DE)} TopicAuthorizationException",
        f"PL write {topics.clock} TopicAuthorizationException",
        f"PL read {topics.inbox(PL)} SaslAuthenticationException",
    ], result.stdout + result.stderr


def test_kcat_is_refused_too_where_its_scram_works(logins: KafkaLogins, topics: Topics) -> None:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        pytest.skip("kcat is not installed (apt-get install kcat)")
    said = subprocess.run([kcat, "-V"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", said)
    version = tuple(int(part) for part in match.groups()) if match else (0,)
    if version < KCAT_SCRAM_MIN:
        pytest.skip(
            f"kcat links librdkafka {'.'.join(map(str, version))}, whose SCRAM client Kafka 4 "
            f"brokers reject (kcat issue 462); librdkafka 2.6.1 or newer is needed"
        )
    pl = logins.access("PL")
    denied = subprocess.run(
        [kcat, "-b", pl.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
         "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=PL",
         "-X", f"sasl.password={pl.password}", "-m", "5",
         "-C", "-t", topics.inbox(DE), "-o", "beginning", "-e"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "authoriz" in denied.stderr.lower(), denied.stderr


async def test_nodes_given_another_partys_inbox_fail_at_once(
    logins: KafkaLogins, topics: Topics
) -> None:
    """A node host whose DE node logs in as PL ends its start with the refusal, instead
    of waiting for partitions that never come."""
    host = NodeHost(
        logins.access("PL"),
        topics,
        {DE: NodeProfile()},
        party_access={DE: logins.access("PL")},
    )
    with pytest.raises(AccessRefused, match=re.escape(f"'PL' to read topic '{topics.inbox(DE)}'")):
        try:
            await asyncio.wait_for(host.start(), 30)
        finally:
            await host.stop()


def test_a_node_reading_another_partys_inbox_ends_with_one_line(
    broker: LocalBroker, topics: Topics, no_admin: Path, xdg: Path
) -> None:
    result = _onestop(
        xdg, "nodes", "DE", "--principal", "PL",
        "--bootstrap", broker.bootstrap, "--credentials", str(no_admin),
        "--namespace", topics.namespace, "--partitions", "1", "--metrics-port", "0",
    )  # fmt: skip
    line = _one_line(result)
    assert line == (
        f"error: Kafka refused principal 'PL' to read topic '{topics.inbox(DE)}': "
        "TopicAuthorizationFailedError, the broker's ACLs do not allow it; also refused: "
        f"write '{topics.outbox(DE)}'"
    )


# ---- passwords and the clock ---------------------------------------------------------------


async def test_a_wrong_password_is_refused_in_one_line(
    broker: LocalBroker, logins: KafkaLogins, topics: Topics, xdg: Path, tmp_path: Path
) -> None:
    assert logins.credentials is not None
    wrong = _write_credentials(tmp_path / "wrong.json", {**logins.credentials, "clock": "nope"})
    with pytest.raises(AccessRefused, match="principal 'clock' to log in"):
        await check_login(KafkaAccess(broker.bootstrap, "clock", "nope"))
    result = _onestop(
        xdg, "clock", "pause", "--bootstrap", broker.bootstrap, "--credentials", str(wrong),
        "--namespace", topics.namespace,
    )  # fmt: skip
    line = _one_line(result)
    assert line.startswith(
        f"error: Kafka refused principal 'clock' to log in at {broker.bootstrap}: "
        "SaslAuthenticationFailed"
    ), line
    assert "wrong password or unknown user" in line


async def test_a_node_cannot_steer_the_clock(
    broker: LocalBroker, logins: KafkaLogins, topics: Topics, no_admin: Path, xdg: Path
) -> None:
    command = clock_command(topics.namespace, ClockAction.PAUSE)
    with pytest.raises(AccessRefused, match=re.escape(f"'PL' to write topic '{topics.clock}'")):
        await publish_clock(logins.access("PL"), topics, command)
    result = _onestop(
        xdg, "clock", "pause", "--principal", "PL",
        "--bootstrap", broker.bootstrap, "--credentials", str(no_admin),
        "--namespace", topics.namespace,
    )  # fmt: skip
    assert _one_line(result) == (
        f"error: Kafka refused principal 'PL' to write topic '{topics.clock}': "
        "TopicAuthorizationFailedError, the broker's ACLs do not allow it"
    )
    # exercise control may
    assert await publish_clock(logins.access("clock"), topics, command) >= 0


# ---- the hub's claimed-sender check and the broker's ACL -----------------------------------


async def test_the_hub_and_the_broker_agree_on_who_may_speak_for_de(
    logins: KafkaLogins, no_admin: Path, tmp_path: Path
) -> None:
    """PL cannot write DE's outbox (the broker refuses), and a message on PL's own outbox
    that claims to come from DE is dead-lettered by the hub (`wrong_sender`): either way
    nothing reaches an inbox in DE's name. An honest request from PL is delivered."""
    names = Topics("h" + uuid.uuid4().hex[:10], partitions=1)
    await prepare_namespace(logins, names, [PL, DE])
    pl, de, reader = logins.access("PL"), logins.access("DE"), logins.access("reader")
    forged = encode(make_request("FORGED-1", DE, PL))  # claims DE, to PL
    with pytest.raises(AccessRefused, match=re.escape(f"'PL' to write topic '{names.outbox(DE)}'")):
        async with explained(pl, "write", names.outbox(DE)):
            await _send(pl, names.outbox(DE), forged.value or b"", forged.key, forged.headers)
    hub = HubProcess(
        logins.bootstrap, names, tmp_path, "--parties", "PL,DE", "--credentials", str(no_admin)
    )
    with hub:
        await wait_for_hub(logins.access("clock"), names)
        honest = encode(make_request("HONEST-1", PL, DE))
        for record in (forged, honest):
            await _send(pl, names.outbox(PL), record.value or b"", record.key, record.headers)
        delivered = await _records(de, names.inbox(DE))
        assert [b"HONEST-1" in (getattr(r, "value", b"") or b"") for r in delivered] == [True]
        dead = await _records(reader, names.deadletter)
        reasons = [dict(getattr(r, "headers", ())).get(DLQ_REASON) for r in dead]
        assert reasons == [b"wrong_sender"], hub.log()
        assert await _end_offset(pl, names.inbox(PL)) == 0  # nothing in DE's name


# ---- the console ---------------------------------------------------------------------------

DESK_SCENARIO = """\
name: Secure desk
rules: directive_2023_977
clock:
  start: 2026-03-02T08:00:00Z
  speed: 600
  end: 1d 00:00
  grace: "00:00"
seed: 11
nodes:
  PL:
    played_by: trainee
  DE: {}
injects:
  - id: from-de
    at: "00:05"
    from: DE
    to: PL
    subject: Registered keeper of vehicle B-XY-123 seen in Szczecin
"""


async def _until(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 60.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        found = await check()
        if found:
            return found
        assert loop.time() < deadline, f"never: {what}"
        await asyncio.sleep(0.25)


async def test_the_console_reads_steers_and_sends_each_as_its_own_principal(
    logins: KafkaLogins, no_admin: Path, tmp_path: Path
) -> None:
    """A console without the super user: its view reads as `reader`, its clock commands
    and notes go as `clock`, the PL trainee's answer as `PL`; the exercise ends settled
    and its report shows the answer and the note."""
    names = Topics("c" + uuid.uuid4().hex[:10], partitions=1)
    await prepare_namespace(logins, names, [PL, DE])
    running = start_console(
        logins.bootstrap,
        names.namespace,
        tmp_path,
        "--credentials",
        str(no_admin),
        "--partitions",
        "1",
    )
    headers = {"Authorization": f"Bearer {running.trainer_code}"}
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=30, headers=headers) as trainer:
            started = await trainer.post("/api/exercise", json={"text": DESK_SCENARIO})
            assert started.status_code == 202, started.text

            async def desk_code() -> str | None:
                desks = (await trainer.get("/api/desks")).json().get("desks", [])
                return next((d["code"] for d in desks if d["party"] == "PL" and d["code"]), None)

            code = await _until(desk_code, "a code for the PL desk")

            async def healthy() -> bool:  # as `reader`: groups, the hub's lag
                health = (await trainer.get("/api/status")).json()["health"]
                return bool(health["kafka"] and health["hub_members"])

            await _until(healthy, "the links seen healthy")
            for action in ("pause", "resume"):
                steered = await trainer.post(f"/api/clock/{action}", json={"reason": "a break"})
                assert steered.status_code == 204, steered.text
            noted = await trainer.post("/api/observations", json={"text": "a calm start"})
            assert noted.status_code == 201, noted.text
            async with httpx.AsyncClient(base_url=running.url, timeout=30) as desk:
                assert (await desk.post("/api/session", json={"code": code})).status_code == 200

                async def waiting() -> list[dict[str, Any]]:
                    inbox: list[dict[str, Any]] = (await desk.get("/api/desks/PL")).json()["inbox"]
                    return inbox

                (entry,) = await _until(waiting, "the request at the PL desk")
                answered = await desk.post(
                    "/api/desks/PL/answers",
                    json={"request_id": entry["request_id"], "kind": "reply",
                          "information": "Keeper: a rental company in Berlin"},
                )  # fmt: skip
                assert answered.status_code == 202, answered.text

            async def report() -> str | None:
                status = (await trainer.get("/api/status")).json()
                assert status["exercise"]["phase"] != "failed", status
                found: str | None = status["exercise"].get("report")
                return found if status["exercise"]["phase"] == "ended" else None

            path = await _until(report, "the report")
            built = (await trainer.get(path.replace("report.html", "report.json"))).json()
        (section,) = built["desks"]
        assert (section["party"], section["received"], section["answered"]) == ("PL", 1, 1)
        assert "a calm start" in json.dumps(built["timeline"]), running.log()
    finally:
        running.process.stop()
