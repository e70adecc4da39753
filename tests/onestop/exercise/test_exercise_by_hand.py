"""A small exercise whose figures were worked out by hand, played on the in-memory exchange
(the hub's core and the simulated nodes, no broker): the report must match exactly
(limits and deadlines, outcomes, on-time flags, answer times, Art. 18 counts).

By hand, with answer times fixed (no randomness) and the Directive's limits:
  a  PL->LT urgent direct      LT answers after 2 h      limit 8 h    answered, on time
  b  PL->LT urgent indirect    LT answers after 2 h      limit 3 d    answered, on time
  c  LT->PL non-urgent direct  PL refuses (ground a)     limit 7 d    refused, on time
  d  PL->LV urgent direct      LV answers after 10 h     limit 8 h    answered late (overdue)
  e  LT->EE urgent direct      EE: delay notice, court order 24 h, answers after 25 h: on
                               time (its clock is suspended), but past its original 8 h
                               deadline because of judicial authorisation (Art. 18)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onestop.audit.report import build_report
from onestop.exercise.scenario import Scenario
from tests.memory_exchange import play_in_memory

START = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
FIXED = {
    "refusal_share": 0,
    "clarification_share": 0,
    "judicial_share": 0,
    "partial_share": 0,
    "acknowledge": False,
}


def minutes(n: float) -> dict[str, float]:
    return {"median_minutes": n, "sigma": 0}


SCENARIO = {
    "name": "worked by hand",
    "clock": {"start": START, "speed": 7_200, "end": "3d"},
    "nodes": {
        "PL": {"profile": FIXED | {"refusal_share": 1.0,
                                   "refusal_grounds": {"a_not_available": 1.0},
                                   "answer_time": minutes(30)}},
        "LT": {"profile": FIXED | {"answer_time": minutes(120),
                                   "urgent_answer_time": minutes(120)}},
        "LV": {"profile": FIXED | {"urgent_answer_time": minutes(600)}},
        "EE": {"profile": FIXED | {"judicial_share": 1.0, "judicial_delay_hours": 24,
                                   "urgent_answer_time": minutes(60)}},
    },
    "injects": [
        {"id": "a", "at": "00:10", "from": "PL", "to": "LT", "urgency": "urgent",
         "urgency_reason": "threat to life", "accessibility": "direct"},
        {"id": "b", "at": "00:20", "from": "PL", "to": "LT", "urgency": "urgent",
         "urgency_reason": "threat to life", "accessibility": "indirect"},
        {"id": "c", "at": "00:30", "from": "LT", "to": "PL"},
        {"id": "d", "at": "00:40", "from": "PL", "to": "LV", "urgency": "urgent",
         "urgency_reason": "arrest pending", "accessibility": "direct"},
        {"id": "e", "at": "00:50", "from": "LT", "to": "EE", "urgency": "urgent",
         "urgency_reason": "arrest pending", "accessibility": "direct"},
    ],
}  # fmt: skip
EXPECTED = {
    # inject: (limit hours, outcome, on time, delayed, exceeded for judicial auth., grounds)
    "a": (8, "answered", True, False, False, []),
    "b": (72, "answered", True, False, False, []),
    "c": (168, "refused", True, False, False, ["a_not_available"]),
    "d": (8, "answered", False, False, False, []),
    "e": (8, "answered", True, True, True, []),
}
ANSWER_HOURS = {"a": 2, "b": 2, "c": 0.5, "d": 10, "e": 25}


async def test_report_matches_the_figures_worked_out_by_hand() -> None:
    scenario = Scenario.model_validate(SCENARIO)
    played = await play_in_memory(scenario, run_id="hand")
    report = build_report(played.records)

    assert played.ended_by == "settled"
    rows = {r.request_id.removeprefix("hand."): r for r in report.requests}
    assert set(rows) == set(EXPECTED)
    for inject, (limit, outcome, on_time, delayed, judicial, grounds) in EXPECTED.items():
        row = rows[inject]
        received = datetime.fromisoformat(row.received_at)
        assert row.limit_hours == limit, inject
        assert row.original_deadline is not None
        assert datetime.fromisoformat(row.original_deadline) == received + timedelta(hours=limit)
        assert row.deadline == row.original_deadline, inject
        assert (row.outcome, row.on_time, row.delayed) == (outcome, on_time, delayed), inject
        assert row.exceeded_for_judicial_authorisation is judicial, inject
        assert row.refusal_grounds == grounds, inject
        # Fixed answer times, timed from the hub's receipt: exactly as planned.
        assert row.answer_hours == pytest.approx(ANSWER_HOURS[inject], abs=0.001), inject
    assert rows["d"].overdue_flagged and not rows["a"].overdue_flagged

    summary = report.summary
    assert (summary.requests, summary.answered, summary.refused) == (5, 4, 1)
    assert (summary.on_time, summary.late, summary.open, summary.delayed) == (4, 1, 0, 1)

    art18 = {c.country: c for c in report.art18.countries}
    assert {c: art18[c].requests_sent for c in art18} == {
        "PL": 3, "LT": 2, "LV": 0, "EE": 0,
    }  # fmt: skip
    assert art18["LT"].requests_received.urgent == 2
    assert art18["LT"].requests_answered_by_requester["PL"].urgent == 2
    assert art18["PL"].requests_received.non_urgent == 1
    assert art18["PL"].requests_answered.total == 0
    assert art18["PL"].refusals == 1
    assert art18["PL"].refusals_by_ground == {"a_not_available": 1}
    assert art18["LV"].requests_answered.urgent == 1
    assert art18["EE"].judicial_delays == 1
    assert art18["EE"].time_limits_exceeded_judicial == 1
    totals = report.art18.totals
    assert (totals.requests_sent, totals.requests_received.urgent) == (5, 4)
    assert (totals.requests_answered.total, totals.refusals) == (4, 1)
