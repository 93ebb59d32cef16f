"""Plain-language rendering shared by the business results: text, HTML and Markdown views."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd


def money(value: float | None, currency: str = "$") -> str:
    """Format an amount of money compactly: ``$1.2M``, ``-$35k``, ``$980``."""
    if value is None or not math.isfinite(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    v = abs(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= size:
            return f"{sign}{currency}{v / size:.3g}{suffix}"
    return f"{sign}{currency}{v:,.0f}"


def number(value: float | None, digits: int = 4) -> str:
    """Format a number with ``digits`` significant digits, ``n/a`` when missing."""
    if value is None:
        return "n/a"
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return f"{value:.{digits}g}"


def ratio(value: float | None) -> str:
    """Format a ratio such as an ROI: ``3.2x``."""
    if value is None:
        return "n/a"
    if not math.isfinite(value):
        return "unbounded" if value > 0 else "n/a"
    return f"{value:.3g}x"


class Rendered:
    """A result rendered three ways: ``str()``, ``_repr_html_()`` and ``to_markdown()``.

    Parameters
    ----------
    title
        Heading.
    rows
        ``(label, value)`` pairs shown as a two-column table.
    tables
        ``(caption, DataFrame)`` pairs shown after the rows.
    notes
        Sentences shown last (reasons, the rule that fired...).
    """

    def __init__(
        self,
        title: str,
        rows: Sequence[tuple[str, str]],
        tables: Sequence[tuple[str, pd.DataFrame]] = (),
        notes: Sequence[str] = (),
    ) -> None:
        self.title = title
        self.rows = list(rows)
        self.tables = list(tables)
        self.notes = list(notes)

    def __str__(self) -> str:
        lines = [self.title, "=" * len(self.title)]
        if self.rows:
            width = max(len(k) for k, _ in self.rows)
            lines += [f"{k:<{width}}  {v}" for k, v in self.rows]
        for caption, frame in self.tables:
            lines += ["", f"{caption}:", _frame_text(frame)]
        if self.notes:
            lines.append("")
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def to_markdown(self) -> str:
        """Return the view as Markdown (a heading, tables and a bullet list)."""
        out = [f"**{_md(self.title)}**", ""]
        if self.rows:
            out += ["| | |", "|---|---|"] + [f"| {_md(k)} | {_md(v)} |" for k, v in self.rows]
        for caption, frame in self.tables:
            out += ["", f"*{_md(caption)}*", "", _frame_markdown(frame)]
        if self.notes:
            out += [""] + [f"- {_md(n)}" for n in self.notes]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        esc = html.escape
        out = [f'<div class="ck-business"><h4>{esc(self.title)}</h4>']
        if self.rows:
            body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self.rows)
            out.append(f'<table class="ck-summary">{body}</table>')
        for caption, frame in self.tables:
            out.append(f"<p><em>{esc(caption)}</em></p>")
            out.append(_frame_html(frame))
        if self.notes:
            out.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in self.notes) + "</ul>")
        out.append("</div>")
        return "".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number(value)
    if value is None:
        return ""
    return str(value)


def _frame_text(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)"
    cells = [[str(c) for c in frame.columns]]
    cells += [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells)


def _frame_markdown(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)"
    head = "| " + " | ".join(_md(str(c)) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = [
        "| " + " | ".join(_md(_cell(v)) for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def _frame_html(frame: pd.DataFrame) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f'<table class="ck-table"><tr>{head}</tr>{body}</table>'


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class ShowsSummary:
    """Display a result through its ``summary()``: rich HTML in Jupyter, plain text in print."""

    def summary(self) -> Rendered:
        """Return the result as a printable view."""
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def __str__(self) -> str:
        return str(self.summary())
