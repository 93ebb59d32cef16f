"""The default picture of an estimate, and the palette every plot shares.

``matplotlib.pyplot`` is imported on first use (``plt`` here is a lazy stand-in), so importing
causal_kit or a design module never starts a plotting backend.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

import pandas as pd

# Okabe–Ito, safe for colour-blind readers.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


class _Pyplot:
    """``matplotlib.pyplot``, imported when an attribute is first read."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("matplotlib.pyplot"), name)


plt: Any = _Pyplot()


class Plottable(Protocol):
    """What :func:`plot_estimate` reads from an estimate."""

    @property
    def method(self) -> str: ...  # noqa: D102
    @property
    def outcome(self) -> str: ...  # noqa: D102
    @property
    def estimate(self) -> float: ...  # noqa: D102
    @property
    def ci(self) -> tuple[float, float]: ...  # noqa: D102
    @property
    def level(self) -> float: ...  # noqa: D102
    @property
    def details(self) -> Any: ...  # noqa: D102
    @property
    def by_period(self) -> pd.DataFrame | None: ...  # noqa: D102


def plot_estimate(est: Plottable, ax: Any = None) -> Any:
    """Plot per-period effects with their intervals (or the headline effect alone).

    Parameters
    ----------
    est
        The estimate (a :class:`~causal_kit.Estimate`).
    ax
        Matplotlib Axes to draw on; a new figure is made when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    if "counterfactual_path" in est.details:
        return plot_counterfactual(est, ax)
    bp = est.by_period
    if bp is None or bp.empty:
        err = [[est.estimate - est.ci[0]], [est.ci[1] - est.estimate]]
        ax.errorbar([0], [est.estimate], yerr=err, fmt="o", color=PALETTE[0], capsize=4)
        ax.set_xticks([0], [est.outcome])
    else:
        x = bp["term"].to_numpy()
        ax.fill_between(x, bp["conf_low"], bp["conf_high"], color=PALETTE[0], alpha=0.2,
                        label=f"{est.level:.0%} interval")
        ax.plot(x, bp["estimate"], "o-", color=PALETTE[0], label="effect")
        ax.set_xlabel("periods since launch" if est.method.startswith("did") else "period")
        ax.legend(frameon=False)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_ylabel(f"effect on {est.outcome}")
    ax.set_title(f"{est.method}: {est.estimate:.4g} [{est.ci[0]:.4g}, {est.ci[1]:.4g}]")
    return ax


def plot_counterfactual(est: Plottable, ax: Any) -> Any:
    """Observed series against the forecast counterfactual of ``details["counterfactual_path"]``.

    The path has columns ``time``, ``observed``, ``counterfactual`` (in-sample fit before the
    launch, forecast after), ``conf_low``/``conf_high`` (the forecast's band) and ``post``.
    """
    path = est.details["counterfactual_path"]
    post = path["post"].to_numpy(dtype=bool)
    after = path[post]
    ax.fill_between(after["time"], after["conf_low"], after["conf_high"], color=PALETTE[1],
                    alpha=0.25, label=f"{est.level:.0%} forecast band")
    ax.plot(path["time"], path["observed"], color=PALETTE[7], lw=1, label="observed")
    ax.plot(path["time"], path["counterfactual"], color=PALETTE[1], lw=1.5, ls="--",
            label="counterfactual (fit, then forecast)")
    ax.axvline(after["time"].iloc[0], color=PALETTE[3], ls="--", lw=1, label="launch")
    ax.set_ylabel(est.outcome)
    ax.set_title(f"{est.method}: observed vs counterfactual {est.outcome}")
    ax.legend(frameon=False, fontsize="small")
    return ax
