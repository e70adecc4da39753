"""The report as one self-contained HTML page: inline CSS, plots as inline PNG images
drawn with matplotlib's Agg canvas (no pyplot, no display), no external URL, so it opens
offline and can be mailed as one file. `write_report` writes report.json beside it."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Final

from onestop.audit.html_parts import card, cell, table
from onestop.audit.plots import (
    OUTCOME_COLOURS,
    answer_time_plot,
    refusal_plot,
    timeline_plot,
    when,
)
from onestop.audit.report import report_json
from onestop.audit.report_desks import desk_sections
from onestop.audit.report_model import AnswerTimeRow, ComplianceRow, Report, RequestRow
from onestop.audit.statistics import CountryFigures, UrgencySplit

#: Most requests whose table is shown unfolded.
OPEN_REQUESTS: Final = 100

CSS: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       margin: 0; color: #1d2330; background: #f4f6f9; }
header { background: #0b2e59; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; }
header p { margin: 0; opacity: .85; }
main { padding: 16px 32px 40px 32px; max-width: 1240px; }
section { background: #fff; border-radius: 6px; padding: 14px 20px; margin: 16px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h2 { font-size: 18px; margin: 4px 0 12px 0; color: #0b2e59; }
h3 { font-size: 14px; margin: 14px 0 6px 0; color: #333; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid #dde3ea; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.card .v { font-size: 22px; font-weight: 600; }
.card .k { font-size: 12px; color: #5a6475; }
.card.bad .v { color: #c62828; } .card.good .v { color: #2e7d32; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px 0; }
th, td { border-bottom: 1px solid #e4e8ee; padding: 4px 10px; text-align: left; }
th { background: #eef2f7; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafbfc; }
.grid { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
img.plot { max-width: 100%; height: auto; display: block; margin: 6px 0; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 9px; color: #fff;
         font-size: 12px; }
.ok { color: #2e7d32; font-weight: 600; } .fault { color: #c62828; font-weight: 600; }
.muted { color: #6b7585; font-size: 12px; }
details summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.scroll { overflow-x: auto; }
ul.faults { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
"""


# ---- HTML pieces ------------------------------------------------------------------------


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f} %"


def _compliance(title: str, rows: list[ComplianceRow]) -> str:
    return (
        f"<div><h3>{escape(title)}</h3>"
        + table(
            [title.split()[-1], "requests", "on time", "late", "on-time share"],
            [(r.group, r.requests, r.on_time, r.late, _percent(r.share)) for r in rows],
        )
        + "</div>"
    )


def _answer_times(title: str, rows: list[AnswerTimeRow]) -> str:
    return (
        f"<div><h3>{escape(title)}</h3>"
        + table(
            [title.split()[-1], "settled", "p50 h", "p90 h", "max h"],
            [(r.group, r.settled, r.p50_hours, r.p90_hours, r.max_hours) for r in rows],
        )
        + "</div>"
    )


def _summary(report: Report) -> str:
    s = report.summary
    cards = [
        card("requests", s.requests),
        card("answered", s.answered),
        card("refused", s.refused),
        card("overdue", s.overdue, "bad" if s.overdue else ""),
        card("open", s.open),
        card("on time", _percent(s.on_time_share), "good" if s.late == 0 else ""),
        card("late", s.late, "bad" if s.late else ""),
        card("clarification requests", s.clarification_requests),
        card("judicial delays", s.delayed),
        card("one-way messages", s.one_way_messages),
        card("rejected (dead letters)", s.rejected, "bad" if s.rejected else ""),
        card("duplicate records", s.duplicates),
    ]
    span = f"first receipt {when(s.first_received_at)}, trail ends {when(s.as_of)}"
    return (
        f'<section><h2>Summary</h2><div class="cards">{"".join(cards)}</div>'
        f'<p class="muted">Exercise time: {escape(span)}. Audit records read: {s.records} '
        f"({s.unique_records} unique).</p></section>"
    )


def _outcome(row: RequestRow) -> str:
    return (
        f'<span class="badge" style="background:{OUTCOME_COLOURS[row.outcome]}">'
        f"{escape(row.outcome)}</span>"
    )


