"""Pictures of a synthetic control estimate. Each returns the Matplotlib Axes it drew on."""

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


def _require(est: Estimate, key: str, hint: str) -> Any:
    if key not in est.details:
        raise SpecificationError(f"this estimate has no {key!r} in details; {hint}")
    return est.details[key]


def plot_paths(est: Estimate, ax: Any = None) -> Any:
    """Treated and synthetic outcome paths, one pair per adoption cohort, launch marked."""
    ax = _axes(ax)
    path = _require(est, "path", "it was not produced by ck.synthetic_control.")
    for i, (cohort, part) in enumerate(path.groupby("cohort", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        x = np.arange(len(part))
        suffix = f" ({cohort})" if path["cohort"].nunique() > 1 else ""
        ax.plot(x, part["treated"], color=colour, lw=2, label=f"treated{suffix}")
        ax.plot(x, part["synthetic"], color=colour, lw=1.5, ls="--", label=f"synthetic{suffix}")
        start = int(np.argmax(part["post"].to_numpy()))
        ax.axvline(start - 0.5, color=colour, lw=0.8, ls=":")
        _ticks(ax, part["period"].tolist())
    ax.set_ylabel(est.outcome)
    ax.set_title(f"{est.method}: treated vs synthetic {est.outcome}")
    ax.legend(frameon=False)
    return ax


def _ticks(ax: Any, labels: list[Any]) -> None:
    step = max(1, len(labels) // 8)
    pos = list(range(0, len(labels), step))
    ax.set_xticks(pos, [str(labels[p]) for p in pos], rotation=0)


def plot_gaps(est: Estimate, ax: Any = None) -> Any:
    """Gap between treated and synthetic over time, with the post-launch intervals."""
    ax = _axes(ax)
    path = _require(est, "path", "it was not produced by ck.synthetic_control.")
    bp = est.by_period
    if path["cohort"].nunique() == 1:
        x = path["event_time"].to_numpy()
        ax.plot(x, path["gap"], "o-", color=PALETTE[0], ms=3, label="gap")
        _ticks_event(ax, x, path["period"].tolist())
    else:
        g = path.groupby("event_time")["gap"].mean()
        ax.plot(g.index, g.to_numpy(), "o-", color=PALETTE[0], ms=3, label="mean gap")
        ax.set_xlabel("periods since launch")
    if bp is not None and not bp.empty:
        e = bp["event_time"].to_numpy()
        lo, hi = bp["conf_low"].to_numpy(), bp["conf_high"].to_numpy()
        finite = np.isfinite(lo) & np.isfinite(hi)
        if finite.any():
            ax.fill_between(e[finite], lo[finite], hi[finite], color=PALETTE[0], alpha=0.2,
                            label=f"{est.level:.0%} interval")
    ax.axhline(0, color="0.4", lw=0.8)
    ax.axvline(-0.5, color="0.4", lw=0.8, ls=":")
    ax.set_ylabel(f"gap in {est.outcome}")
    ax.set_title(f"{est.method}: {est.estimate:.4g} [{est.ci[0]:.4g}, {est.ci[1]:.4g}]")
    ax.legend(frameon=False)
    return ax


def _ticks_event(ax: Any, event: np.ndarray, labels: list[Any]) -> None:
    step = max(1, len(labels) // 8)
    pos = list(range(0, len(labels), step))
    ax.set_xticks(event[pos], [str(labels[p]) for p in pos])


def plot_placebos(est: Estimate, ax: Any = None, max_ratio: float | None = None) -> Any:
    """Placebo gaps in grey with the treated unit's gap highlighted.

    ``max_ratio`` drops placebos whose pre-launch RMSPE exceeds that multiple of the treated
    unit's (Abadie et al. suggest 5 or 20), as poorly fitted placebos say little.
    """
    ax = _axes(ax)
    gaps = _require(est, "placebo_gaps", "run with inference='placebo'.")
    treated = gaps[gaps["is_treated"]]
    base = float(treated["pre_rmspe"].iloc[0])
    for _, part in gaps[~gaps["is_treated"]].groupby("draw", sort=False):
        if max_ratio is not None and part["pre_rmspe"].iloc[0] > max_ratio * base:
            continue
        ax.plot(part["event_time"], part["gap"], color="0.7", lw=0.7)
    ax.plot(treated["event_time"], treated["gap"], color=PALETTE[3], lw=2.2, label="treated")
    ax.axhline(0, color="0.4", lw=0.8)
    ax.axvline(-0.5, color="0.4", lw=0.8, ls=":")
    ax.set_xlabel("periods since launch")
    ax.set_ylabel(f"gap in {est.outcome}")
    ax.set_title(f"placebo gaps (p = {est.p_value:.3g})")
    ax.legend(frameon=False)
    return ax


def plot_weights(est: Estimate, ax: Any = None, top: int = 15) -> Any:
    """Horizontal bar chart of the largest donor weights."""
    weights = _require(est, "weights", "it was not produced by ck.synthetic_control.")
    first = weights[weights["cohort"] == weights["cohort"].iloc[0]]
    order = first.reindex(first["weight"].abs().sort_values(ascending=False).index).head(top)
    ax = _axes(ax, (6, 0.3 * len(order) + 1.2))
    colours = [PALETTE[0] if w >= 0 else PALETTE[3] for w in order["weight"]]
    ax.barh([str(u) for u in order["unit"]][::-1], order["weight"].to_numpy()[::-1],
            color=colours[::-1])
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_xlabel("donor weight")
    ax.set_title(f"{est.method}: top {len(order)} donors")
    return ax
