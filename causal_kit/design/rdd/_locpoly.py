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
    Values within a relative 1e-12 of the edge are resolved with the kernel itself, so the
    window is exactly the set of positive weights (ties at the edge enter or leave together).
    """
    a, b = h * (1 - 1e-12), h * (1 + 1e-12)
    if left:
        outer = int(np.searchsorted(x, -b, side="left"))
        inner = int(np.searchsorted(x, -a, side="right"))
        edge = kernel_weights(x[outer:inner], h, kernel)
        return slice(outer + int(np.count_nonzero(edge <= 0)), len(x))
    inner = int(np.searchsorted(x, a, side="left"))
    outer = int(np.searchsorted(x, b, side="right"))
    edge = kernel_weights(x[inner:outer], h, kernel)
    return slice(0, inner + int(np.count_nonzero(edge > 0)))


def wsum(w: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Return ``w' d`` summed over observations, outside BLAS (threads contend on long vectors)."""
    return np.einsum("i,i...->...", w, d)


def vander(u: np.ndarray, order: int) -> np.ndarray:
    """Return the basis ``[1, u, u**2, ..., u**order]`` as an ``(n, order + 1)`` array."""
    out = np.empty((len(u), order + 1))
    out[:, 0] = 1.0
    for j in range(1, order + 1):
        np.multiply(out[:, j - 1], u, out=out[:, j])
    return out


def poly_moments(
    u: np.ndarray, w: np.ndarray | None, d: np.ndarray, order: int
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse Gram matrix and ``R'WD`` of the basis ``[1, u, ..., u**order]`` from power sums.

    The same numbers as building the basis, in memory proportional to ``n`` (for fits on a whole
    side of the cutoff). ``w=None`` means unit weights.
    """
    pw = np.ones_like(u) if w is None else w.copy()
    mom = np.empty(2 * order + 1)
    rwd = np.empty((order + 1, *d.shape[1:]))
    for m in range(2 * order + 1):
        mom[m] = pw.sum()
        if m <= order:
            rwd[m] = wsum(pw, d)
        if m < 2 * order:
            pw *= u
    gram = np.array([[mom[i + j] for j in range(order + 1)] for i in range(order + 1)])
    return inv_sym(gram), rwd


def horner(coef: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Evaluate ``sum_j coef[j] u**j``."""
    out = np.full_like(u, coef[-1], dtype=float)
    for c in coef[-2::-1]:
        out *= u
        out += c
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
    the running variable (ties always enter together, equidistant neighbours on both sides
    too); the residual is scaled by ``sqrt(J / (J + 1))`` where ``J`` is the number of
    neighbours.

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
    if n < 2:
        return np.zeros_like(d, dtype=float)
    new = x[1:] != x[:-1]
    ties = not bool(new.all())
    if ties:
        starts = np.flatnonzero(np.concatenate([[True], new]))
        counts = np.diff(np.append(starts, n))
        gx = x[starts]
    else:
        gx = x
    ng = len(gx)
    cap = min(matches, n - 1)
    pad = cap + 1
    gxp = np.concatenate([np.full(pad, -np.inf), gx, np.full(pad, np.inf)])
    lo = np.arange(pad, pad + ng)
    hi = lo.copy()
    if ties:
        cpad = np.concatenate([np.zeros(pad, dtype=np.int64), counts, np.zeros(pad, np.int64)])
        cnt = counts - 1
    else:
        cnt = np.zeros(ng, dtype=np.int64)
    for _ in range(cap):
        active = cnt < cap
        if not active.any():
            break
        dl = gx - gxp[lo - 1]
        dr = gxp[hi + 1] - gx
        tol = np.minimum(np.maximum(dl, dr), 1e300) * SQRT_EPS
        with np.errstate(invalid="ignore"):
            go_r = (dl - dr) > tol
            go_l = (dr - dl) > tol
        tie = ~(go_r | go_l)
        step_r = active & (go_r | tie)
        step_l = active & (go_l | tie)
        hi += step_r
        lo -= step_l
        if ties:
            cnt += step_r * cpad[hi] + step_l * cpad[lo]
        else:
            cnt += step_r
            cnt += step_l
    centred = d - d.mean(axis=0)
    csum = np.empty((n + 1, d.shape[1]))
    csum[0] = 0.0
    np.cumsum(centred, axis=0, out=csum[1:])
    lo -= pad
    hi -= pad
    if ties:
        gsum = csum[starts[hi] + counts[hi]] - csum[starts[lo]]
        gsum = np.repeat(gsum, counts, axis=0)
        j = np.repeat(cnt, counts).astype(float)[:, None]
    else:
        gsum = csum[hi + 1] - csum[lo]
        j = cnt.astype(float)[:, None]
    return np.sqrt(j / (j + 1)) * (centred - (gsum - centred) / j)


def cached_nn(
    cache: dict, key: tuple, x: np.ndarray, d: np.ndarray, matches: int
) -> np.ndarray:
    """Nearest-neighbour residuals of a window, computed once per window and column set."""
    if key not in cache:
        cache[key] = nn_residuals(x, d, matches)
    out: np.ndarray = cache[key]
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
        return float(np.einsum("i,i->", z, z))
    sums = np.bincount(cluster, weights=z)
    g = int(np.count_nonzero(np.bincount(cluster)))
    n = len(z)
    if g < 2 or n <= n_params:
        return float("nan")
    w = ((n - 1) / (n - n_params)) * (g / (g - 1))
    return float(w * (sums @ sums))
