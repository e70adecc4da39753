"""The fault suite's short versions (`make faults` runs the long ones): against real
processes on a real broker, nothing sent is lost, every duplicate is recognised, the audit
chain verifies and the Art. 18 counts match what was sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from onestop.faults.cases import SHORT, broker_restart, node_kill, outage, workers
from onestop.faults.harness import CaseResult

pytestmark = pytest.mark.kafka  # every case runs on a real broker (some on their own)


def check(result: CaseResult, record_property: Callable[[str, object], None]) -> None:
    record_property("fault_case", result.__dict__)
    print(f"\n{result}")
    assert result.lost == 0, result
    assert result.chain_intact, result
    assert result.art18_matches, result
    assert result.delivered + result.deadlettered == result.sent, result


@pytest.mark.parametrize("repetition", [1, 2])
async def test_two_workers_one_killed_one_added_lose_nothing(
    bootstrap: str, tmp_path: Path, repetition: int, record_property: Callable[[str, object], None]
) -> None:
    check(await workers(bootstrap, tmp_path, SHORT), record_property)


async def test_a_broker_stopped_and_started_again_loses_nothing(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    result = await broker_restart("unused: the case runs a broker of its own", tmp_path, SHORT)
    check(result, record_property)
    assert result.recovery_seconds is not None


async def test_killed_nodes_answer_everything_once_after_their_restart(
    bootstrap: str, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    result = await node_kill(bootstrap, tmp_path, SHORT)
    check(result, record_property)
    assert result.notes == "0 unanswered, 0 answered twice"


async def test_requests_in_a_siena_outage_fall_back_under_art_13c(
    bootstrap: str, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    result = await outage(bootstrap, tmp_path, SHORT)
    check(result, record_property)
    assert result.notes == "fallbacks as Art. 13(c) says"
