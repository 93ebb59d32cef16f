"""Pictures of an RD estimate, drawn from what :func:`rdd` stored in ``details``.

Each function takes the :class:`~causal_kit.core.estimate.Estimate` returned by ``rdd`` and an
optional Axes, and returns the Axes; nothing is recomputed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Estimate
from causal_kit.core.plot import PALETTE, plt


def _need(est: Estimate, key: str) -> pd.DataFrame:
    if not est.method.startswith("rdd"):
        raise SpecificationError(f"this plot needs an estimate from ck.rdd; got {est.method!r}.")
    table = est.details.get(key)
    if table is None:
        raise SpecificationError(
            f"the estimate has no {key!r}; re-run ck.rdd with checks=True to draw this plot."
        )
    return table


def _axes(ax: Any) -> Any:
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def _cutoff_line(ax: Any, est: Estimate) -> None:
    ax.axvline(est.details["cutoff"], color="0.3", lw=1, ls="--", label="cutoff")


def plot_rd(est: Estimate, ax: Any = None, *, show_local: bool = True) -> Any:
    """Binned scatter with intervals, global polynomial fits and the local fit at the cutoff.

    Bins are data-driven (rdplot's mimicking-variance rule); the curves are order-4 global
    polynomials on each side as in rdplot, and the local polynomial of the estimate inside the
    bandwidth.

    Parameters
    ----------
    est
        An estimate from ``ck.rdd``.
    ax
        Axes to draw on; a new figure when ``None``.
    show_local
        Also draw the local polynomial fit used for the estimate.

    Returns
    -------
    matplotlib.axes.Axes
    """
    bins = _need(est, "rdplot_bins")
    curve = _need(est, "rdplot_fit")
    ax = _axes(ax)
    for i, side in enumerate(("left", "right")):
        b = bins[bins["side"] == side]
        yerr = np.vstack([b["y_mean"] - b["conf_low"], b["conf_high"] - b["y_mean"]])
        ax.errorbar(b["x_mid"], b["y_mean"], yerr=yerr, fmt="o", ms=3, color=PALETTE[i],
                    ecolor=PALETTE[i], alpha=0.7, elinewidth=0.8,
                    label="binned means" if i == 0 else None)
        c = curve[curve["side"] == side]
        ax.plot(c["x"], c["fit"], color=PALETTE[i], lw=1.5,
                label="global polynomial (order 4)" if i == 0 else None)
        if show_local and "local_fit" in est.details:
            loc = est.details["local_fit"]
            loc = loc[loc["side"] == side]
            ax.plot(loc["x"], loc["fit"], color=PALETTE[3], lw=2.2,
                    label=f"local fit (p = {est.details['p']})" if i == 0 else None)
    _cutoff_line(ax, est)
    # bins holding one or two observations have huge t intervals; keep the means in view
    lo = float(np.nanmin([bins["y_mean"].min(), curve["fit"].min()]))
    hi = float(np.nanmax([bins["y_mean"].max(), curve["fit"].max()]))
    pad = 0.15 * (hi - lo if hi > lo else abs(hi) + 1.0)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(est.params.get("running", "running variable"))
    ax.set_ylabel(est.outcome)
    ax.set_title(f"{est.method}: {est.estimate:.4g} [{est.ci[0]:.4g}, {est.ci[1]:.4g}]")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_density(est: Estimate, ax: Any = None) -> Any:
    """Histogram of the running variable near the cutoff with the local polynomial densities.

    The bands are pointwise intervals at the estimate's level from the density test's jackknife
    variance; the title reports the manipulation test.

    Returns
    -------
    matplotlib.axes.Axes
    """
    hist = _need(est, "density_hist")
    curve = _need(est, "density_curve")
    test = est.details["density_test"]
    from scipy import stats

    z = float(stats.norm.ppf(0.5 + est.level / 2))
    ax = _axes(ax)
    for i, side in enumerate(("left", "right")):
        hb = hist[hist["side"] == side]
        ax.bar(hb["bin_low"], hb["density"], width=(hb["bin_high"] - hb["bin_low"]),
               align="edge", color=PALETTE[i], alpha=0.25, edgecolor="white")
        c = curve[curve["side"] == side]
        ax.plot(c["x"], c["density"], color=PALETTE[i], lw=2)
        ax.fill_between(c["x"], c["density"] - z * c["se"], c["density"] + z * c["se"],
                        color=PALETTE[i], alpha=0.2)
    _cutoff_line(ax, est)
    ax.set_xlabel(est.params.get("running", "running variable"))
    ax.set_ylabel("density")
    ax.set_title(f"Density test: T = {test['statistic']:.3f}, p = {test['p_value']:.3g}")
    return ax


def plot_bandwidth(est: Estimate, ax: Any = None) -> Any:
    """Plot the estimate and its robust interval across bandwidths (the sensitivity check).

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = _need(est, "bandwidth_sensitivity").dropna(subset=["estimate"])
    ax = _axes(ax)
    h = table["h_left"].to_numpy(dtype=float)
    yerr = np.vstack([table["estimate"] - table["conf_low"],
                      table["conf_high"] - table["estimate"]])
    ax.errorbar(h, table["estimate"], yerr=yerr, fmt="o", color=PALETTE[0], capsize=3,
                label=f"estimate, robust {est.level:.0%} interval")
    main = table[table["factor"] == 1.0]
    if not main.empty:
        ax.plot(main["h_left"], main["estimate"], "s", color=PALETTE[3], ms=8,
                label="selected bandwidth")
    ax.axhline(0, color="0.4", lw=0.8)
    unit = " (days)" if "time" in est.details else ""
    ax.set_xlabel(f"bandwidth h{unit}")
    ax.set_ylabel(f"effect on {est.outcome}")
    ax.set_title("Bandwidth sensitivity")
    ax.legend(frameon=False, fontsize=8)
    return ax
