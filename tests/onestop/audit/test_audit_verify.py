"""`onestop audit verify`, `export`, `stats` and `report` against a real broker: a real hub
writes a clean trail for a few requests, then the trail is checked as written and after
each kind of tampering (an altered field, a removed record, a forged record inserted, two
records swapped), both from a JSONL file and from a Kafka topic."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from typer.testing import CliRunner, Result

from onestop.audit.source import (
    AuditTrail,
    TrailEntry,
    combined_report,
    is_file_source,
    load_audit,
    read_jsonl,
    verify_trail,
    write_jsonl,
)
from onestop.cli.audit import audit_app, report, stats
from producers.host import NodeHost
from schemas.audit import AuditRecord, record_hash
from schemas.enums import Accessibility, Country, Urgency
from schemas.messages import Request
from schemas.profiles import AnswerTime, NodeProfile
from schemas.topics import Topics
from tests.support import HubProcess, create_topics, read_until, start_clock, wait_for_hub
from tests.trails import worked_scenario

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PARTITIONS = 4
ANSWERS = NodeProfile(
    answer_time=AnswerTime(median_minutes=60, sigma=0),
    urgent_answer_time=AnswerTime(median_minutes=60, sigma=0),
    refusal_share=0,
    clarification_share=0,
    judicial_share=0,
    partial_share=0,
    acknowledge=False,
)
REFUSES = ANSWERS.model_copy(update={"refusal_share": 1.0})
# PL answers what it receives, LT refuses: two requests each way.
REQUESTS = [("pl-1", Country.PL), ("pl-2", Country.PL), ("lt-1", Country.LT), ("lt-2", Country.LT)]
# Two records per request (its opening, its answer) and the exercise control of the start.
RECORDS = 2 * len(REQUESTS) + 1


@dataclass
class CleanTrail:
    """The trail a real hub wrote, and where."""

    bootstrap: str
    topics: Topics
    trail: AuditTrail
    workdir: Path


def cli() -> typer.Typer:
    """The commands as `onestop/cli.py` mounts them."""
    app = typer.Typer()
    app.add_typer(audit_app, name="audit")
    app.command()(stats)
    app.command()(report)
    return app


def audit_mounted() -> bool:
    """Whether `onestop/cli.py` has the audit sub-app (then `python -m onestop audit`)."""
    from onestop.cli import app as main_app

    return "audit" in {group.name for group in main_app.registered_groups}


def said(result: Result) -> str:
    """What a person saw, with rich's line wrapping undone."""
    return " ".join(result.output.split())


async def invoke(*args: str) -> Result:
    """Run the CLI in a thread: its commands run their own event loop."""

    def run() -> Result:
        return CliRunner().invoke(cli(), list(args))

    return await asyncio.to_thread(run)