def _requests_table(rows: list[RequestRow]) -> str:
    headers = [
        "request",
        "case",
        "from",
        "to",
        "kind",
        "urgency",
        "channel (Art. 13)",
        "received",
        "limit",
        "deadline",
        "settled",
        "outcome",
        "on time",
        "hours",
        "clar.",
        "delayed",
        "grounds",
    ]
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{v}</td>"
            for v in (
                cell(r.request_id),
                cell(r.case_id),
                cell(r.from_),
                cell(r.to),
                cell(r.kind),
                cell(r.urgency),
                _channel(r),
                cell(r.received_at),
                _limit(r),
                cell(r.deadline),
                cell(r.settled_at),
                _outcome(r),
                cell(r.on_time),
                cell(r.answer_hours),
                cell(r.clarifications),
                cell(r.delayed),
                cell(", ".join(r.refusal_grounds) or None),
            )
        )
        + "</tr>"
        for r in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def _channel(row: RequestRow) -> str:
    """The channel, with the routing reason on hover and a visible fallback."""
    shown = escape(row.channel or "-")
    if row.fallback_from:
        shown += f' <span class="muted">(fallback from {escape(row.fallback_from)})</span>'
    return f'<span title="{escape(row.channel_reason or "")}">{shown}</span>'


def _limit(row: RequestRow) -> str:
    """The time limit in hours, its basis on hover; "none" outside the rule set."""
    shown = "none" if row.limit_hours is None else f"{row.limit_hours:g} h"
    return f'<span title="{escape(row.limit_why or "")}">{shown}</span>'


def _timeline(report: Report) -> str:
    """Exercise control's acts and the observations, in exercise time."""
    if not report.timeline:
        return ""
    rows = [
        (when(n.exercise_time), n.what, n.by, n.text, n.request_id, n.party, when(n.wall_time))
        for n in report.timeline
    ]
    return (
        "<section><h2>Exercise control and observations</h2>"
        '<p class="muted">Clock commands with their reasons, from the audit trail, and the '
        "control team's observations, in exercise time (dashed lines and triangles on the "
        "request timeline).</p>"
        + table(
            ["exercise time", "what", "by", "note", "request", "party", "wall time"],
            rows,
            numeric=99,
        )
        + "</section>"
    )


def _outside(report: Report) -> str:
    """Exchanges with Europol, Interpol and third countries: not Art. 18 figures."""
    if not report.outside_rule_set:
        return ""
    rows = [
        (r.counterpart, r.requests, r.answered, r.refused, r.overdue, r.open, "; ".join(r.limits))
        for r in report.outside_rule_set
    ]
    return (
        "<section><h2>Exchanges outside the Directive</h2>"
        '<p class="muted">With Europol, Interpol and third countries the Directive\'s time '
        "limits and its Art. 18 statistics do not apply; the scenario's limits, if any, "
        "do.</p>"
        + table(
            ["counterpart", "requests", "answered", "refused", "overdue", "open", "limits"],
            rows,
            numeric=1,
        )
        + "</section>"
    )


_NONE: Final = UrgencySplit()


def _split(figures: CountryFigures) -> list[object]:
    return [
        figures.requests_sent,
        figures.requests_received.urgent,
        figures.requests_received.non_urgent,
        figures.requests_received.total,
        figures.requests_answered.urgent,
        figures.requests_answered.non_urgent,
        figures.requests_answered.total,
        figures.refusals,
        figures.judicial_delays,
        figures.time_limits_exceeded_judicial,
    ]


def _art18(report: Report) -> str:
    art18 = report.art18
    main = table(
        [
            "party",
            "sent",
            "received urgent",
            "received non-urgent",
            "received",
            "answered urgent",
            "answered non-urgent",
            "answered",
            "refused",
            "judicial delays",
            "limit exceeded (judicial)",
        ],
        [[c.country, *_split(c)] for c in [*art18.countries, art18.totals]],
    )
    by_requester = table(
        [
            "requested party",
            "requesting party",
            "received urgent",
            "received non-urgent",
            "answered urgent",
            "answered non-urgent",
        ],
        [
            (
                c.country,
                requester,
                received.urgent,
                received.non_urgent,
                c.requests_answered_by_requester.get(requester, _NONE).urgent,
                c.requests_answered_by_requester.get(requester, _NONE).non_urgent,
            )
            for c in art18.countries
            for requester, received in c.requests_received_by_requester.items()
        ],
        numeric=2,
    )
    grounds = table(
        ["requested party", "ground", "refusals"],
        [
            (c.country, ground, count)
            for c in art18.countries
            for ground, count in c.refusals_by_ground.items()
        ],
        numeric=2,
    )
    kinds = ", ".join(art18.kinds)
    return (
        "<section><h2>Art. 18 statistics</h2>"
        '<p class="muted">Exchanges between Member States (and the Schengen associated '
        "states) only, as Art. 18 asks. "
        f"Message kinds counted as requests: {escape(kinds)}. Figures as of "
        f"{escape(when(art18.as_of))} (exercise time). Received, answered, refused and "
        "judicial figures belong to the requested party; a request delayed for judicial "
        "authorisation exceeds its limit when settled after (or still open past) its "
        "original deadline.</p>"
        f"{main}<h3>Received and answered by requesting country</h3>{by_requester}"
        f"<h3>Refusals by ground</h3>{grounds}</section>"
    )


