"""The report's plots as inline PNG images (base64), drawn with matplotlib's Agg canvas (no
pyplot, no display): the request timeline, answer times against the limits, refusals by
ground."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from datetime import datetime
from typing import Final

from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from onestop.audit.desks import DeskAssessment
from onestop.audit.report import HOUR, NO_CHANNEL
from onestop.audit.report_model import Report, RequestRow

OUTCOME_COLOURS: Final = {
    "answered": "#2e7d32",
    "refused": "#8e24aa",
    "overdue": "#c62828",
    "open": "#1565c0",
}
CONTROL_COLOUR: Final = "#6d4c41"  # exercise control's clock commands
OBSERVATION_COLOUR: Final = "#f9a825"  # observations
#: Most requests the timeline labels one by one; beyond it the rows stay unlabelled.
TIMELINE_LABELS: Final = 80
#: Most requests whose table is shown unfolded.


def _short_ids(ids: list[str]) -> list[str]:
    """Request ids without the run prefix they all share (`<run id>.`), for plot labels."""
    prefixes = {i.rsplit(".", 1)[0] for i in ids if "." in i}
    if len(prefixes) == 1 and all("." in i for i in ids):
        return [i.rsplit(".", 1)[1] for i in ids]
    return ids


def _png(figure: Figure) -> str:
    """`figure` as an <img> with an inline base64 PNG."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="plot" alt="plot" src="data:image/png;base64,{data}">'


def _parse(moment: str | None) -> datetime | None:
    return datetime.fromisoformat(moment) if moment else None


def _since(origin: datetime, moment: datetime) -> float:
    return (moment - origin).total_seconds() / HOUR


def timeline_plot(report: Report) -> str:
    """Every request as a bar from receipt to settlement (or to the trail's end when
    unsettled) against its deadline, in exercise hours since the first receipt."""
    rows = report.requests
    origin = _parse(report.summary.first_received_at)
    end = _parse(report.summary.as_of)
    if not rows or origin is None or end is None:
        return '<p class="muted">No requests on the trail.</p>'
    labelled = len(rows) <= TIMELINE_LABELS
    figure = Figure(figsize=(11, min(1.8 + 0.3 * len(rows), 24)))
    ax = figure.subplots()
    for index, row in enumerate(rows):
        received = _since(origin, _parse(row.received_at) or origin)
        stop = _since(origin, _parse(row.settled_at) or end)
        colour = OUTCOME_COLOURS[row.outcome]
        ax.barh(
            index,
            max(stop - received, 0.0),
            left=received,
            height=0.6,
            color=colour,
            alpha=0.85 if row.on_time else 0.55,
            hatch=None if row.on_time else "///",
            edgecolor=colour,
        )
        ax.plot([received], [index], marker="o", markersize=3, color=colour)
        original = _parse(row.original_deadline)
        deadline = _parse(row.deadline)
        if original is not None and original != deadline:
            ax.plot(
                [_since(origin, original)],
                [index],
                marker="D",
                markersize=6,
                markerfacecolor="none",
                markeredgecolor="#555",
            )
        if deadline is not None:
            ax.plot([_since(origin, deadline)], [index], marker="D", markersize=6, color="#111")
    ax.axvline(_since(origin, end), color="#888", linestyle=":", linewidth=1)
    for note in report.timeline:
        moment = _parse(note.exercise_time)
        if moment is None:
            continue
        x = _since(origin, moment)
        if note.what == "observation":
            ax.plot([x], [-0.45], marker="v", markersize=8, color=OBSERVATION_COLOUR, clip_on=False)
        else:
            ax.axvline(x, color=CONTROL_COLOUR, linestyle="--", linewidth=0.8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    if labelled:
        labels = _short_ids([r.request_id for r in rows])
        ax.set_yticks(
            range(len(rows)), [f"{i} {r.from_}>{r.to}" for i, r in zip(labels, rows, strict=True)]
        )
        ax.tick_params(axis="y", labelsize=8)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(rows)} requests, in order of receipt")
    ax.set_xlabel(f"exercise hours since {when(report.summary.first_received_at)}")
    ax.grid(axis="x", color="#e0e0e0")
    handles: list[Artist] = [Patch(color=c, label=o) for o, c in OUTCOME_COLOURS.items()]
    handles += [
        Patch(facecolor="white", edgecolor="#444", hatch="///", label="late"),
        Line2D([], [], marker="D", color="#111", linestyle="none", label="deadline"),
        Line2D(
            [],
            [],
            marker="D",
            markerfacecolor="none",
            markeredgecolor="#555",
            linestyle="none",
            label="original deadline",
        ),
    ]
    if any(n.what != "observation" for n in report.timeline):
        handles.append(Line2D([], [], color=CONTROL_COLOUR, linestyle="--", label="clock"))
    if any(n.what == "observation" for n in report.timeline):
        handles.append(
            Line2D([], [], marker="v", color=OBSERVATION_COLOUR, linestyle="none", label="note")
        )
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=len(handles),
        fontsize=8,
        frameon=False,
    )
    figure.tight_layout()
    return _png(figure)


