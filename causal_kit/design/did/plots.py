"""Pictures of a DiD estimate: event study with bands, ATT(g,t) heatmap, sensitivity.

Each function draws on ``ax`` (a new figure when ``None``) and returns the Axes; none shows it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Estimate
from causal_kit.core.plot import PALETTE, plt


def _axes(ax: Any, size: tuple[float, float] = (7, 3.8)) -> Any:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def plot_event_study(est: Estimate, ax: Any = None, *, uniform: bool = True) -> Any:
    """Event-time effects with pointwise intervals (bars) and the uniform band (shaded).

    Parameters
    ----------
    est
        A DiD estimate with ``by_period``.
    ax
        Axes to draw on.
    uniform
        Draw the simultaneous band when the estimate has one.
    """
    bp = est.by_period
    if bp is None or bp.empty:
        raise SpecificationError(f"{est.method} has no event-time effects to plot.")
    ax = _axes(ax)
    x = bp["term"].to_numpy(dtype=float)
    y = bp["estimate"].to_numpy()
    if uniform and "conf_low_uniform" in bp:
        ax.fill_between(
            x,
            bp["conf_low_uniform"],
            bp["conf_high_uniform"],
            color=PALETTE[0],
            alpha=0.15,
            step=None,
            label=f"{est.level:.0%} uniform band",
        )
    pre = x < 0
    for mask, colour, label in ((pre, PALETTE[1], "before launch"), (~pre, PALETTE[0], "after")):
        if mask.any():
            ax.errorbar(
                x[mask],
                y[mask],
                yerr=[
                    y[mask] - bp["conf_low"].to_numpy()[mask],
                    bp["conf_high"].to_numpy()[mask] - y[mask],
                ],
                fmt="o",
                color=colour,
                capsize=3,
                label=f"{label} ({est.level:.0%} CI)",
            )
    ax.axhline(0, color="0.4", lw=0.8)
    ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("periods since launch")
    ax.set_ylabel(f"effect on {est.outcome}")
    ax.set_title(f"{est.method}: event study (overall {est.estimate:.4g})")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_att_gt(est: Estimate, ax: Any = None) -> Any:
    """Heatmap of ATT(g,t): cohorts (rows) by period (columns), blank where not estimated."""
    table = est.details.get("att_gt")
    if table is None:
        raise SpecificationError(f"{est.method} has no ATT(g,t) table; use method='cs'.")
    grid = table.pivot(index="group", columns="time", values="estimate")
    ax = _axes(ax, (1.2 + 0.6 * grid.shape[1], 1.2 + 0.5 * grid.shape[0]))
    values = grid.to_numpy(dtype=float)
    lim = float(np.nanmax(np.abs(values))) or 1.0
    im = ax.imshow(values, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns], rotation=45)
    ax.set_yticks(range(grid.shape[0]), [str(r) for r in grid.index])
    ax.set_xlabel("period")
    ax.set_ylabel("cohort (first treated)")
    ax.set_title("ATT(g,t)")
    ax.figure.colorbar(im, ax=ax, label=f"effect on {est.outcome}")
    return ax


def plot_sensitivity(
    est: Estimate, ax: Any = None, *, restriction: str = "relative_magnitudes"
) -> Any:
    """Robust intervals of the average post-launch effect as the allowed violation grows."""
    table = est.details.get("honest")
    if table is None:
        raise SpecificationError(f"{est.method} has no sensitivity analysis to plot.")
    rows = table[table["restriction"] == restriction]
    if rows.empty:
        valid = sorted(set(table["restriction"]))
        raise SpecificationError(
            f"restriction={restriction!r} is not available; use one of {valid}."
        )
    ax = _axes(ax)
    m = rows["M"].to_numpy()
    mid = (rows["conf_low"].to_numpy() + rows["conf_high"].to_numpy()) / 2
    ax.errorbar(
        m,
        mid,
        yerr=[mid - rows["conf_low"], rows["conf_high"] - mid],
        fmt="o",
        color=PALETTE[2],
        capsize=4,
    )
    ax.axhline(0, color="0.4", lw=0.8)
    label = (
        "Mbar (× largest pre-launch change)"
        if restriction == "relative_magnitudes"
        else "M (change of slope per period)"
    )
    breakdown = est.details.get("honest_breakdown", {}).get(restriction)
    if breakdown is not None and np.isfinite(breakdown):
        ax.axvline(breakdown, color=PALETTE[3], ls="--", lw=1, label=f"breakdown {breakdown:.3g}")
        ax.legend(frameon=False)
    ax.set_xlabel(label)
    ax.set_ylabel(f"average effect on {est.outcome}")
    ax.set_title("Sensitivity to parallel-trends violations")
    return ax
