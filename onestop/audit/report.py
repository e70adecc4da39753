"""The after-action report of an exercise, computed from its audit trail (pure, no I/O).

`build_report` turns audit records into a `Report`: a summary, one row per request, how
each party, channel and urgency kept its time limits, answer-time percentiles, refusals,
clarifications and judicial delays, the Art. 18 statistics and the audit chain check.
Everything is sorted, so the same records always give the same report. Times in the
report are exercise time as ISO 8601 with a Z; durations are exercise hours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from onestop.audit.desks import assess_desk
from onestop.audit.report_model import (
    AnswerTimeRow,
    AnswerTimes,
    ChainCheck,
    ClarificationRow,
    Compliance,
    ComplianceRow,
    CounterpartRow,
    DelayRow,
    GroundCount,
    Report,
    RequestRow,
    Summary,
    TimelineNote,
)
from onestop.audit.statistics import (
    BOUND,
    DIRECTIVE_KINDS,
    RequestHistory,
    art18_statistics,
    request_histories,
    trail_end,
    unique_records,
)
from schemas.audit import AuditEvent, AuditRecord, ChainReport, exercise_iso, verify_chain
from schemas.audit_details import ControlDetails
from schemas.enums import Country, Outcome
from schemas.messages import ONE_WAY_KINDS
from schemas.observations import Observation

HOUR: Final = 3600.0
#: Group name of requests whose kind has no urgency (SIRENE forms, Prüm queries).
NO_URGENCY: Final = "n/a"
NO_CHANNEL: Final = "unknown"


def _iso(moment: datetime | None) -> str | None:
    return exercise_iso(moment) if moment is not None else None


def _hours(seconds: float) -> float:
    return round(seconds / HOUR, 4)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-th quantile (0..1) of `values` by linear interpolation between the closest
    ranks (numpy's default), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _row(history: RequestHistory, as_of: datetime | None) -> RequestRow:
    return RequestRow(
        request_id=history.request_id,
        case_id=history.case_id,
        from_=history.requester.value,
        to=history.requested.value,
        kind=history.kind.value,
        urgency=history.urgency.value if history.urgency else None,
        accessibility=history.accessibility.value if history.accessibility else None,
        channel=history.channel.value if history.channel else None,
        channel_reason=history.route_reason,
        fallback_from=history.fallback_from.value if history.fallback_from else None,
        received_at=exercise_iso(history.received_at),
        limit_hours=_hours(history.limit_seconds) if history.limit_seconds is not None else None,
        limit_basis=history.limit_basis.value if history.limit_basis else None,
        limit_why=history.limit_why,
        under_rule_set=history.under_rule_set,
        original_deadline=_iso(history.original_deadline),
        deadline=_iso(history.deadline),
        settled_at=_iso(history.settled_at),
        outcome=history.outcome,
        on_time=history.on_time,
        answer_hours=(
            _hours(history.answer_seconds) if history.answer_seconds is not None else None
        ),
        overdue_flagged=history.overdue,
        clarifications=history.clarifications,
        delayed=history.delayed,
        exceeded_for_judicial_authorisation=(
            as_of is not None and history.exceeded_for_judicial_authorisation(as_of)
        ),
        refusal_grounds=history.grounds,
    )


def _grouped(
    rows: Iterable[RequestRow], key: Callable[[RequestRow], str]
) -> dict[str, list[RequestRow]]:
    groups: dict[str, list[RequestRow]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return dict(sorted(groups.items()))


def _by_country(row: RequestRow) -> str:
    return row.to


def _by_channel(row: RequestRow) -> str:
    return row.channel or NO_CHANNEL


def _by_urgency(row: RequestRow) -> str:
    return row.urgency or NO_URGENCY


def compliance_rows(
    rows: Iterable[RequestRow], key: Callable[[RequestRow], str]
) -> list[ComplianceRow]:
    """Requests, on time, late and on-time share per group of `key`, sorted by group."""
    result = []
    timed = [r for r in rows if r.limit_hours is not None]  # no limit: nothing to keep
    for group, members in _grouped(timed, key).items():
        on_time = sum(1 for r in members if r.on_time)
        result.append(
            ComplianceRow(
                group=group,
                requests=len(members),
                on_time=on_time,
                late=len(members) - on_time,
                share=_share(on_time, len(members)),
            )
        )
    return result


def answer_time_rows(
    rows: Iterable[RequestRow], key: Callable[[RequestRow], str]
) -> list[AnswerTimeRow]:
    """p50 / p90 / max answer time (exercise hours) of settled requests per group."""
    result = []
    for group, members in _grouped(rows, key).items():
        hours = [r.answer_hours for r in members if r.answer_hours is not None]
        p50, p90 = percentile(hours, 0.5), percentile(hours, 0.9)
        result.append(
            AnswerTimeRow(
                group=group,
                settled=len(hours),
                p50_hours=round(p50, 4) if p50 is not None else None,
                p90_hours=round(p90, 4) if p90 is not None else None,
                max_hours=max(hours) if hours else None,
            )
        )
    return result


def counterpart_rows(histories: Iterable[RequestHistory]) -> list[CounterpartRow]:
    """The requests of exchanges outside the rule set, per counterpart (sorted)."""
    groups: dict[str, list[RequestHistory]] = {}
    for history in histories:
        if history.under_rule_set or history.kind not in DIRECTIVE_KINDS:
            continue
        outside = history.requested if history.requester in BOUND else history.requester
        groups.setdefault(outside.value, []).append(history)
    rows = []
    for counterpart, members in sorted(groups.items()):
        outcomes = [h.outcome for h in members]
        rows.append(
            CounterpartRow(
                counterpart=counterpart,
                requests=len(members),
                answered=outcomes.count(Outcome.ANSWERED),
                refused=outcomes.count(Outcome.REFUSED),
                open=outcomes.count(Outcome.OPEN),
                overdue=outcomes.count(Outcome.OVERDUE),
                limits=sorted({h.limit_why or "not recorded" for h in members}),
            )
        )
    return rows


def chain_check_of(records: Sequence[AuditRecord]) -> ChainReport:
    """The hash-chain check of `records`, each partition taken in the order given."""
    partitions: dict[int, list[AuditRecord]] = {}
    for record in records:
        partitions.setdefault(record.partition, []).append(record)
    total = ChainReport()
    for partition in sorted(partitions):
        report = verify_chain(partition, partitions[partition])
        total.records += report.records
        total.unique_records += report.unique_records
        total.duplicates += report.duplicates
        total.faults.extend(report.faults)
    return total


def timeline_notes(
    records: Iterable[AuditRecord], observations: Iterable[Observation] = ()
) -> list[TimelineNote]:
    """Clock commands (audited by the hub) and observations, sorted by exercise time."""
    notes = []
    for record in records:
        details = record.details
        if record.event is AuditEvent.EXERCISE_CONTROL and isinstance(details, ControlDetails):
            shown = details.reason or ""
            if details.speed is not None:
                shown = f"speed {details.speed:g}; {shown}"
            if details.jump_seconds is not None:
                shown = f"jump {details.jump_seconds / HOUR:g} h; {shown}"
            notes.append(
                TimelineNote(
                    exercise_time=exercise_iso(record.exercise_time),
                    wall_time=exercise_iso(record.wall_time),
                    what=f"clock {details.action}",
                    by=record.actor,
                    text=shown.strip("; "),
                )
            )
    for note in observations:
        notes.append(
            TimelineNote(
                exercise_time=exercise_iso(note.exercise_time),
                wall_time=exercise_iso(note.wall_time),
                what="observation",
                by=note.author,
                text=note.text,
                request_id=note.request_id,
                party=note.party.value if note.party else None,
            )
        )
    return sorted(notes, key=lambda n: (n.exercise_time, n.wall_time))


def build_report(
    records: Iterable[AuditRecord],
    exercise: dict[str, Any] | None = None,
    chain: ChainReport | None = None,
    observations: Iterable[Observation] = (),
    trainees: Iterable[Country] = (),
) -> Report:
    """The report of the exercise whose audit trail is `records` (in read order).

    `exercise`: free facts about the exercise (name, rule set, ...) shown as given.
    `chain`: the trail's chain check, when done on the trail as read; without it the
    check is done here on `records`, per partition in the order given."""
    records = list(records)
    notes = list(observations)
    unique = unique_records(records)
    as_of = trail_end(unique)
    histories = request_histories(unique)
    rows = [_row(h, as_of) for h in histories]
    chain = chain if chain is not None else chain_check_of(records)

    on_time = sum(1 for r in rows if r.on_time)
    outcomes = [r.outcome for r in rows]
    summary = Summary(
        requests=len(rows),
        answered=outcomes.count(Outcome.ANSWERED),
        refused=outcomes.count(Outcome.REFUSED),
        overdue=outcomes.count(Outcome.OVERDUE),
        open=outcomes.count(Outcome.OPEN),
        on_time=on_time,
        late=len(rows) - on_time,
        on_time_share=_share(on_time, len(rows)),
        one_way_messages=sum(
            1 for r in unique if r.event is AuditEvent.RECEIVED and r.kind in ONE_WAY_KINDS
        ),
        rejected=sum(1 for r in unique if r.event is AuditEvent.REJECTED),
        clarification_requests=sum(h.clarifications for h in histories),
        delayed=sum(1 for h in histories if h.delayed),
        records=len(records),
        unique_records=len(unique),
        duplicates=len(records) - len(unique),
        first_received_at=rows[0].received_at if rows else None,
        as_of=_iso(as_of),
    )
    grounds: dict[str, int] = {}
    for history in histories:
        for ground in history.grounds:
            grounds[ground] = grounds.get(ground, 0) + 1
    return Report(
        exercise=dict(exercise or {}),
        summary=summary,
        requests=rows,
        compliance=Compliance(
            by_country=compliance_rows(rows, _by_country),
            by_channel=compliance_rows(rows, _by_channel),
            by_urgency=compliance_rows(rows, _by_urgency),
        ),
        answer_times=AnswerTimes(
            by_channel=answer_time_rows(rows, _by_channel),
            by_urgency=answer_time_rows(rows, _by_urgency),
        ),
        refusals_by_ground=[GroundCount(ground=g, refusals=n) for g, n in sorted(grounds.items())],
        clarifications=[
            ClarificationRow(
                request_id=h.request_id,
                from_=h.requester.value,
                to=h.requested.value,
                clarifications=h.clarifications,
                deadline=_iso(h.deadline),
            )
            for h in histories
            if h.clarifications
        ],
        delays=[
            DelayRow(
                request_id=h.request_id,
                from_=h.requester.value,
                to=h.requested.value,
                delayed_at=_iso(h.delayed_at),
                expected_delay_hours=h.expected_delay_hours,
                reason=h.delay_reason,
                original_deadline=_iso(h.original_deadline),
                settled_at=_iso(h.settled_at),
                exceeded=as_of is not None and h.exceeded_for_judicial_authorisation(as_of),
            )
            for h in histories
            if h.delayed
        ],
        art18=art18_statistics(unique, as_of=as_of),
        outside_rule_set=counterpart_rows(histories),
        timeline=timeline_notes(unique, notes),
        desks=[assess_desk(p, histories, unique, notes) for p in sorted(set(trainees))],
        chain=ChainCheck(
            intact=chain.intact,
            records=chain.records,
            unique=chain.unique_records,
            duplicates=chain.duplicates,
            faults=[str(f) for f in chain.faults],
        ),
    )


def report_json(report: Report) -> str:
    """The report as indented JSON (field aliases such as "from" applied)."""
    return report.model_dump_json(by_alias=True, indent=2) + "\n"
