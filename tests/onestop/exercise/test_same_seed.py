"""Same seed, same exercise, checked without a broker: every shipped scenario played twice
in memory under different run ids gives exactly the same figures (answer times included),
and another seed gives another exercise. The real-broker version of this check is in
`test_exercise_runs.py`, which also compares the broker's figures with these."""

from __future__ import annotations

from pathlib import Path

import pytest

from onestop.audit.report import build_report
from onestop.exercise.replay import differences, run_figures
from onestop.exercise.scenario import load_scenario
from onestop.paths import EXERCISES_DIR
from tests.memory_exchange import play_in_memory

SCENARIOS = sorted(EXERCISES_DIR.glob("*.yaml"))
EXACT = 0.0  # no wall clock in memory: no tolerance


@pytest.mark.parametrize("scenario_file", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_two_plays_with_one_seed_are_the_same_exercise(scenario_file: Path) -> None:
    scenario = load_scenario(scenario_file)
    first = await play_in_memory(scenario, run_id="drill-20261202090000")
    again = await play_in_memory(scenario, run_id="drill-20261203143000")

    a = run_figures(build_report(first.records), "drill-20261202090000")
    b = run_figures(build_report(again.records), "drill-20261203143000")
    assert differences(a, b, speed=EXACT) == []
    assert a.answer_hours == b.answer_hours
    assert a.requests, "the exercise has requests"


async def test_another_seed_is_another_exercise() -> None:
    scenario = load_scenario(EXERCISES_DIR / "baltic_siena_drill.yaml")
    seven = run_figures(build_report((await play_in_memory(scenario, seed=7)).records), "run")
    eight = run_figures(build_report((await play_in_memory(scenario, seed=8)).records), "run")

    assert differences(seven, eight, speed=EXACT) != []