def _chain(report: Report) -> str:
    chain = report.chain
    verdict = (
        '<p class="ok">Audit trail intact: every record is chained to the one before it.</p>'
        if chain.intact
        else f'<p class="fault">Audit trail broken: {len(chain.faults)} fault(s).</p>'
        + '<ul class="faults">'
        + "".join(f"<li>{escape(f)}</li>" for f in chain.faults)
        + "</ul>"
    )
    counts = table(
        ["records", "unique", "duplicates"],
        [(chain.records, chain.unique, chain.duplicates)],
        numeric=0,
    )
    return f"<section><h2>Audit chain check</h2>{verdict}{counts}</section>"


def _exercise(report: Report) -> str:
    facts = {k: v for k, v in report.exercise.items() if k != "name"}
    if not facts:
        return ""
    return (
        "<section><h2>Exercise</h2>"
        + table(["fact", "value"], [(k, str(v)) for k, v in sorted(facts.items())], numeric=2)
        + "</section>"
    )


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    name = str(report.exercise.get("name") or "OneStop exercise")
    c = report.compliance
    a = report.answer_times
    clarifications = table(
        ["request", "from", "to", "clarifications", "final deadline"],
        [
            (r.request_id, r.from_, r.to, r.clarifications, r.deadline)
            for r in report.clarifications
        ],
        numeric=3,
    )
    delays = table(
        [
            "request",
            "from",
            "to",
            "delayed at",
            "expected h",
            "reason",
            "original deadline",
            "settled",
            "limit exceeded",
        ],
        [
            (
                d.request_id,
                d.from_,
                d.to,
                d.delayed_at,
                d.expected_delay_hours,
                d.reason,
                d.original_deadline,
                d.settled_at,
                d.exceeded,
            )
            for d in report.delays
        ],
        numeric=99,
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(name)}: after-action report</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>{escape(name)}</h1><p>After-action report, rebuilt from the audit "
        "trail</p></header><main>",
        _summary(report),
        _exercise(report),
        "<section><h2>Requests against their deadlines</h2>",
        timeline_plot(report),
        "</section>",
        _timeline(report),
        '<section><h2>Time-limit compliance</h2><div class="grid">',
        _compliance("per requested party", c.by_country),
        _compliance("per channel", c.by_channel),
        _compliance("per urgency", c.by_urgency),
        "</div></section>",
        '<section><h2>Answer times</h2><p class="muted">Receipt to reply or refusal, in '
        'exercise hours (clock pauses included).</p><div class="grid">',
        _answer_times("per channel", a.by_channel),
        _answer_times("per urgency", a.by_urgency),
        "</div>",
        answer_time_plot(report),
        "</section>",
        "<section><h2>Refusals by ground (Art. 6(1))</h2>",
        refusal_plot(report),
        table(["ground", "refusals"], [(g.ground, g.refusals) for g in report.refusals_by_ground]),
        "</section>",
        "<section><h2>Clarifications and judicial delays</h2>",
        "<h3>Clarifications (clock paused)</h3>",
        clarifications if report.clarifications else '<p class="muted">None.</p>',
        "<h3>Judicial authorisation delays (Art. 5(2))</h3>",
        delays if report.delays else '<p class="muted">None.</p>',
        "</section>",
        desk_sections(report),
        _art18(report),
        _outside(report),
        _chain(report),
        f"<section><details{' open' if len(report.requests) <= OPEN_REQUESTS else ''}>"
        f"<summary>All {len(report.requests)} requests</summary>",
        _requests_table(report.requests),
        "</details></section>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(report: Report, directory: Path) -> tuple[Path, Path]:
    """Write report.json and report.html into `directory` (created when missing); return
    their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "report.json"
    html_path = directory / "report.html"
    json_path.write_text(report_json(report), encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path