@pytest.fixture(scope="module")
async def clean(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> CleanTrail:
    namespace = "t" + uuid.uuid4().hex[:10]
    topics = Topics(namespace, partitions=PARTITIONS)
    workdir = tmp_path_factory.mktemp("audit-verify")
    await create_topics(bootstrap, topics, [Country.PL, Country.LT])
    await start_clock(bootstrap, topics, START, 3600)
    host = NodeHost(bootstrap, topics, {Country.PL: ANSWERS, Country.LT: REFUSES}, seed=3)
    with HubProcess(bootstrap, topics, workdir) as hub:
        await wait_for_hub(bootstrap, topics)
        await host.start()
        try:
            for request_id, sender in REQUESTS:
                recipient = Country.LT if sender is Country.PL else Country.PL
                await host.nodes[sender].send(
                    Request(
                        message_id=request_id,
                        case_id=f"case-{request_id}",
                        request_id=request_id,
                        sender=sender,
                        recipient=recipient,
                        language="en",
                        sent_at=host.clock.now(),
                        urgency=Urgency.NON_URGENT,
                        accessibility=Accessibility.DIRECT,
                        subject=f"vehicle check {request_id}",
                    )
                )
            sent = [host.nodes[s].sent[r] for r, s in REQUESTS]
            for _ in range(900):
                if all(s.status in ("answered", "refused") for s in sent):
                    break
                await asyncio.sleep(0.1)
            assert all(s.status in ("answered", "refused") for s in sent), hub.log()[-3000:]
        finally:
            await host.stop()
        # every request: received, delivered, settled, delivered; and the clock's start
        await read_until(bootstrap, topics.audit, lambda rs: len(rs) >= RECORDS)
    trail = await load_audit(topics.audit, bootstrap)
    return CleanTrail(bootstrap, topics, trail, workdir)


# ---- tampering ---------------------------------------------------------------------------


def longest_partition(trail: AuditTrail) -> tuple[int, list[AuditRecord]]:
    partition = max(trail.partitions, key=lambda p: (len(trail.partitions[p]), -p))
    return partition, trail.partition_records(partition)


def alter(records: list[AuditRecord], i: int) -> tuple[list[AuditRecord], list[str]]:
    altered = records[i].model_copy(update={"justification": "nothing happened here"})
    return (
        [*records[:i], altered, *records[i + 1 :]],
        [f"record #{i} ({records[i].record_id}): content does not match its hash (altered)"],
    )


def remove(records: list[AuditRecord], i: int) -> tuple[list[AuditRecord], list[str]]:
    return (
        [*records[:i], *records[i + 1 :]],
        [
            f"record #{i} ({records[i + 1].record_id}): sequence {i + 1}, expected {i}; "
            "previous-hash link does not match the record before it"
        ],
    )


def insert(records: list[AuditRecord], i: int) -> tuple[list[AuditRecord], list[str]]:
    # A careful forger: right sequence number, linked to the record before, hash computed.
    placed = records[i].model_copy(
        update={
            "record_id": "forged/answered",
            "justification": "reply that was never sent",
            "seq": i,
            "prev_hash": records[i - 1].hash,
        }
    )
    forged = placed.model_copy(update={"hash": record_hash(placed)})
    return (
        [*records[:i], forged, *records[i:]],
        [
            f"record #{i + 1} ({records[i].record_id}): sequence {i}, expected {i + 1}; "
            "previous-hash link does not match the record before it"
        ],
    )


def swap(records: list[AuditRecord], i: int) -> tuple[list[AuditRecord], list[str]]:
    return (
        [*records[:i], records[i + 1], records[i], *records[i + 2 :]],
        [
            f"record #{i} ({records[i + 1].record_id}): sequence {i + 1}, expected {i}",
            f"record #{i + 1} ({records[i].record_id}): sequence {i}, expected {i + 2}",
        ],
    )


Tampering = Callable[[list[AuditRecord], int], tuple[list[AuditRecord], list[str]]]
TAMPERINGS: dict[str, Tampering] = {
    "alter": alter,
    "remove": remove,
    "insert": insert,
    "swap": swap,
}


def tampered(clean: CleanTrail, how: Tampering) -> tuple[AuditTrail, list[str]]:
    """The clean trail with its longest partition tampered in the middle, and the fault
    lines `verify` must print."""
    partition, records = longest_partition(clean.trail)
    assert len(records) >= 4
    middle = len(records) // 2
    changed, faults = how(records, middle)
    trail = AuditTrail(source="tampered")
    for p in sorted(clean.trail.partitions):
        chosen = changed if p == partition else clean.trail.partition_records(p)
        trail.partitions[p] = [TrailEntry(raw=r.model_dump_json(), record=r) for r in chosen]
    return trail, [f"partition {partition}, {fault}" for fault in faults]


async def produce(bootstrap: str, topic: str, trail: AuditTrail) -> None:
    """`trail` written to a new `topic` with the same partitions, each in order."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for partition, entries in sorted(trail.partitions.items()):
            for entry in entries:
                await producer.send_and_wait(
                    topic, value=entry.raw.encode(), key=b"audit", partition=partition
                )
    finally:
        await producer.stop()


# ---- tests -----------------------------------------------------------------------------


class TestCleanTrail:
    async def test_the_hub_s_trail_is_intact(self, clean: CleanTrail) -> None:
        result = await invoke(
            "audit", "verify", "--bootstrap", clean.bootstrap, "--namespace",
            clean.topics.namespace,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "audit trail intact" in result.output
        assert clean.trail.entry_count() == RECORDS

    async def test_source_names_the_topic(self, clean: CleanTrail) -> None:
        result = await invoke(
            "audit", "verify", "--bootstrap", clean.bootstrap, "--source", clean.topics.audit
        )
        assert result.exit_code == 0, result.output
        assert f"audit trail {clean.topics.audit}" in result.output

    async def test_export_then_verify_the_file(self, clean: CleanTrail, tmp_path: Path) -> None:
        exported = tmp_path / "trail.jsonl"
        result = await invoke(
            "audit", "export", str(exported), "--bootstrap", clean.bootstrap,
            "--source", clean.topics.audit,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        lines = exported.read_text().splitlines()
        assert len(lines) == RECORDS
        assert [AuditRecord.model_validate_json(line) for line in lines] == clean.trail.records()
        result = await invoke("audit", "verify", "--source", str(exported))
        assert result.exit_code == 0, result.output
        assert (await load_audit(str(exported), None)).records() == clean.trail.records()

    async def test_stats_and_report_from_the_topic(self, clean: CleanTrail, tmp_path: Path) -> None:
        stats_file = tmp_path / "art18.json"
        result = await invoke(
            "stats", "--bootstrap", clean.bootstrap, "--source", clean.topics.audit,
            "--json", str(stats_file),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        figures = json.loads(stats_file.read_text())
        assert figures["totals"]["requests_sent"] == 4
        assert figures["totals"]["requests_answered"]["non_urgent"] == 2
        assert figures["totals"]["refusals"] == 2
        result = await invoke(
            "report", clean.topics.audit, "--bootstrap", clean.bootstrap,
            "--out", str(tmp_path / "report"),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        built = json.loads((tmp_path / "report" / "report.json").read_text())
        assert built["summary"]["requests"] == 4
        assert (built["summary"]["answered"], built["summary"]["refused"]) == (2, 2)
        assert built["chain"]["intact"] is True
        assert {r["request_id"]: r["outcome"] for r in built["requests"]} == {
            "lt-1": "answered",
            "lt-2": "answered",
            "pl-1": "refused",
            "pl-2": "refused",
        }
        assert (tmp_path / "report" / "report.html").read_text().startswith("<!DOCTYPE html>")

    @pytest.mark.skipif(
        not audit_mounted(), reason="onestop/cli.py does not mount the audit commands yet"
    )
    def test_as_a_person_runs_it(self, clean: CleanTrail) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "onestop", "audit", "verify", "--bootstrap", clean.bootstrap,
             "--source", clean.topics.audit],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "audit trail intact" in done.stdout


@pytest.mark.parametrize("kind", list(TAMPERINGS))
class TestTampering:
    async def test_in_a_file(self, clean: CleanTrail, kind: str, tmp_path: Path) -> None:
        trail, faults = tampered(clean, TAMPERINGS[kind])
        path = tmp_path / f"{kind}.jsonl"
        write_jsonl(trail, path)
        result = await invoke("audit", "verify", "--source", str(path))
        assert result.exit_code == 1, result.output
        assert "audit trail broken" in result.output
        for fault in faults:
            assert fault in result.output

    async def test_in_a_topic(self, clean: CleanTrail, kind: str) -> None:
        trail, faults = tampered(clean, TAMPERINGS[kind])
        topic = f"{clean.topics.namespace}.tampered.{kind}"
        await produce(clean.bootstrap, topic, trail)
        result = await invoke("audit", "verify", "--bootstrap", clean.bootstrap, "--source", topic)
        assert result.exit_code == 1, result.output
        for fault in faults:
            assert fault in result.output


class TestBadInput:
    async def test_a_missing_file(self, tmp_path: Path) -> None:
        missing = tmp_path / "nowhere.jsonl"
        result = await invoke("audit", "verify", "--source", str(missing))
        assert result.exit_code == 2
        assert f"audit file {missing} does not exist" in said(result)
        assert "Traceback" not in result.output

    async def test_a_missing_topic(self, bootstrap: str) -> None:
        result = await invoke("audit", "verify", "--bootstrap", bootstrap, "--namespace", "tnone")
        assert result.exit_code == 2
        assert "audit topic tnone.audit does not exist" in said(result)
        assert "Traceback" not in result.output

    async def test_a_line_that_is_not_a_record(self, tmp_path: Path) -> None:
        path = tmp_path / "garbage.jsonl"
        path.write_text('{"record_id": "x/received", "partition": 0}\n')
        result = await invoke("audit", "verify", "--source", str(path))
        assert result.exit_code == 1
        assert "partition 0, record #0 (x/received): not a valid audit record" in result.output


class TestTrailFiles:
    """The file side of `audit_source`, no broker needed."""

    def test_what_is_a_file_and_what_a_topic(self, tmp_path: Path) -> None:
        assert is_file_source("trail.jsonl")
        assert is_file_source(str(tmp_path))
        assert is_file_source("exports/trail")
        assert not is_file_source("onestop.audit")

    def test_a_written_trail_reads_back_the_same(self, tmp_path: Path) -> None:
        records = worked_scenario().records
        trail = AuditTrail(source="built")
        for record in records:
            trail.add(record.partition, TrailEntry(raw=record.model_dump_json(), record=record))
        path = tmp_path / "trail.jsonl"
        assert write_jsonl(trail, path) == len(records)
        again = read_jsonl(path)
        assert again.partitions == trail.partitions
        assert sorted(again.records(), key=records.index) == records
        reports = verify_trail(again)
        assert all(r.intact for r in reports.values())
        assert combined_report(reports).duplicates == 2

    def test_an_unreadable_line_is_a_fault_at_its_own_position(self, tmp_path: Path) -> None:
        records = [r for r in worked_scenario().records if r.partition == 1]
        lines = [r.model_dump_json() for r in records]
        lines[2] = lines[2].replace('"seq":2', '"seq":"two"')
        path = tmp_path / "trail.jsonl"
        path.write_text("\n".join(lines) + "\n")
        (report,) = verify_trail(read_jsonl(path)).values()
        assert report.records == len(records)
        assert [(f.position, f.record_id) for f in report.faults] == [
            (2, records[2].record_id),
            (3, records[3].record_id),
        ]
        assert report.faults[0].problem.startswith("not a valid audit record: seq")
        assert "previous-hash link" in report.faults[1].problem
