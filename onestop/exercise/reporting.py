"""The after-action report of one run: the facts of the run (seed actually used, run id,
speed, OneStop version), the audit trail read back from Kafka and checked, and the files."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from onestop.audit.report import build_report
from onestop.audit.report_html import write_report
from onestop.audit.report_model import Report
from onestop.audit.source import combined_report, load_audit, verify_trail
from onestop.exercise.runner import ExerciseResult
from onestop.exercise.scenario import Scenario
from schemas.access import KafkaTarget, client_options
from schemas.audit import exercise_iso
from schemas.observations import Observation
from schemas.topics import Topics


def onestop_version() -> str:
    """The installed OneStop version."""
    try:
        return metadata.version("onestop")
    except metadata.PackageNotFoundError:
        return "unknown"


def run_facts(scenario: Scenario, result: ExerciseResult) -> dict[str, Any]:
    """What was run: shown at the top of the report and kept in report.json."""
    return {
        "name": scenario.name,
        "rules": scenario.rules.value,
        "run_id": result.run_id,
        "namespace": result.namespace,
        "seed": result.seed,
        "speed": result.speed,
        "onestop_version": onestop_version(),
        "start": exercise_iso(result.exercise_start),
        "end": exercise_iso(result.exercise_end),
        "ended_by": result.ended_by,
        "unsettled_at_close": result.unsettled,
        "trainees": sorted(p.value for p in scenario.trainee_parties),
    }


async def read_observations(
    bootstrap: KafkaTarget, topic: str, exercise_id: str
) -> list[Observation]:
    """The observations written during the exercise `exercise_id`, in order."""
    consumer = AIOKafkaConsumer(**client_options(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        end = (await consumer.end_offsets([tp]))[tp]  # before a fetch waits on the broker
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        found: list[Observation] = []
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            for record in batch.get(tp, []):
                try:
                    note = Observation.model_validate_json(record.value or b"")
                except ValidationError:
                    continue  # not an observation: another writer's record
                if note.exercise_id == exercise_id:
                    found.append(note)
        return found
    finally:
        await consumer.stop()


async def exercise_report(
    scenario: Scenario, result: ExerciseResult, bootstrap: KafkaTarget
) -> Report:
    """The report of `result`, its chain checked on the audit topic as Kafka holds it, the
    control team's observations on its timeline. `bootstrap`: on a secure broker, the
    ``reader`` principal's access."""
    topics = Topics(result.namespace)
    trail = await load_audit(topics.audit, bootstrap)
    chain = combined_report(verify_trail(trail))
    observations = await read_observations(bootstrap, topics.observations, result.run_id)
    return build_report(
        result.records,
        exercise=run_facts(scenario, result),
        chain=chain,
        observations=observations,
        trainees=scenario.trainee_parties,
    )


async def write_exercise_report(
    scenario: Scenario, result: ExerciseResult, bootstrap: KafkaTarget, directory: Path
) -> tuple[Report, Path, Path]:
    """Build the report of `result` and write report.json and report.html to `directory`."""
    report = await exercise_report(scenario, result, bootstrap)
    json_path, html_path = write_report(report, directory)
    return report, json_path, html_path
