"""The shipped scenarios run to their end on a real broker, and the same seed plays the
same exercise twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from onestop.audit.report import Report, build_report
from onestop.audit.source import combined_report, load_audit, verify_trail
from onestop.exercise.runner import ExerciseOptions, ExerciseResult, ExerciseRunner
from onestop.exercise.scenario import load_scenario
from onestop.paths import EXERCISES_DIR

EXERCISES = EXERCISES_DIR
SCENARIOS = sorted(EXERCISES.glob("*.yaml"))


async def play(
    bootstrap: str, scenario_file: Path, namespace: str, run_id: str
) -> tuple[ExerciseResult, Report]:
    """Run one scenario in its own namespace; return the result and its report."""
    scenario = load_scenario(scenario_file)
    runner = ExerciseRunner(
        scenario, ExerciseOptions(bootstrap=bootstrap, namespace=namespace, run_id=run_id)
    )
    result = await runner.run()
    trail = await load_audit(f"{namespace}.audit", bootstrap)
    chain = combined_report(verify_trail(trail))
    return result, build_report(result.records, exercise={"name": scenario.name}, chain=chain)


def figures(report: Report, run_id: str) -> dict[str, Any]:
    """What must not change between two runs with one seed: outcomes per inject, counts,
    on-time flags, refusals and the Art. 18 counts (times move with wall-clock jitter)."""
    rows = {
        r.request_id.removeprefix(f"{run_id}."): (r.kind, r.from_, r.to, r.channel,
                                                  r.outcome, r.on_time, tuple(r.refusal_grounds))
        for r in report.requests
    }  # fmt: skip
    summary = report.summary.model_dump(exclude={"as_of", "first_received_at"})
    art18 = report.art18.model_dump(exclude={"as_of"})
    return {"requests": rows, "summary": summary, "art18": art18}


@pytest.mark.parametrize("scenario_file", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_shipped_scenario_runs_to_the_end(
    bootstrap: str, namespace: str, scenario_file: Path
) -> None:
    result, report = await play(bootstrap, scenario_file, namespace, "run1")

    assert result.ended_by == "settled"
    assert result.started_hub
    scenario = load_scenario(scenario_file)
    assert set(result.outcomes) == {i.id for i in scenario.injects}
    assert report.chain.intact, report.chain.faults
    assert report.summary.rejected == 0
    one_way = {"spontaneous_information", "interpol_notice", "interpol_diffusion"}
    for inject in scenario.injects:
        if inject.kind.value not in one_way:
            assert result.outcomes[inject.id] in ("answered", "refused"), inject.id


async def test_same_seed_gives_the_same_figures(bootstrap: str, namespace: str) -> None:
    baltic = EXERCISES / "baltic_siena_drill.yaml"

    _, first = await play(bootstrap, baltic, f"{namespace}a", "same")
    _, second = await play(bootstrap, baltic, f"{namespace}b", "same")

    assert figures(first, "same") == figures(second, "same")
    assert len(first.requests) > len(load_scenario(baltic).injects)  # background traffic too
