"""Data-driven bins and global polynomial fits for the RD plot (as rdplot's defaults).

Bins are evenly spaced on each side with the mimicking-variance number of bins (rdplot's
``esmv``; ``esmvpr`` when the running variable has mass points), capped at :data:`MAX_BINS` per
side so that the picture and the stored table stay readable. The fitted curves are global
polynomials of order 4 on each side, as in rdplot.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.design.rdd._locpoly import horner, poly_moments

MAX_BINS = 500
PLOT_ORDER = 4
CURVE_POINTS = 100


def _global_fit(x: np.ndarray, y: np.ndarray, order: int, scale: float) -> np.ndarray:
    """Unweighted polynomial coefficients of ``y`` on ``x / scale``."""
    inv_g, rwd = poly_moments(x / scale, None, y, order)
    return inv_g @ rwd


def _n_bins(x: np.ndarray, y: np.ndarray, span: float, n_total: int, mass: bool) -> int:
    """Return rdplot's mimicking-variance number of evenly spaced bins on one side."""
    var_y = float(np.var(y, ddof=1)) if len(y) > 1 else 0.0
    if var_y == 0 or span <= 0:
        return 1
    dx = np.diff(x)
    if mass:
        scale = span
        b1 = _global_fit(x, y, PLOT_ORDER, scale)
        b2 = _global_fit(x, y * y, PLOT_ORDER, scale)
        mid = (x[1:] + x[:-1]) / (2 * scale)
        s2 = horner(b2, mid) - horner(b1, mid) ** 2
        s2 = np.where(s2 < 0, var_y, s2)
        v = float(np.sum(dx * s2)) / span
    else:
        v = 0.5 / span * float(np.sum(dx * np.diff(y) ** 2))
    if not v > 0:
        return 1
    j = math.ceil((var_y / v) * (n_total / math.log(n_total) ** 2))
    return int(min(max(j, 1), MAX_BINS))


def _side_bins(x: np.ndarray, y: np.ndarray, edges: np.ndarray, side: str,
               level: float) -> pd.DataFrame:
    j = len(edges) - 1
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, j - 1)
    n = np.bincount(idx, minlength=j).astype(float)
    sy = np.bincount(idx, weights=y, minlength=j)
    syy = np.bincount(idx, weights=y * y, minlength=j)
    sx = np.bincount(idx, weights=x, minlength=j)
    keep = n > 0
    n, sy, syy, sx = n[keep], sy[keep], syy[keep], sx[keep]
    mean = sy / n
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, (syy - n * mean**2) / (n - 1), 0.0)
    se = np.sqrt(np.maximum(var, 0.0) / n)
    crit = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
    lo, hi = edges[:-1][keep], edges[1:][keep]
    return pd.DataFrame({
        "side": side, "bin_low": lo, "bin_high": hi, "x_mid": (lo + hi) / 2, "x_mean": sx / n,
        "y_mean": mean, "y_se": se, "conf_low": mean - crit * se, "conf_high": mean + crit * se,
        "n": n.astype(int),
    })


def rd_bins(
    xl: np.ndarray, yl: np.ndarray, xr: np.ndarray, yr: np.ndarray, mass: bool, level: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Binned means with intervals, and the global polynomial curves, in centred units.

    Returns
    -------
    bins
        One row per non-empty bin: ``side, bin_low, bin_high, x_mid, x_mean, y_mean, y_se,
        conf_low, conf_high, n``.
    curve
        ``side, x, fit``: the order-4 global polynomial of each side on a grid.
    """
    n = len(xl) + len(xr)
    span_l, span_r = -float(xl[0]), float(xr[-1])
    j_l = _n_bins(xl, yl, span_l, n, mass)
    j_r = _n_bins(xr, yr, span_r, n, mass)
    bins = pd.concat([
        _side_bins(xl, yl, np.linspace(xl[0], 0.0, j_l + 1), "left", level),
        _side_bins(xr, yr, np.linspace(0.0, xr[-1], j_r + 1), "right", level),
    ], ignore_index=True)
    curves = []
    for side, x, y, span in (("left", xl, yl, span_l), ("right", xr, yr, span_r)):
        coef = _global_fit(x, y, PLOT_ORDER, span)
        grid = np.linspace(x[0], 0.0, CURVE_POINTS) if side == "left" else np.linspace(
            0.0, x[-1], CURVE_POINTS)
        curves.append(pd.DataFrame({"side": side, "x": grid,
                                    "fit": horner(coef, grid / span)}))
    return bins, pd.concat(curves, ignore_index=True)
