"""The trainee desks' sections of the after-action report page: per desk its figures, its
answer times against the limits, the requests it received and opened, and its timeline."""

from __future__ import annotations

from html import escape

from onestop.audit.desks import DeskAssessment
from onestop.audit.html_parts import card, table
from onestop.audit.plots import desk_answer_plot, when
from onestop.audit.report_model import Report


def desk_sections(report: Report) -> str:
    """One section per trainee desk (nothing when no party was played by a trainee)."""
    return "".join(_desk(desk) for desk in report.desks)


def _share(share: float | None) -> str:
    return f"{share:.0%}" if share is not None else "-"


def _desk(desk: DeskAssessment) -> str:
    cards = "".join(
        [
            card("received", desk.received),
            card("answered", desk.answered, "good" if desk.answered else ""),
            card("refused", desk.refused),
            card("overdue", desk.overdue, "bad" if desk.overdue else ""),
            card("on time", _share(desk.on_time_share)),
            card("clarifications", desk.clarifications_asked),
            card("delay notices", desk.delay_notices),
            card("channel deviations", desk.deviations, "bad" if desk.deviations else ""),
            card(
                "urgent without reason",
                desk.missing_urgency_reasons,
                "bad" if desk.missing_urgency_reasons else "",
            ),
        ]
    )
    received = table(
        ["request", "from", "kind", "urgency", "received", "limit h", "answered after h",
         "outcome", "on time", "grounds", "clar.", "delayed"],
        [
            (r.request_id, r.from_, r.kind, r.urgency, r.received_at, r.limit_hours,
             r.answer_hours, r.outcome.value, r.on_time, ", ".join(r.grounds) or None,
             r.clarifications, r.delayed)
            for r in desk.requests
        ],
        numeric=5,
    )  # fmt: skip
    opened = table(
        ["request", "to", "kind", "channel (Art. 13)", "chosen by the desk", "deviation",
         "outcome"],
        [
            (o.request_id, o.to, o.kind, o.channel, o.requested_channel, o.deviation,
             o.outcome.value)
            for o in desk.opened
        ],
        numeric=99,
    )  # fmt: skip
    grounds = ", ".join(f"{g}: {n}" for g, n in desk.refusals_by_ground.items()) or "none"
    timeline = table(
        ["exercise time", "what", "request", "note"],
        [(when(m.exercise_time), m.what, m.request_id, m.text) for m in desk.timeline],
        numeric=99,
    )
    return (
        f'<section class="desk"><h2>Desk {escape(desk.party)} (trainee)</h2>'
        f'<div class="cards">{cards}</div>'
        "<h3>Answer times against the limits</h3>"
        f"{desk_answer_plot(desk)}"
        f"<h3>Requests received</h3>{received}"
        f'<p class="muted">Refusals by Art. 6(1) ground: {escape(grounds)}.</p>'
        "<h3>Requests the desk opened</h3>"
        + (opened if desk.opened else '<p class="muted">None.</p>')
        + f"<h3>The desk's timeline</h3>{timeline}</section>"
    )
