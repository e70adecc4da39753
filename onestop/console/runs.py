"""Exercises started from the console: a scenario (shipped or uploaded) checked with the
same loader as `onestop exercise check`, played by the same runner as `onestop exercise
run` (it starts a hub and nodes when none run), ended by hand or by itself; the report is
written where the console serves it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Final

from onestop.console.models import (
    ExercisePhase,
    ExerciseStatus,
    FieldProblem,
    ScenarioCheck,
    ScenarioInfo,
)
from onestop.exercise.reporting import write_exercise_report
from onestop.exercise.runner import ExerciseError, ExerciseOptions, ExerciseRunner, Snapshot
from onestop.exercise.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from onestop.kafka.credentials import KafkaLogins
from onestop.paths import EXERCISES_DIR
from schemas.access import READER

log = logging.getLogger(__name__)
_PROBLEM: Final = re.compile(
    r"^(?P<source>[^:]*):(?P<line>\d+): (?:(?P<field>[^:]+): )?(?P<message>.*)$"
)
UPLOAD: Final = "uploaded scenario"


def shipped_scenarios(directory: Path = EXERCISES_DIR) -> list[ScenarioInfo]:
    """The scenarios that ship with OneStop, as the page lists them."""
    infos = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            scenario = load_scenario(path)
        except ScenarioError:
            continue
        infos.append(scenario_info(path.name, scenario))
    return infos


def scenario_info(file: str, scenario: Scenario) -> ScenarioInfo:
    """What the page shows of a scenario."""
    return ScenarioInfo(
        file=file,
        name=scenario.name,
        description=scenario.description.strip(),
        nodes=sorted(scenario.nodes),
        trainees=sorted(scenario.trainee_parties),
        injects=len(scenario.injects),
        speed=scenario.clock.speed,
        seed=scenario.seed,
        end=str(scenario.clock.end),
    )


def problems_of(error: ScenarioError) -> list[FieldProblem]:
    """A scenario error's lines (`file:line: field: what`) as problems for the page."""
    problems = []
    for line in str(error).splitlines():
        match = _PROBLEM.match(line)
        if match is None:
            problems.append(FieldProblem(message=line))
            continue
        problems.append(
            FieldProblem(line=int(match["line"]), field=match["field"], message=match["message"])
        )
    return problems


def check_text(text: str) -> tuple[Scenario | None, ScenarioCheck]:
    """An uploaded scenario, checked: the scenario and its check, or None and the
    problems with line and field."""
    try:
        scenario = parse_scenario(text, UPLOAD)
    except ScenarioError as exc:
        return None, ScenarioCheck(ok=False, problems=problems_of(exc))
    return scenario, ScenarioCheck(ok=True, name=scenario.name)


class ConsoleRuns:
    """At most one exercise played by this console at a time."""

    def __init__(
        self,
        logins: KafkaLogins,
        namespace: str,
        partitions: int,
        reports: Path,
        on_change: Callable[[ExerciseStatus], None],
    ) -> None:
        self.logins = logins
        self.namespace = namespace
        self.partitions = partitions
        self.reports = reports
        self.on_change = on_change
        self.status = ExerciseStatus(phase=ExercisePhase.IDLE)
        self.runner: ExerciseRunner | None = None
        self.scenario: Scenario | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        """An exercise of this console is starting or running."""
        return self._task is not None and not self._task.done()

    def _set(self, **changes: object) -> None:
        self.status = self.status.model_copy(update=changes)
        self.on_change(self.status)

    def start(self, scenario: Scenario, speed: float | None, seed: int | None) -> ExerciseStatus:
        """Start playing `scenario`; the status says how it goes."""
        if self.busy:
            raise ExerciseError("an exercise is already running; end it first")
        options = ExerciseOptions(
            bootstrap=self.logins.bootstrap,
            logins=self.logins,
            namespace=self.namespace,
            partitions=self.partitions,
            speed=speed,
            seed=seed,
        )
        runner = ExerciseRunner(scenario, options, on_snapshot=self._snapshot)
        self.runner, self.scenario = runner, scenario
        self.status = ExerciseStatus(
            phase=ExercisePhase.STARTING,
            scenario=scenario.name,
            run_id=runner.run_id,
            seed=runner.seed,
            speed=runner.speed,
            started_by_console=True,
            trainee_parties=sorted(scenario.trainee_parties),
        )
        self.on_change(self.status)
        self._task = asyncio.create_task(self._play(runner, scenario), name="console-exercise")
        return self.status

    def _snapshot(self, snapshot: Snapshot) -> None:
        phase = ExercisePhase.ENDING if snapshot.ending else ExercisePhase.RUNNING
        order = [ExercisePhase.STARTING, ExercisePhase.RUNNING, ExercisePhase.ENDING]
        if self.status.phase in order and order.index(phase) > order.index(self.status.phase):
            self._set(phase=phase)  # forward only: an end by hand is not undone

    async def _play(self, runner: ExerciseRunner, scenario: Scenario) -> None:
        try:
            result = await runner.run()
            directory = self.reports / result.run_id
            reader = self.logins.access(READER)
            await write_exercise_report(scenario, result, reader, directory)
        except Exception as exc:  # the page must hear of any failure, whatever it is
            log.exception("exercise %s failed", runner.run_id)
            self._set(phase=ExercisePhase.FAILED, error=str(exc) or type(exc).__name__)
            return
        self._set(
            phase=ExercisePhase.ENDED,
            ended_by=result.ended_by,
            report=f"/reports/{result.run_id}/report.html",
        )

    def end(self, reason: str, actor: str) -> None:
        """End the exercise of this console now."""
        if self.runner is None or not self.busy:
            raise ExerciseError("no exercise of this console is running")
        self.runner.end_now(reason, actor)
        self._set(phase=ExercisePhase.ENDING)

    async def stop(self) -> None:
        """The console is closing: end a running exercise and wait for it."""
        if self.busy and self.runner is not None:
            self.runner.end_now("the console was closed", "console")
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
