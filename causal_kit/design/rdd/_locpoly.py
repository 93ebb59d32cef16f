"""Kernel-weighted local polynomial building blocks: windows, weights, residuals, variances.

Every function works on one side of the cutoff, on a running variable that is centred at the
cutoff and sorted ascending, so a bandwidth window is a contiguous slice found by binary search.
Polynomial bases are built on ``u = x / scale`` for numerical stability; callers convert
coefficients back to the running variable's units where they need them.
"""

from __future__ import annotations

import numpy as np

SQRT_EPS = float(np.sqrt(np.finfo(float).eps))


def kernel_weights(x: np.ndarray, h: float, kernel: str) -> np.ndarray:
    """Return the kernel weights ``K(x / h) / h`` (zero outside the window).

    Parameters
    ----------
    x
        Running variable centred at the cutoff.
    h
        Bandwidth.
    kernel
        ``"triangular"``, ``"uniform"`` or ``"epanechnikov"``.
    """
    u = x / h
    a = np.abs(u)
    if kernel == "uniform":
        return (0.5 * (a <= 1)) / h
    if kernel == "epanechnikov":
        return (0.75 * (1 - u * u) * (a <= 1)) / h
    return ((1 - a) * (a <= 1)) / h


def window(x: np.ndarray, h: float, kernel: str, left: bool) -> slice:
    """Return the slice of sorted, centred ``x`` that gets a positive kernel weight at ``h``.

    On the left side (``x < 0``) the window is a suffix of the array, on the right a prefix.
    """
    pad = h * (1 + 1e-12)
    if left:
        lo = int(np.searchsorted(x, -pad, side="left"))
        hi = len(x)
        edge = x[lo : min(lo + 64, hi)]
        lo += int(np.count_nonzero(kernel_weights(edge, h, kernel) <= 0))
    else:
        lo = 0
        hi = int(np.searchsorted(x, pad, side="right"))
        edge = x[max(hi - 64, 0) : hi]
        hi -= int(np.count_nonzero(kernel_weights(edge, h, kernel) <= 0))
    return slice(lo, max(lo, hi))


def vander(u: np.ndarray, order: int) -> np.ndarray:
    """Return the basis ``[1, u, u**2, ..., u**order]`` as an ``(n, order + 1)`` array."""
    out = np.empty((len(u), order + 1))
    out[:, 0] = 1.0
    for j in range(1, order + 1):
        np.multiply(out[:, j - 1], u, out=out[:, j])
    return out


def inv_sym(g: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive-definite matrix (Cholesky), pseudo-inverse if singular."""
    try:
        c = np.linalg.cholesky(g)
        ci = np.linalg.inv(c)
        return ci.T @ ci
    except np.linalg.LinAlgError:
        return np.linalg.pinv(g)


def n_distinct(x: np.ndarray) -> int:
    """Count the distinct values of a sorted array."""
    if len(x) == 0:
        return 0
    return int(np.count_nonzero(x[1:] != x[:-1])) + 1


def nn_residuals(x: np.ndarray, d: np.ndarray, matches: int) -> np.ndarray:
    """Nearest-neighbour residuals of every column of ``d`` (rdrobust's ``vce="nn"``).

    Each observation is compared with the mean of its at-least-``matches`` nearest neighbours in
    the running variable (ties always enter together); the residual is scaled by
    ``sqrt(J / (J + 1))`` where ``J`` is the number of neighbours.

    Parameters
    ----------
    x
        Sorted running variable of the window.
    d
        ``(n, k)`` columns whose residuals are wanted.
    matches
        Minimum number of neighbours.
    """
    n = len(x)
    out = np.zeros_like(d, dtype=float)
    if n < 2:
        return out
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(x[1:], x[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ng = len(starts)
    ends = np.append(starts[1:], n)
    counts = ends - starts
    gx = x[starts]
    cap = min(matches, n - 1)
    lo = np.arange(ng)
    hi = lo.copy()
    cnt = counts - 1
    active = cnt < cap
    while active.any():
        idx = np.flatnonzero(active)
        l_, h_ = lo[idx], hi[idx]
        no_left = l_ == 0
        no_right = h_ == ng - 1
        dl = np.where(no_left, np.inf, gx[idx] - gx[np.maximum(l_ - 1, 0)])
        dr = np.where(no_right, np.inf, gx[np.minimum(h_ + 1, ng - 1)] - gx[idx])
        both_open = ~no_left & ~no_right
        tol = np.where(both_open, np.maximum(dl, dr) * SQRT_EPS, 0.0)
        go_right = no_left | (both_open & (dl - dr > tol))
        go_left = (no_right & ~no_left) | (both_open & (dr - dl > tol))
        tie = both_open & ~go_right & ~go_left
        step_r = go_right | tie
        step_l = go_left | tie
        new_h = np.where(step_r, h_ + 1, h_)
        new_l = np.where(step_l, l_ - 1, l_)
        add = np.where(step_r, counts[np.minimum(new_h, ng - 1)], 0) + np.where(
            step_l, counts[np.maximum(new_l, 0)], 0
        )
        hi[idx] = new_h
        lo[idx] = new_l
        cnt[idx] = cnt[idx] + add
        active[idx] = cnt[idx] < cap
    centred = d - d.mean(axis=0)
    csum = np.vstack([np.zeros((1, d.shape[1])), np.cumsum(centred, axis=0)])
    gsum = csum[ends[hi]] - csum[starts[lo]]
    group = np.repeat(np.arange(ng), counts)
    j = cnt[group].astype(float)[:, None]
    out = np.sqrt(j / (j + 1)) * (centred - (gsum[group] - centred) / j)
    return out


def hc_residuals(
    d: np.ndarray, pred: np.ndarray, vce: str, n_params: int, hii: np.ndarray | None
) -> np.ndarray:
    """Residuals ``d - pred`` with the HC0–HC3 scaling (plain residuals for ``"plain"``)."""
    res = d - pred
    n = len(d)
    if vce == "hc1":
        return res * np.sqrt(n / (n - n_params))
    if vce in ("hc2", "hc3") and hii is not None:
        lev = 1 / np.maximum(1 - hii, 1e-8)
        return res * (np.sqrt(lev) if vce == "hc2" else lev)[:, None]
    return res


def quad_variance(
    influence: np.ndarray,
    resid: np.ndarray,
    cluster: np.ndarray | None,
    n_params: int,
) -> float:
    """Sandwich variance ``sum_i (l_i r_i)^2`` or its CR1 cluster version.

    Parameters
    ----------
    influence
        Equivalent-kernel weights ``l_i`` of the linear estimator.
    resid
        Residuals already combined across columns (``res @ s``).
    cluster
        Integer cluster codes of the window, or ``None``.
    n_params
        Number of regression parameters, for the CR1 degrees-of-freedom factor.
    """
    z = influence * resid
    if cluster is None:
        return float(z @ z)
    sums = np.bincount(cluster, weights=z)
    g = int(np.count_nonzero(np.bincount(cluster)))
    n = len(z)
    if g < 2 or n <= n_params:
        return float("nan")
    w = ((n - 1) / (n - n_params)) * (g / (g - 1))
    return float(w * (sums @ sums))
