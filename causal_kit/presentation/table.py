"""``ck.table``: several estimates side by side, from the results already computed.

One column per estimate — a DiD, a synthetic control and an RD can share a table — with the
effect, its standard error, interval, p-value, sample and how many of its checks passed. Nothing
is re-estimated. Rendered as text (``str``), HTML (``_repr_html_``, for Jupyter), Markdown and
LaTeX, as pyfixest's ``etable`` and statsmodels' ``summary_col`` do for regressions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Estimate
from causal_kit.presentation.templating import render

#: Significance stars: (p-value below, marker), most significant first.
STARS = ((0.01, "***"), (0.05, "**"), (0.1, "*"))
_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
          "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}  # fmt: skip


@dataclass(frozen=True)
class Table:
    """Estimates side by side.

    Attributes
    ----------
    cells
        The displayed table: one row per statistic (index), one column per estimate, as text.
    values
        The numbers behind it, one row per estimate: ``method, outcome, estimate, std_error,
        conf_low, conf_high, level, p_value, n_units, n_treated, checks_passed, checks_total``.
    notes
        Footnotes (interval level, star thresholds).
    """

    cells: pd.DataFrame
    values: pd.DataFrame
    notes: tuple[str, ...]

    def _grid(self) -> list[list[str]]:
        header = ["", *map(str, self.cells.columns)]
        rows = self.cells.to_numpy()
        return [header] + [[str(i), *map(str, r)] for i, r in zip(self.cells.index, rows,
                                                                   strict=True)]  # fmt: skip

    def __str__(self) -> str:
        grid = self._grid()
        widths = [max(len(r[j]) for r in grid) for j in range(len(grid[0]))]
        lines = []
        for r in grid:
            cols = [f"{v:>{w}}" for v, w in zip(r[1:], widths[1:], strict=True)]
            lines.append("  ".join([f"{r[0]:<{widths[0]}}", *cols]))
        rule = "-" * len(lines[0])
        return "\n".join([rule, lines[0], rule, *lines[1:], rule, *self.notes])

    def __repr__(self) -> str:
        return str(self)

    def to_markdown(self) -> str:
        """Return the table as GitHub-flavoured Markdown (notes below it)."""
        grid = [[c.replace("|", "\\|") for c in r] for r in self._grid()]
        lines = ["| " + " | ".join(grid[0]) + " |", "|---" + "|---:" * (len(grid[0]) - 1) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in grid[1:]]
        return "\n".join([*lines, "", *self.notes])

    def to_html(self) -> str:
        """Return the table as an HTML fragment (``<table class="ck-table">``)."""
        grid = self._grid()
        return render("ck_table.html.j2", header=grid[0], rows=grid[1:], notes=self.notes)

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_latex(self) -> str:
        """Return a ``tabular`` (booktabs rules) with the notes as a last row."""
        grid = [[_latex(c) for c in r] for r in self._grid()]
        k = len(grid[0])
        lines = [r"\begin{tabular}{l" + "r" * (k - 1) + "}", r"\toprule",
                 " & ".join(grid[0]) + r" \\", r"\midrule"]  # fmt: skip
        lines += [" & ".join(r) + r" \\" for r in grid[1:]]
        lines.append(r"\bottomrule")
        lines += [rf"\multicolumn{{{k}}}{{l}}{{\footnotesize {_latex(n)}}} \\" for n in self.notes]
        lines.append(r"\end{tabular}")
        return "\n".join(lines)


def table(
    estimates: Sequence[Estimate] | Mapping[str, Estimate],
    *,
    digits: int = 4,
    stars: bool = False,
) -> Table:
    """Put estimates side by side, without re-running anything.

    Parameters
    ----------
    estimates
        A list of :class:`~causal_kit.Estimate` (columns named ``(1)``, ``(2)``...) or a mapping
        of column name to estimate.
    digits
        Significant digits of effects, standard errors and intervals.
    stars
        Mark effects with ``*``/``**``/``***`` at p < 0.1 / 0.05 / 0.01.

    Returns
    -------
    Table
        ``str()`` for text, ``_repr_html_()``/``to_html()``, ``to_markdown()``, ``to_latex()``;
        ``cells`` and ``values`` hold the table as frames.

    Raises
    ------
    SpecificationError
        If ``estimates`` is empty, holds something other than an ``Estimate``, or ``digits`` is
        not a positive integer.

    Examples
    --------
    >>> print(ck.table({"DiD": did_est, "SC": sc_est, "RD": rd_est}))  # doctest: +SKIP
    """
    if isinstance(estimates, Mapping):
        names, ests = [str(k) for k in estimates], list(estimates.values())
    elif isinstance(estimates, Sequence) and not isinstance(estimates, str):
        ests = list(estimates)
        names = [f"({i + 1})" for i in range(len(ests))]
    else:
        raise SpecificationError(
            f"estimates must be a list of ck.Estimate or a dict name -> Estimate; got "
            f"{type(estimates).__name__}."
        )
    if not ests:
        raise SpecificationError("estimates is empty; pass at least one ck.Estimate.")
    for name, e in zip(names, ests, strict=True):
        if not isinstance(e, Estimate):
            raise SpecificationError(
                f"estimates[{name!r}] is a {type(e).__name__}, not a ck.Estimate (the result of "
                "ck.did, ck.synthetic_control, ck.rdd...)."
            )
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise SpecificationError(f"digits={digits!r} must be a positive integer, e.g. 4.")

    values = pd.DataFrame([_values(e) for e in ests], index=pd.Index(names, name="model"))
    levels = sorted(set(values["level"]))
    interval = f"{levels[0]:.0%} interval" if len(levels) == 1 else "Interval (level below)"
    columns = {name: _column(v, interval, digits, stars, len(levels) > 1)
               for name, v in zip(names, values.to_dict("records"), strict=True)}  # fmt: skip
    cells = pd.DataFrame(columns, columns=names)
    notes = ["Standard errors in parentheses; each column is the estimate as it was computed."]
    if stars:
        notes.append("Significance: " + ", ".join(f"{m} p < {c}" for c, m in STARS) + ".")
    return Table(cells=cells, values=values, notes=tuple(notes))


def _column(v: Mapping[Any, Any], interval: str, digits: int, stars: bool,
            show_level: bool) -> dict[str, str]:  # fmt: skip
    """Return the displayed cells of one estimate, row label → text."""
    effect = _num(v["estimate"], digits) + (_stars(v["p_value"]) if stars else "")
    total = v["checks_total"]
    out = {
        "Outcome": v["outcome"],
        "Method": v["method"],
        "Effect on the treated": effect,
        "(std. error)": f"({_num(v['std_error'], digits)})",
        interval: f"[{_num(v['conf_low'], digits)}, {_num(v['conf_high'], digits)}]",
        "p-value": _p(v["p_value"]),
        "Units (treated)": f"{v['n_units']:,} ({v['n_treated']:,})",
        "Checks passed": f"{v['checks_passed']}/{total}" if total else "none",
    }
    if show_level:
        out["Interval level"] = f"{v['level']:.0%}"
    return out


def _values(e: Estimate) -> dict[str, Any]:
    return {
        "method": e.method,
        "outcome": e.outcome,
        "estimate": float(e.estimate),
        "std_error": float(e.se),
        "conf_low": float(e.ci[0]),
        "conf_high": float(e.ci[1]),
        "level": float(e.level),
        "p_value": float(e.p_value),
        "n_units": int(e.n_units),
        "n_treated": int(e.n_treated),
        "checks_passed": sum(bool(c.passed) for c in e.checks),
        "checks_total": len(e.checks),
    }


def _num(x: float, digits: int) -> str:
    return f"{x:.{digits}g}" if math.isfinite(x) else "–"


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _stars(p: float) -> str:
    return next((m for c, m in STARS if math.isfinite(p) and p < c), "")


def _latex(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in text).replace("–", "--")
