"""The report's early read: the projected 90-day business effect beside what is measured so far.

Before the business metric can be observed, the executive tier shows the projection of
:mod:`causal_kit.analysis.early` in money and per user, labelled as a projection with its
assumptions and the status of its checks, beside the effect on 14-day revenue (measured) and
the 90-day effect (measured only once 90 days have passed). Every earlier run's projection,
read from the published summaries, is set against the 90-day effect once it is realised: that
is how the kit earns trust in its own early reads.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from causal_kit.analysis.early import Projection
from causal_kit.analysis.history import read_history
from causal_kit.analysis.launch import LaunchAnalysis
from causal_kit.core.render import money
from causal_kit.presentation.history_view import reports_root
from causal_kit.presentation.publish import slug
from causal_kit.presentation.templating import render
from causal_kit.presentation.views import Block, _cash, _frame

_CHECK_WORDS = {
    "index_fit": "how well the first weeks predict a quarter's revenue",
    "surrogacy": "projection against the realised 90-day effect",
    "surrogate_stability": "projection without any one leading metric",
    "reference_drift": "today's users against the users it learned from",
}


def projection_words(a: LaunchAnalysis) -> list[str]:
    """Return the early read in plain sentences (empty without a projection)."""
    p = a.projection
    if p is None:
        return []
    cur = a.impact.currency
    e = p.estimate
    lo, hi = sorted(float(v) for v in e.ci)
    out = [
        f"Early read after {p.observed_days} days: the first two weeks project that "
        f"{a.launch.name} changes revenue per user over its first {p.horizon_days} days by "
        f"{_cash(e.estimate, cur)} (likely between {_cash(lo, cur)} and {_cash(hi, cur)})"
        + (f", worth {money(p.impact.annual_value, cur)} a year "
           f"({money(p.impact.annual_value_low, cur)} to "
           f"{money(p.impact.annual_value_high, cur)})." if p.impact is not None else ".")
    ]
    out.append("This is a projection, not a measurement: it assumes the launch moves 90-day "
               "revenue only through what the first two weeks show (revenue, sessions, active "
               "days, whether users are still active), and that this product's users a quarter "
               "ago are a fair guide to how those weeks lead to the quarter.")
    failed = [c for c in p.checks if c.passed is False]
    if failed:
        out.append("Its checks do not all pass, so do not act on it: "
                   + " ".join(c.message for c in failed))
    elif p.surrogacy_tested:
        out.append("Its checks pass, including the projection against the realised 90-day "
                   "effect of the users who have had 90 days.")
    else:
        out.append("Its checks pass so far; whether the first weeks carry the whole effect can "
                   "only be tested once users have had 90 days.")
    if p.used:
        out.append("The plan registered before launch allows an early read, so the "
                   "recommendation rests on this projection.")
    elif p.realised is not None:
        out.append("The 90-day effect is now measured, so the recommendation rests on it.")
    elif not p.allowed:
        out.append("The plan registered before launch does not allow a decision on an early "
                   "read, so the recommendation waits for the measured business effect.")
    return out


def early_read(a: LaunchAnalysis, *, output_dir: str | os.PathLike[str] = "",
               run_date: str = "") -> Block:
    """Show the projected business effect, the effects measured so far, and earlier projections.

    Parameters
    ----------
    a
        This run's analysis (nothing is shown without a projection).
    output_dir, run_date
        As for :func:`causal_kit.presentation.history_view.over_time`: where earlier runs were
        published, and this run's date.
    """
    p = a.projection
    if p is None:
        return Block("", "")
    words = projection_words(a)
    cur = a.impact.currency
    rows = pd.DataFrame(_measures(p, cur))
    checks = pd.DataFrame([{"check": _CHECK_WORDS.get(c.name, c.name), "name": c.name,
                            "passed": "yes" if c.passed else "no", "finding": c.message}
                           for c in p.checks])  # fmt: skip
    earlier = earlier_projections(a, output_dir=output_dir, run_date=run_date)
    html_text = render("early_read.html.j2", sentences=words, measures=_frame(rows),
                       checks=_frame(checks), earlier=_frame(earlier) if len(earlier) else None)
    return Block(html_text, " ".join(words))


def _measures(p: Projection, cur: str) -> list[dict[str, Any]]:
    def row(measure: str, kind: str, est: Any) -> dict[str, Any]:
        if est is None:  # the long-term metric before its horizon has passed
            return {"measure": measure, "kind": "not yet observable",
                    "effect": f"after {p.horizon_days} days", "likely range": ""}
        lo, hi = sorted(float(v) for v in est.ci)
        return {"measure": measure, "kind": kind, "effect": _cash(est.estimate, cur),
                "likely range": f"{_cash(lo, cur)} to {_cash(hi, cur)}"}

    return [
        row(f"projected effect on {p.horizon_days}-day revenue per user", "projection",
            p.estimate),
        row("measured effect on 14-day revenue per user", "measured", p.short_term),
        row(f"measured effect on {p.horizon_days}-day revenue per user", "measured", p.realised),
    ]


def earlier_projections(a: LaunchAnalysis, *, output_dir: str | os.PathLike[str] = "",
                        run_date: str = "") -> pd.DataFrame:
    """Return every earlier run's projection, with the realised 90-day effect once it is known.

    Columns: ``run``, ``days observed``, ``projected``, ``interval``, and, when this run has
    measured the 90-day effect, ``realised`` and ``inside interval``.
    """
    runs = read_history(reports_root(output_dir)).of(slug(a.launch.name))
    if run_date:
        runs = runs[runs["run_date"] < run_date]
    if "projection_json" not in runs:
        return pd.DataFrame()
    realised = a.projection.realised if a.projection is not None else None
    cur = a.impact.currency
    rows: list[dict[str, Any]] = []
    for run in runs.itertuples():
        proj = run.projection_json
        if not isinstance(proj, dict) or proj.get("estimate") is None:
            continue
        row: dict[str, Any] = {
            "run": run.run, "days observed": proj.get("observed_days"),
            "projected": _cash(proj["estimate"], cur),
            "interval": f"{_cash(proj.get('ci_low'), cur)} to {_cash(proj.get('ci_high'), cur)}",
        }
        if realised is not None:
            lo, hi = proj.get("ci_low"), proj.get("ci_high")
            row["realised"] = _cash(float(realised.estimate), cur)
            row["inside interval"] = ("yes" if lo is not None and hi is not None
                                      and lo <= float(realised.estimate) <= hi else "no")
        rows.append(row)
    return pd.DataFrame(rows)
