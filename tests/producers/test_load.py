"""The load generator against a real broker and a real hub: every message sent is accounted
for (delivered or dead-lettered, none lost), and the JSON report has every field. Timing
is not asserted: it depends on the machine."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from onestop.cli.load import load
from producers.load.generator import run_load
from producers.load.settings import LoadKind, LoadSettings
from schemas.enums import Country
from schemas.envelope import DLQ_REASON, header_map
from schemas.topics import Topics
from tests.support import HubProcess, create_topics, read_until

RESULT_FIELDS = {
    "sent",
    "delivered",
    "deadlettered",
    "errors",
    "duplicates",
    "missing",
    "unsent",
    "throughput",
    "offered_rate",
    "seconds",
    "latency_ms",
    "settings",
    "machine",
    "max_rate",
    "steps",
}
LATENCY_FIELDS = {"p50", "p90", "p99", "p99_9", "max"}
MACHINE_FIELDS = {"platform", "cpu_count", "memory_bytes", "python", "aiokafka", "kafka_broker"}


def _cli() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    app.command()(load)
    app.command("noop")(lambda: None)  # two commands: `load` stays a sub-command
    return app


def test_load_command_starts_a_hub_and_accounts_for_every_message(
    bootstrap: str, tmp_path: Path
) -> None:
    report = tmp_path / "load.json"
    outcome = CliRunner().invoke(
        _cli(),
        [
            "load",
            "--rate", "200",
            "--duration", "5",
            "--nodes", "3",
            "--mix", "request=0.8,spontaneous_information=0.2",
            "--bootstrap", bootstrap,
            "--json", str(report),
        ],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    data = json.loads(report.read_text())
    assert set(data) >= RESULT_FIELDS
    assert set(data["latency_ms"]) >= LATENCY_FIELDS
    assert set(data["machine"]) >= MACHINE_FIELDS
    assert data["namespace"].startswith("load-")
    assert data["sent"] == 1000
    assert data["errors"] == 0
    assert data["missing"] == 0
    assert data["sent"] == data["delivered"] + data["deadlettered"]
    assert data["deadlettered"] == 0
    assert data["settings"]["mix"] == {"request": 0.8, "spontaneous_information": 0.2}
    assert "Load on namespace" in outcome.output


async def test_bad_messages_are_dead_lettered_not_lost(
    bootstrap: str, namespace: str, tmp_path: Path
) -> None:
    topics = Topics(namespace, partitions=4)
    await create_topics(bootstrap, topics, list(Country))
    settings = LoadSettings(
        rate=100.0,
        duration=3.0,
        nodes=3,
        mix={LoadKind.REQUEST: 0.7, LoadKind.BAD: 0.3},
        seed=11,
    )
    with HubProcess(bootstrap, topics, tmp_path) as hub:
        result = await run_load(bootstrap, topics, settings, probe_seconds=120)
        assert result.missing == 0, hub.log()[-3000:]

    assert result.errors == 0
    assert result.sent == 300
    assert result.sent == result.delivered + result.deadlettered
    assert 0 < result.deadlettered < result.sent
    dead = await read_until(
        bootstrap, topics.deadletter, lambda records: len(records) >= result.deadlettered
    )
    assert len(dead) == result.deadlettered
    assert {header_map(r.headers)[DLQ_REASON] for r in dead} == {"invalid"}
