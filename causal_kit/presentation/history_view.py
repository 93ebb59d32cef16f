"""A report's "over time" section: this launch's estimate, interval and decision at every run.

The earlier runs are read from the published summaries of the output root the report is being
built for (:func:`causal_kit.analysis.history.read_history`); nothing else is stored.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from causal_kit.analysis.history import read_history
from causal_kit.analysis.launch import LaunchAnalysis
from causal_kit.core.plot import PALETTE
from causal_kit.presentation.publish import output_root_of, slug
from causal_kit.presentation.templating import render
from causal_kit.presentation.views import Block, _figure, _frame


def reports_root(output_dir: str | os.PathLike[str]) -> Path:
    """Return the output root a report run publishes to (``reports`` for an interactive run)."""
    if str(output_dir):
        root = output_root_of(output_dir)
        if root is not None:
            return root
        return Path(output_dir).resolve().parent.parent
    return Path("reports")


def runs_table(
    a: LaunchAnalysis, *, output_dir: str | os.PathLike[str] = "", run_date: str = ""
) -> pd.DataFrame:
    """Return the earlier published runs of ``a``'s launch, then this run, oldest first."""
    earlier = read_history(reports_root(output_dir)).of(slug(a.launch.name))
    if run_date:
        earlier = earlier[earlier["run_date"] <= run_date]
    e = a.primary
    current = pd.DataFrame(
        [
            {
                "run": f"{run_date or 'this run'} (this run)",
                "days_since_launch": a.days_since_launch,
                "estimate": e.estimate,
                "ci_low": min(e.ci),
                "ci_high": max(e.ci),
                "decision": a.decision.action,
            }
        ]
    )
    table = pd.concat([earlier[list(current.columns)], current], ignore_index=True)
    previous = table["decision"].shift(1)
    table["decision_changed"] = previous.notna() & (previous != table["decision"])
    table["previous_decision"] = previous
    return table


def over_time(
    a: LaunchAnalysis, *, output_dir: str | os.PathLike[str] = "", run_date: str = ""
) -> Block:
    """Show the estimate, interval and decision at every earlier run, with decision changes.

    Parameters
    ----------
    a
        This run's analysis.
    output_dir
        The report's ``output_dir`` parameter (where the runner stages this run); it locates
        the output root whose published runs are the history. Empty in an interactive run:
        ``reports/`` is read.
    run_date
        This run's date; runs published for later dates are left out.
    """
    table = runs_table(a, output_dir=output_dir, run_date=run_date)
    changes = table[table["decision_changed"]]
    if len(table) == 1:
        lead = (
            "This is the first published run of this launch; later runs will show how the "
            "estimate settles as the measurement window fills."
        )
    else:
        lead = f"{len(table) - 1} earlier run(s). " + (
            " ".join(
                f"The recommendation changed from {r.previous_decision} to {r.decision} at {r.run}."
                for r in changes.itertuples()
            )
            or f"The recommendation has stayed '{table['decision'].iloc[-1]}'."
        )
    shown = table.rename(
        columns={
            "days_since_launch": "days since launch",
            "ci_low": "interval low",
            "ci_high": "interval high",
        }
    )
    shown["decision"] = [
        f"{d} (changed)" if c else d
        for d, c in zip(shown["decision"], shown["decision_changed"], strict=True)
    ]
    shown = shown.drop(columns=["decision_changed", "previous_decision"])
    chart = (
        _figure(_chart(table, a.outcome), f"{a.outcome} estimate at every run")
        if len(table) > 1
        else None
    )
    return Block(
        render("over_time.html.j2", lead=lead, chart=chart, table=_frame(shown)), lead
    )


def _chart(table: pd.DataFrame, outcome: str) -> Figure:
    fig = Figure(figsize=(7.2, 2.6))
    ax = fig.subplots()
    x = list(range(len(table)))
    est = table["estimate"].to_numpy(dtype=float)
    low = table["ci_low"].to_numpy(dtype=float)
    high = table["ci_high"].to_numpy(dtype=float)
    ax.fill_between(x, low, high, color=PALETTE[0], alpha=0.2, label="interval")
    ax.plot(x, est, "o-", color=PALETTE[0], label="estimate")
    for i in [i for i, c in enumerate(table["decision_changed"]) if c]:
        ax.plot([i], [est[i]], "o", ms=11, mfc="none", mec=PALETTE[3], label="decision changed")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(
        x, [str(r).replace(" (this run)", "\n(this run)") for r in table["run"]], fontsize=8
    )
    ax.set_ylabel(outcome)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), frameon=False, fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig
