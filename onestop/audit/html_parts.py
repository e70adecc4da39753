"""Small pieces of the report's HTML: a cell, a table, a figure card (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from onestop.audit.plots import is_exercise_time, when


def cell(value: object) -> str:
    """A value as a table cell shows it: times to the second, floats to two places."""
    if value is None:
        return "-"
    if isinstance(value, str) and is_exercise_time(value):
        return escape(when(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    return escape(str(value))


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: int = 1) -> str:
    """An HTML table; columns from index `numeric` on are right-aligned numbers."""
    head = "".join(
        f'<th class="n">{escape(h)}</th>' if i >= numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{cell(v)}</td>' if i >= numeric else f"<td>{cell(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def card(label: str, value: object, tone: str = "") -> str:
    """A figure in a card: the value large, its label small; `tone` good or bad."""
    return (
        f'<div class="card {tone}"><div class="v">{cell(value)}</div>'
        f'<div class="k">{escape(label)}</div></div>'
    )
