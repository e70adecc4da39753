"""The shipped scenarios run to their end on a real broker, and a scenario played twice with
one seed, back to back on one broker and namespace, is the same exercise (and the one the
in-memory exchange plays), and the report records the seed the trainer chose (that another
seed gives another exercise is checked in memory, test_same_seed.py). The runs are played eight
times faster than shipped: what makes the exercise the same (decisions drawn from the seed
and the scenario's names, messages stamped with their planned moment) does not depend on
the clock's speed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from onestop.audit.report import build_report
from onestop.audit.report_model import Report
from onestop.audit.statistics import BOUND
from onestop.exercise.replay import differences, run_figures
from onestop.exercise.reporting import exercise_report
from onestop.exercise.runner import ExerciseOptions, ExerciseResult, ExerciseRunner
from onestop.exercise.scenario import load_scenario
from onestop.paths import EXERCISES_DIR
from schemas.enums import Outcome
from schemas.messages import ONE_WAY_KINDS
from tests.memory_exchange import play_in_memory

# A scenario with a trainee desk needs a person at the desk: its tests are the console's.
SCENARIOS = sorted(p for p in EXERCISES_DIR.glob("*.yaml") if not load_scenario(p).trainee_parties)
FASTER = 8
SEED = 7  # none of the shipped scenarios' own


@dataclass(frozen=True)
class Run:
    result: ExerciseResult
    report: Report


async def play(bootstrap: str, namespace: str, scenario_file: Path, seed: int | None) -> Run:
    """One run with the default run id (made from the wall clock), in `namespace`."""
    scenario = load_scenario(scenario_file)
    options = ExerciseOptions(
        bootstrap=bootstrap,
        namespace=namespace,
        speed=scenario.clock.speed * FASTER,
        seed=seed,
    )
    result = await ExerciseRunner(scenario, options).run()
    return Run(result, await exercise_report(scenario, result, bootstrap))


@pytest.mark.parametrize("scenario_file", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_a_scenario_played_twice_on_one_namespace_is_the_same_exercise(
    bootstrap: str,
    namespace: str,
    scenario_file: Path,
    record_property: Callable[[str, object], None],
) -> None:
    scenario = load_scenario(scenario_file)
    # A seed of the trainer's own, not the scenario's: the report must record it.
    first = await play(bootstrap, namespace, scenario_file, SEED)
    second = await play(bootstrap, namespace, scenario_file, SEED)

    assert first.result.run_id != second.result.run_id
    a = run_figures(first.report, first.result.run_id)
    b = run_figures(second.report, second.result.run_id)
    assert differences(a, b, first.result.speed) == []
    # ... and the same exercise as the in-memory exchange plays (hub core, nodes, no Kafka).
    memory = run_figures(build_report((await play_in_memory(scenario, seed=SEED)).records), "run")
    assert differences(a, memory, first.result.speed) == []
    assert a.requests.keys() >= {i.id for i in scenario.injects if i.kind not in ONE_WAY_KINDS}
    pairs = [(a.answer_hours[k], b.answer_hours.get(k)) for k in a.answer_hours]
    spread = max((abs(x - y) for x, y in pairs if x is not None and y is not None), default=0.0)
    record_property("answer_time_spread_hours", spread)

    for run in (first, second):
        result, report = run.result, run.report
        assert result.ended_by in ("settled", "end time")
        assert result.unsettled == 0
        assert report.chain.intact, report.chain.faults
        assert report.summary.rejected == 0
        assert report.exercise["seed"] == SEED != scenario.seed
        assert report.exercise["run_id"] == result.run_id
        # The Art. 18 tables hold Member States only; the others have a table of their own.
        outside = {p.value for p in scenario.nodes if p not in BOUND}
        assert outside.isdisjoint(c.country for c in report.art18.countries)
        counterparts = {row.counterpart for row in report.outside_rule_set}
        assert counterparts <= outside
        if scenario_file.stem == "empact_action_day":
            assert counterparts == {"CO", "EUROPOL"}
        for inject in scenario.injects:
            if inject.kind not in ONE_WAY_KINDS and inject.after is None:
                assert result.outcomes[inject.id] in (Outcome.ANSWERED, Outcome.REFUSED)