def answer_time_plot(report: Report) -> str:
    """Box plots of answer times (exercise hours) per channel and per urgency, each
    settled request drawn as a dot over its box."""
    settled = [r for r in report.requests if r.answer_hours is not None]
    if not settled:
        return '<p class="muted">No request was settled.</p>'
    figure = Figure(figsize=(11, 3.6))
    axes = figure.subplots(1, 2)
    groupings: tuple[tuple[str, Callable[[RequestRow], str]], ...] = (
        ("per channel", lambda r: r.channel or NO_CHANNEL),
        ("per urgency", lambda r: r.urgency or "n/a"),
    )
    for ax, (title, key) in zip(axes, groupings, strict=True):
        groups: dict[str, list[float]] = {}
        for row in settled:
            groups.setdefault(key(row), []).append(row.answer_hours or 0.0)
        names = sorted(groups)
        data = [groups[n] for n in names]
        ax.boxplot(data, widths=0.5)
        for position, values in enumerate(data, start=1):
            ax.plot([position] * len(values), values, "o", color="#0b2e59", alpha=0.5)
        ax.set_xticks(range(1, len(names) + 1), names)
        ax.set_title(f"answer time {title}", fontsize=10)
        ax.set_ylabel("exercise hours")
        ax.grid(axis="y", color="#e0e0e0")
    figure.tight_layout()
    return _png(figure)


def refusal_plot(report: Report) -> str:
    """Refusals per ground of Art. 6(1), as horizontal bars."""
    grounds = report.refusals_by_ground
    if not grounds:
        return '<p class="muted">No refusals.</p>'
    figure = Figure(figsize=(8, 0.8 + 0.45 * len(grounds)))
    ax = figure.subplots()
    ax.barh(range(len(grounds)), [g.refusals for g in grounds], color=OUTCOME_COLOURS["refused"])
    ax.set_yticks(range(len(grounds)), [g.ground for g in grounds])
    ax.invert_yaxis()
    ax.set_xlabel("refusals")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    return _png(figure)


_FRACTION: Final = re.compile(r"(T\d\d:\d\d:\d\d)\.\d+Z$")


def when(moment: str | None) -> str:
    """An ISO exercise time as shown to a person: to the second."""
    return _FRACTION.sub(r"\1Z", moment) if moment else "-"


def is_exercise_time(text: str) -> bool:
    """Whether `text` is an ISO exercise time with a fraction of a second (as `when` trims)."""
    return _FRACTION.search(text) is not None


def desk_answer_plot(desk: DeskAssessment) -> str:
    """The desk's answer time of every request it received against that request's limit,
    in exercise hours: a bar per request, the limit as a diamond."""
    rows = [r for r in desk.requests if r.limit_hours is not None]
    if not rows:
        return '<p class="muted">No request with a time limit reached this desk.</p>'
    figure = Figure(figsize=(9, 1.4 + 0.45 * len(rows)))
    ax = figure.subplots()
    for index, row in enumerate(rows):
        colour = OUTCOME_COLOURS[row.outcome]
        limit = row.limit_hours or 0.0
        if row.answer_hours is not None:
            ax.barh(index, row.answer_hours, height=0.55, color=colour, alpha=0.85)
        else:  # not answered: the whole limit, hatched
            ax.barh(index, limit, height=0.55, color="none", edgecolor=colour, hatch="///")
        ax.plot([limit], [index], marker="D", markersize=7, color="#111")
    names = _short_ids([r.request_id for r in rows])
    ax.set_yticks(
        range(len(rows)), [f"{n} from {r.from_}" for n, r in zip(names, rows, strict=True)]
    )
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("exercise hours from receipt (diamond: the time limit)")
    ax.grid(axis="x", color="#e0e0e0")
    handles: list[Artist] = [Patch(color=c, label=o) for o, c in OUTCOME_COLOURS.items()]
    handles.append(Line2D([], [], marker="D", color="#111", linestyle="none", label="limit"))
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=len(handles), fontsize=8, frameon=False)  # fmt: skip
    figure.tight_layout()
    return _png(figure)
