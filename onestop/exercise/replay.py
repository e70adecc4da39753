"""What "the same exercise" means, as figures to compare between runs (pure, no I/O).

Two runs of a scenario with one seed must agree on every request (named by its place in the
scenario: the inject id or the background sequence number, not the run id): its parties,
kind, urgency, accessibility, channel and limit, its outcome and on-time verdict, refusal
grounds, clarifications and delays; on the summary counts and the Art. 18 tables. Answer
times must agree within a tolerance: exercise time moves with wall time, and Kafka
timestamps have millisecond resolution, so a compressed clock blurs them a little.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from onestop.audit.report_model import Report

#: Wall seconds of timestamp resolution an answer time may differ by (two timestamps of
#: a millisecond each, and their rounding).
WALL_TOLERANCE_SECONDS: Final = 0.004


@dataclass(frozen=True)
class RunFigures:
    """The figures of one run that must not change with the same seed."""

    requests: dict[str, tuple[Any, ...]]
    answer_hours: dict[str, float | None]
    summary: dict[str, Any]
    art18: dict[str, Any]
    outside_rule_set: list[dict[str, Any]] = field(default_factory=list)


def run_figures(report: Report, run_id: str) -> RunFigures:
    """The figures of a run's report; requests named without the run id."""
    prefix = f"{run_id}."
    requests = {}
    answers = {}
    for row in report.requests:
        name = row.request_id.removeprefix(prefix)
        requests[name] = (
            row.kind, row.from_, row.to, row.urgency, row.accessibility, row.channel,
            row.fallback_from, row.limit_hours, row.limit_basis, row.outcome.value, row.on_time,
            row.overdue_flagged, tuple(row.refusal_grounds), row.clarifications, row.delayed,
            row.exceeded_for_judicial_authorisation,
        )  # fmt: skip
        answers[name] = row.answer_hours
    summary = report.summary.model_dump(
        exclude={"as_of", "first_received_at", "records", "unique_records", "duplicates"}
    )
    return RunFigures(
        requests=requests,
        answer_hours=answers,
        summary=summary,
        art18=report.art18.model_dump(exclude={"as_of"}),
        outside_rule_set=[row.model_dump() for row in report.outside_rule_set],
    )


def differences(first: RunFigures, second: RunFigures, speed: float) -> list[str]:
    """Where two runs at clock speed `speed` differ, one line each (empty: the same
    exercise)."""
    found = []
    tolerance_hours = WALL_TOLERANCE_SECONDS * speed / 3600
    for name in sorted(set(first.requests) | set(second.requests)):
        a, b = first.requests.get(name), second.requests.get(name)
        if a != b:
            found.append(f"request {name}: {a} != {b}")
            continue
        hours_a, hours_b = first.answer_hours.get(name), second.answer_hours.get(name)
        if (hours_a is None) != (hours_b is None) or (
            hours_a is not None and hours_b is not None and abs(hours_a - hours_b) > tolerance_hours
        ):
            found.append(
                f"request {name}: answered after {hours_a} h and {hours_b} h "
                f"(tolerance {tolerance_hours:.4f} h at speed {speed:g})"
            )
    for title, a_part, b_part in (
        ("summary", first.summary, second.summary),
        ("Art. 18 statistics", first.art18, second.art18),
        ("exchanges outside the rule set", first.outside_rule_set, second.outside_rule_set),
    ):
        if a_part != b_part:
            found.append(f"{title} differ")
    return found
