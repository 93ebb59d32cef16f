"""Sensitivity of an event-study conclusion to parallel-trends violations (Rambachan & Roth 2023).

The event study estimates ``beta = tau + delta`` for ``K`` pre-launch and ``T`` post-launch
periods relative to a reference period (``delta_0 = 0``, ``tau_pre = 0``), ``delta`` the unknown
violation of parallel trends. The target is ``theta = l' tau_post`` for any post-period
combination ``l_vec``. Two restrictions bound the post-launch ``delta`` by what happened before:

* **relative magnitudes** ``Delta^RM(Mbar)``: every post-launch one-period change of ``delta`` is
  at most ``Mbar`` times the largest pre-launch one-period change. The confidence set inverts the
  conditional-least-favourable hybrid moment-inequality test of Andrews, Roth & Pakes (2023),
  as HonestDiD's ``createSensitivityResults_relativeMagnitudes(method = "C-LF")``: the set is a
  union over which pre-launch change is the largest (and its sign); for each, the moments
  ``A delta <= 0`` are tested with the nuisance post-period effects profiled out by a linear
  programme, conditioning on the programme's optimal dual vertex (truncation ``[vlo, vup]``)
  after a first-stage least-favourable test of size ``kappa = alpha / 10``.
* **smoothness** ``Delta^SD(M)``: the slope of ``delta`` changes by at most ``M`` per period. The
  interval is the optimal fixed-length confidence interval (FLCI, Armstrong & Kolesár style) of
  HonestDiD's ``findOptimalFLCI``: the affine estimator ``l' beta_post + w' beta_pre`` whose
  half-length ``sd · cv_alpha(max bias / sd)`` is smallest (``cv_alpha(t)`` the ``1 - alpha``
  quantile of ``|N(t, 1)|``). The half-length is convex in the weights and minimised exactly.

The *breakdown value* is the smallest ``Mbar`` (or ``M``) at which the robust set includes zero:
the conclusion that the effect is non-zero survives any violation below it.

Differences from HonestDiD: the least-favourable critical value is simulated with this module's
seeded generator (HonestDiD uses R's); the set's end points are found on HonestDiD's grid and
then refined by bisection (HonestDiD reports grid points); the folded-normal quantile is computed
exactly (HonestDiD simulates it). On HonestDiD's Medicaid example the bounds agree to three
decimals (``tests/test_honest.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import optimize, sparse, stats
from scipy.special import ndtr, ndtri

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Check

F = TypeVar("F", bound=Callable[..., Any])
_PDF = 1.0 / np.sqrt(2 * np.pi)
_TOL = 1e-6  # equality tolerance of the conditioning programme (HonestDiD's tol_equality)


def _one_thread() -> AbstractContextManager[object]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scipy's usual stacks
        return nullcontext()
    return threadpool_limits(1)


def _single_threaded(fn: F) -> F:
    """Run ``fn``'s small dense linear algebra on one BLAS thread.

    Multi-threaded BLAS on tiny matrices stalls badly when the cores are shared (L-BFGS-B on
    a 30-dimensional problem was 24 times slower with two threads than with one).
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _one_thread():
            return fn(*args, **kwargs)

    return run  # type: ignore[return-value]


# ---------------------------------------------------------------- batched linear programmes
def _eta(Y: np.ndarray, X: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``eta = min_d max_i (y_i - X_i d) / sd_i`` for every row of ``Y``, with its dual vertex.

    Returns ``eta`` (``B``) and the optimal dual ``gamma`` (``B × m``, ``gamma >= 0``,
    ``gamma' sd = 1``, ``gamma' X = 0``), so ``eta = gamma' y``. ``nan`` where it fails.
    """
    B, m = Y.shape
    k = X.shape[1]
    if k == 0:
        z = Y / sd
        i = np.argmax(z, axis=1)
        gamma = np.zeros((B, m))
        gamma[np.arange(B), i] = 1.0 / sd[i]
        return z[np.arange(B), i], gamma
    eta = np.full(B, np.nan)
    gamma = np.full((B, m), np.nan)
    block = sparse.csr_matrix(np.hstack([-sd[:, None], -X]))
    step = max(1, 20_000 // m)
    for start in range(0, B, step):
        rows = slice(start, min(B, start + step))
        nb = rows.stop - rows.start
        A = sparse.block_diag([block] * nb, format="csr")
        c = np.zeros(nb * (k + 1))
        c[:: k + 1] = 1.0
        res = optimize.linprog(
            c, A_ub=A, b_ub=-Y[rows].ravel(), bounds=(None, None), method="highs-ds"
        )
        if res.status == 0:
            eta[rows] = res.x[:: k + 1]
            gamma[rows] = -res.ineqlin.marginals.reshape(nb, m)
        else:  # solve one by one so one bad programme does not lose the batch
            dense = block.toarray()
            for j in range(rows.start, rows.stop):
                r = optimize.linprog(
                    c[: k + 1], A_ub=dense, b_ub=-Y[j], bounds=(None, None), method="highs-ds"
                )
                if r.status == 0:
                    eta[j] = r.x[0]
                    gamma[j] = -r.ineqlin.marginals
    return eta, gamma


MAX_VERTEX_BASES = 20_000  # enumerate the dual vertices when there are at most this many bases


def _vertices(X: np.ndarray, sd: np.ndarray) -> np.ndarray | None:
    """Every vertex of ``{gamma >= 0, gamma' sd = 1, gamma' X = 0}`` (rows), or ``None``.

    A vertex is supported on ``k + 1`` moments whose ``[sd, X]`` rows are independent; with
    them all, ``eta(y) = max_v gamma_v' y`` exactly (linear-programming duality), with no
    programme to solve. ``None`` when the bases are too many to enumerate.
    """
    from itertools import combinations
    from math import comb

    m, k = X.shape
    if comb(m, k + 1) > MAX_VERTEX_BASES:
        return None
    W = np.hstack([sd[:, None], X])
    subsets = np.array(list(combinations(range(m), k + 1)), dtype=int)
    WB = W[subsets]  # n × (k+1) × (k+1): rows of the basis
    det = np.linalg.det(WB)
    scale = np.abs(WB).max(axis=(1, 2)) ** (k + 1)
    ok = np.abs(det) > 1e-12 * np.maximum(scale, 1e-300)
    subsets, WB = subsets[ok], WB[ok]
    e1 = np.zeros(k + 1)
    e1[0] = 1.0
    rhs = np.broadcast_to(e1[:, None], (len(WB), k + 1, 1))
    gB = np.linalg.solve(np.transpose(WB, (0, 2, 1)), rhs)[:, :, 0]
    keep = np.all(gB >= -1e-12, axis=1)
    if not keep.any():  # degenerate moments (e.g. zero variances): let the programme decide
        return None
    G = np.zeros((int(keep.sum()), m))
    np.put_along_axis(G, subsets[keep], np.clip(gB[keep], 0, None), axis=1)
    return G


def _truncation_vertices(
    y: np.ndarray, gamma: np.ndarray, eta: np.ndarray, G: np.ndarray, S: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form ``[vlo, vup]`` from the vertex list: ``g(c) = max_v gamma_v'(s + b c) <= c``."""
    Sg = gamma @ S
    var = np.einsum("bm,bm->b", Sg, gamma)
    b = Sg / var[:, None]
    s = y - b * eta[:, None]
    gs = s @ G.T  # B × V
    gb = b @ G.T
    slope = 1.0 - gb
    with np.errstate(divide="ignore", invalid="ignore"):
        root = gs / slope
    tied = np.abs(slope) <= 1e-10
    lo = np.where((slope > 0) & ~tied, root, -np.inf).max(axis=1)
    hi = np.where((slope < 0) & ~tied, root, np.inf).min(axis=1)
    return lo, hi


def _truncation(
    y: np.ndarray, gamma: np.ndarray, eta: np.ndarray, X: np.ndarray, sd: np.ndarray, S: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Values ``[vlo, vup]`` of ``gamma' y`` over which ``gamma`` stays the optimal dual vertex.

    ``y = s + b c`` with ``b = S gamma / gamma' S gamma`` and ``c = gamma' y``; the optimal value
    ``g(c) = eta(s + b c)`` is convex, piecewise linear and ``>= c``, equal to ``c`` exactly on
    ``[vlo, vup]``. Each end is found by Newton steps on ``g(c) - c`` (each step one programme,
    batched over rows; finite, since ``g`` has finitely many pieces), as HonestDiD's shortcut.
    """
    Sg = gamma @ S  # B × m
    var = np.einsum("bm,bm->b", Sg, gamma)
    b = Sg / var[:, None]
    s = y - b * eta[:, None]
    sigma_b = np.sqrt(var)
    out = []
    for side in (1.0, -1.0):
        far = eta + side * 20 * sigma_b
        c = np.maximum(100.0, far) if side > 0 else np.minimum(-100.0, far)
        value = np.full(len(eta), np.inf * side)
        active = np.ones(len(eta), dtype=bool)
        first = True
        for _ in range(60):
            idx = np.flatnonzero(active)
            if not len(idx):
                break
            g, gam = _eta(s[idx] + b[idx] * c[idx, None], X, sd)
            done = np.abs(g - c[idx]) <= _TOL
            if first:  # still optimal far away: the truncation is unbounded on this side
                value[idx[done]] = np.inf * side
                first = False
            else:
                value[idx[done]] = c[idx[done]]
            gs = np.einsum("bm,bm->b", gam, s[idx])
            gs = np.where(np.abs(gs) < np.finfo(float).eps ** 0.75, 0.0, gs)
            denom = 1.0 - np.einsum("bm,bm->b", gam, b[idx])
            with np.errstate(divide="ignore", invalid="ignore"):
                nxt = gs / denom
            bad = ~np.isfinite(nxt) | ~np.isfinite(g)
            value[idx[bad & ~done]] = c[idx[bad & ~done]]
            c[idx] = np.where(done | bad, c[idx], nxt)
            active[idx[done | bad]] = False
        value[active] = c[active]
        out.append(value)
    return out[1], out[0]


def _lf_cv(
    X: np.ndarray, S: np.ndarray, G: np.ndarray | None, kappa: float, sims: int, seed: int
) -> float:
    """Least-favourable critical value: ``1 - kappa`` quantile of ``eta`` for ``y ~ N(0, S)``."""
    rng = np.random.default_rng(seed)
    vals, vecs = np.linalg.eigh(S)
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    xi = rng.standard_normal((sims, len(S))) @ root.T
    eta = (xi @ G.T).max(axis=1) if G is not None else _eta(xi, X, np.sqrt(np.diag(S)))[0]
    return float(np.nanquantile(eta, 1 - kappa))


@dataclass(frozen=True)
class _Moments:
    """Moments ``Y - a theta - X nu <= 0`` of one relative-magnitudes piece (fixed ``s``, sign)."""

    Y: np.ndarray
    a: np.ndarray
    X: np.ndarray
    S: np.ndarray
    lf_cv: float
    G: np.ndarray | None  # dual vertices, when few enough to enumerate

    def eta(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Optimal value and dual vertex of the moment programme for each row of ``Y``."""
        if self.G is None:
            return _eta(Y, self.X, np.sqrt(np.diag(self.S)))
        vals = Y @ self.G.T
        i = np.argmax(vals, axis=1)
        return vals[np.arange(len(Y)), i], self.G[i]


def _accepts(mom: _Moments, thetas: np.ndarray, alpha: float, kappa: float) -> np.ndarray:
    """Conditional-least-favourable hybrid test of each ``theta``: ``True`` where not rejected."""
    thetas = np.atleast_1d(np.asarray(thetas, dtype=float))
    sd = np.sqrt(np.diag(mom.S))
    y = mom.Y[None, :] - np.outer(thetas, mom.a)
    eta, gamma = mom.eta(y)
    accept = np.ones(len(thetas), dtype=bool)  # a failed programme never rejects (HonestDiD)
    ok = np.isfinite(eta)
    first = ok & (eta > mom.lf_cv)
    accept[first] = False
    rest = np.flatnonzero(ok & ~first)
    if not len(rest):
        return accept
    var = np.einsum("bm,mn,bn->b", gamma[rest], mom.S, gamma[rest])
    tiny = np.abs(var) < np.finfo(float).eps
    accept[rest[tiny]] = ~(eta[rest[tiny]] > 0)
    rest = rest[~tiny]
    if not len(rest):
        return accept
    if mom.G is not None:
        vlo, vup = _truncation_vertices(y[rest], gamma[rest], eta[rest], mom.G, mom.S)
    else:
        vlo, vup = _truncation(y[rest], gamma[rest], eta[rest], mom.X, sd, mom.S)
    sigma_b = np.sqrt(np.einsum("bm,mn,bn->b", gamma[rest], mom.S, gamma[rest]))
    zlo = vlo / sigma_b
    zup = np.minimum(vup, mom.lf_cv) / sigma_b
    stat = eta[rest] / sigma_b
    inside = (zlo <= stat) & (stat <= zup)
    size = (alpha - kappa) / (1 - kappa)
    cval = np.zeros(len(rest))
    if inside.any():
        lo, hi = zlo[inside], zup[inside]
        cval[inside] = np.maximum(0.0, _truncnorm_ppf(1 - size, lo, hi))
    accept[rest] = ~inside | ~(stat > cval)
    return accept


def _truncnorm_ppf(p: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Quantile ``p`` of the standard normal truncated to ``[lo, hi]`` (tail-stable)."""
    upper = lo > 0  # in the upper tail work with survival functions, by symmetry
    a = np.where(upper, -hi, lo)
    b = np.where(upper, -lo, hi)
    q = np.where(upper, 1 - p, p)
    fa, fb = ndtr(a), ndtr(b)
    x = ndtri(fa + q * (fb - fa))
    return np.where(upper, -x, x)


def _rm_matrix(K: int, T: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """Return ``A``: ``A delta <= 0`` iff no change exceeds (``Mbar`` ×) the ``s``-th pre one."""
    n = K + T
    At = np.zeros((n, n + 1))
    for r in range(n):
        At[r, r], At[r, r + 1] = -1.0, 1.0
    v = np.zeros(n + 1)
    v[K + s - 1], v[K + s] = -1.0, 1.0
    if not positive:
        v = -v
    ub = np.vstack([np.tile(v, (K, 1)), np.tile(mbar * v, (T, 1))])
    A = np.vstack([At - ub, -At - ub])
    A = A[(A**2).sum(axis=1) > 1e-10]
    return np.delete(A, K, axis=1)


def _gamma_inverse(l_vec: np.ndarray) -> np.ndarray:
    """Inverse of an invertible matrix whose first row is ``l'`` (HonestDiD's construction)."""
    T = len(l_vec)
    drop = int(np.flatnonzero(l_vec)[-1])
    G = np.vstack([l_vec[None, :], np.delete(np.eye(T), drop, axis=0)])
    return np.linalg.inv(G)


def _rm_pieces(
    beta: np.ndarray,
    sigma: np.ndarray,
    K: int,
    l_vec: np.ndarray,
    mbar: float,
    *,
    kappa: float,
    sims: int,
    seed: int,
) -> list[_Moments]:
    T = len(l_vec)
    Ginv = _gamma_inverse(l_vec)
    pieces = []
    for s in range(-(K - 1), 1):
        for positive in (True, False):
            A = _rm_matrix(K, T, mbar, s, positive)
            A = A[np.any(A[:, K:] != 0, axis=1)]  # post-period moments only (HonestDiD)
            AG = A[:, K:] @ Ginv
            S = A @ sigma @ A.T
            X = AG[:, 1:]
            G = _vertices(X, np.sqrt(np.diag(S)))
            cv = _lf_cv(X, S, G, kappa, sims, seed)
            pieces.append(_Moments(A @ beta, AG[:, 0], X, S, cv, G))
    return pieces


@_single_threaded
def rm_confidence_set(
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_vec: np.ndarray,
    mbar: float,
    *,
    alpha: float = 0.05,
    grid_points: int = 1000,
    sims: int = 5000,
    seed: int = 0,
) -> tuple[float, float]:
    """Robust confidence set for ``l' tau_post`` under ``Delta^RM(Mbar)`` (C-LF hybrid).

    Parameters
    ----------
    betahat, sigma
        Event-study coefficients (``n_pre`` pre-launch ones first, reference period excluded)
        and their covariance.
    n_pre
        Pre-launch coefficients (at least one).
    l_vec
        Weights on the post-launch coefficients.
    mbar
        Bound on post-launch changes relative to the largest pre-launch change.
    alpha
        One minus the confidence level.
    grid_points
        Points of the initial grid (HonestDiD's: estimate ± 20 standard errors); end points are
        then refined by bisection.
    sims, seed
        Draws and seed of the least-favourable critical value.

    Returns
    -------
    (low, high)
        ``nan`` bounds when no grid point is accepted.
    """
    beta, sig, l_vec = _as_inputs(betahat, sigma, n_pre, l_vec)
    kappa = alpha / 10
    pieces = _rm_pieces(beta, sig, n_pre, l_vec, mbar, kappa=kappa, sims=sims, seed=seed)
    center = float(l_vec @ beta[n_pre:])
    sd_theta = float(np.sqrt(l_vec @ sig[n_pre:, n_pre:] @ l_vec))
    grid = center + np.linspace(-20, 20, grid_points) * sd_theta
    ends = []  # (piece, first accepted, last accepted) on the grid
    for p in pieces:
        acc = np.flatnonzero(_accepts(p, grid, alpha, kappa))
        if len(acc):
            ends.append((p, int(acc[0]), int(acc[-1])))
    if not ends:
        return float("nan"), float("nan")
    # only the pieces reaching the union's outermost grid points can hold its end points
    i_min = min(e[1] for e in ends)
    j_max = max(e[2] for e in ends)
    low = min(_refine(p, grid, i, -1, alpha, kappa) for p, i, _ in ends if i == i_min)
    high = max(_refine(p, grid, j, +1, alpha, kappa) for p, _, j in ends if j == j_max)
    return float(low), float(high)


def _refine(p: _Moments, grid: np.ndarray, i: int, step: int, alpha: float, kappa: float) -> float:
    """Bisect between accepted ``grid[i]`` and its rejected neighbour ``grid[i + step]``."""
    if not 0 <= i + step < len(grid):
        return float(grid[i])
    inside, outside = float(grid[i]), float(grid[i + step])
    for _ in range(30):
        mid = 0.5 * (inside + outside)
        if _accepts(p, np.array([mid]), alpha, kappa)[0]:
            inside = mid
        else:
            outside = mid
        if abs(outside - inside) < 1e-9 * max(1.0, abs(inside)):
            break
    return inside


@_single_threaded
def rm_accepts_zero(
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_vec: np.ndarray,
    mbar: float,
    *,
    alpha: float = 0.05,
    sims: int = 5000,
    seed: int = 0,
) -> bool:
    """Whether the ``Delta^RM(Mbar)`` confidence set contains zero."""
    beta, sig, l_vec = _as_inputs(betahat, sigma, n_pre, l_vec)
    kappa = alpha / 10
    for p in _rm_pieces(beta, sig, n_pre, l_vec, mbar, kappa=kappa, sims=sims, seed=seed):
        if _accepts(p, np.array([0.0]), alpha, kappa)[0]:
            return True
    return False


# ------------------------------------------------------------------------------- smoothness
def _folded_cv(mu: float, alpha: float) -> float:
    """``1 - alpha`` quantile of ``|N(mu, 1)|`` (Newton's method on its distribution function)."""
    mu = abs(mu)
    if not mu < 38.0:  # the lower fold is below 1e-300: the quantile is that of N(mu, 1)
        return float(mu + ndtri(1 - alpha))
    c = max(float(ndtri(1 - alpha / 2)), mu + float(ndtri(1 - alpha)))
    for _ in range(50):
        f = ndtr(c - mu) - ndtr(-c - mu) - (1 - alpha)
        d = _PDF * (np.exp(-0.5 * (c - mu) ** 2) + np.exp(-0.5 * (c + mu) ** 2))
        step = f / d
        c = max(c - step, 0.5 * c)
        if abs(step) < 1e-14 * max(1.0, c):
            break
    return float(c)


@_single_threaded
def flci(
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_vec: np.ndarray,
    m: float,
    *,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Optimal fixed-length confidence interval for ``l' tau_post`` under ``Delta^SD(M)``.

    Returns
    -------
    (low, high)
    """
    beta, sig, l_vec = _as_inputs(betahat, sigma, n_pre, l_vec)
    center, half = _flci_parts(beta, sig, n_pre, l_vec, m, alpha)
    return center - half, center + half


def _flci_parts(
    beta: np.ndarray, sig: np.ndarray, K: int, l_vec: np.ndarray, m: float, alpha: float
) -> tuple[float, float]:
    T = len(l_vec)
    steps = np.arange(1, T + 1)
    total = float(steps @ l_vec)
    const = sum(abs(float(np.arange(1, s + 1) @ l_vec[T - s :])) for s in steps) - total
    # pre-period weights in "w" space: partial sums S_1..S_{K-1} free, S_K = total
    # w = diff(S) (S_0 = 0); weights on beta_pre: l_pre = (w_1, w_2 - w_1, ..., w_K - w_{K-1})
    D = np.eye(K) - np.eye(K, k=-1)
    Diff = np.eye(K) - np.eye(K, k=-1)  # S -> w
    # l_pre = D @ Diff @ S_full, S_full = E @ free + e_K * total
    E = np.zeros((K, K - 1))
    E[: K - 1, :] = np.eye(K - 1)
    eK = np.zeros(K)
    eK[-1] = total
    L = D @ Diff
    a0 = np.concatenate([L @ eK, l_vec])
    Bm = np.vstack([L @ E, np.zeros((T, K - 1))])
    q0 = float(a0 @ sig @ a0)
    q1 = Bm.T @ sig @ a0
    Q = Bm.T @ sig @ Bm
    base_bias = const + abs(total)
    z = float(stats.norm.ppf(1 - alpha / 2))

    def parts(x: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
        free = x[: K - 1] - x[K - 1 :]
        var = q0 + 2 * q1 @ free + free @ Q @ free
        sd = float(np.sqrt(max(var, 1e-300)))
        dsd = (q1 + Q @ free) / sd
        bias = m * (base_bias + float(x.sum()))
        return sd, bias, dsd, free

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        sd, bias, dsd, _ = parts(x)
        if m == 0:
            return sd * z, np.concatenate([dsd * z, -dsd * z])
        mu = np.float64(bias) / sd
        cv = _folded_cv(mu, alpha)
        with np.errstate(over="ignore"):  # a far fold's density underflows to 0, as it should
            pa, pb = np.exp(-0.5 * (cv - mu) ** 2), np.exp(-0.5 * (cv + mu) ** 2)
        dcv = (pa - pb) / (pa + pb)
        d_sd = cv - mu * dcv
        grad_free = d_sd * dsd
        g = np.concatenate([grad_free, -grad_free]) + m * dcv
        return sd * cv, g

    best: tuple[float, np.ndarray] | None = None
    if K == 1:
        x = np.zeros(0)
        val = fun(x)[0]
        best = (val, x)
    else:
        # the half-length is convex in the weights: one start (the minimum-variance one) will do
        starts = [np.zeros(2 * (K - 1))]
        try:
            fmin = -np.linalg.solve(Q, q1)
            starts = [np.concatenate([np.clip(fmin, 0, None), np.clip(-fmin, 0, None)])]
        except np.linalg.LinAlgError:
            pass
        for x0 in starts:
            res = optimize.minimize(
                fun,
                x0,
                jac=True,
                method="L-BFGS-B",
                bounds=[(0, None)] * len(x0),
                options={"ftol": 1e-13, "gtol": 1e-11, "maxiter": 2000},
            )
            if best is None or res.fun < best[0]:
                best = (float(res.fun), res.x)
    assert best is not None
    half, x = best
    free = x[: K - 1] - x[K - 1 :] if K > 1 else np.zeros(0)
    weights = a0 + Bm @ free
    return float(weights @ beta), float(half)


# -------------------------------------------------------------------------------- front door
def _as_inputs(
    betahat: np.ndarray, sigma: np.ndarray, n_pre: int, l_vec: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    beta = np.asarray(betahat, dtype=float).ravel()
    sig = np.asarray(sigma, dtype=float)
    lv = np.asarray(l_vec, dtype=float).ravel()
    if n_pre < 1 or len(beta) != n_pre + len(lv) or sig.shape != (len(beta), len(beta)):
        raise SpecificationError(
            f"betahat ({len(beta)}), sigma {sig.shape}, n_pre ({n_pre}) and l_vec ({len(lv)}) "
            "do not conform: betahat needs n_pre pre-launch then len(l_vec) post-launch "
            "coefficients, sigma their square covariance, and n_pre >= 1."
        )
    return beta, sig, lv


@dataclass(frozen=True)
class Sensitivity:
    """Robust confidence sets over a grid of restrictions, and the breakdown values.

    Attributes
    ----------
    table
        One row per restriction and bound: ``restriction`` (``"relative_magnitudes"``,
        ``"smoothness"``), ``M`` (``Mbar`` for relative magnitudes), ``conf_low``,
        ``conf_high``, ``includes_zero``.
    breakdown_rm, breakdown_sd
        Smallest ``Mbar`` / ``M`` at which the robust set includes zero (``0`` when the
        estimate's own interval does, ``inf`` when none up to the search's end does).
    pre_change
        Largest absolute pre-launch one-period change of the event-study coefficients.
    estimate, se
        ``l' beta_post`` and its standard error.
    """

    table: pd.DataFrame
    breakdown_rm: float
    breakdown_sd: float
    pre_change: float
    estimate: float
    se: float


@_single_threaded
def honest_sensitivity(
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_vec: np.ndarray,
    *,
    mbar_vec: np.ndarray | None = None,
    m_vec: np.ndarray | None = None,
    alpha: float = 0.05,
    grid_points: int = 1000,
    sims: int = 5000,
    seed: int = 0,
    breakdown: bool = True,
) -> Sensitivity:
    """HonestDiD sensitivity table and breakdown values for ``l' tau_post``.

    ``mbar_vec`` defaults to ``0.5, 1, 1.5, 2``; ``m_vec`` to multiples ``0, 0.5, 1, 2`` of the
    largest pre-launch change of slope (second difference), or of the target's standard error
    when that is zero.
    """
    beta, sig, lv = _as_inputs(betahat, sigma, n_pre, l_vec)
    pre_full = np.r_[beta[:n_pre], 0.0]
    pre_change = float(np.max(np.abs(np.diff(pre_full))))
    theta = float(lv @ beta[n_pre:])
    se = float(np.sqrt(lv @ sig[n_pre:, n_pre:] @ lv))
    mbar_vec = np.array([0.5, 1.0, 1.5, 2.0]) if mbar_vec is None else np.asarray(mbar_vec)
    if m_vec is None:
        curv = np.abs(np.diff(pre_full, 2)) if n_pre >= 2 else np.array([])
        unit = float(curv.max()) if len(curv) and curv.max() > 0 else se
        m_vec = np.array([0.0, 0.5, 1.0, 2.0]) * unit
    rows = []
    for mb in mbar_vec:
        lo, hi = rm_confidence_set(
            beta,
            sig,
            n_pre,
            lv,
            float(mb),
            alpha=alpha,
            grid_points=grid_points,
            sims=sims,
            seed=seed,
        )
        rows.append(("relative_magnitudes", float(mb), lo, hi))
    for m in np.asarray(m_vec, dtype=float):
        center, half = _flci_parts(beta, sig, n_pre, lv, float(m), alpha)
        rows.append(("smoothness", float(m), center - half, center + half))
    table = pd.DataFrame(rows, columns=["restriction", "M", "conf_low", "conf_high"])
    table["includes_zero"] = (table["conf_low"] <= 0) & (table["conf_high"] >= 0)
    bd_rm = bd_sd = float("nan")
    if breakdown:
        bd_rm = _breakdown(
            lambda mb: rm_accepts_zero(beta, sig, n_pre, lv, mb, alpha=alpha, sims=sims, seed=seed),
            hi=max(4.0, float(np.max(mbar_vec, initial=0.0)) * 2),
        )

        bd_sd = _breakdown_sd(beta, sig, n_pre, lv, alpha, hi=max(10 * se, 1e-12))
    return Sensitivity(table, bd_rm, bd_sd, pre_change, theta, se)


def _breakdown_sd(
    beta: np.ndarray, sig: np.ndarray, K: int, lv: np.ndarray, alpha: float, hi: float
) -> float:
    """Smallest ``M`` at which the FLCI reaches zero: the root of ``|centre| - half-length``."""

    def gap(m: float) -> float:
        c, h = _flci_parts(beta, sig, K, lv, m, alpha)
        return abs(c) - h

    if gap(0.0) <= 0:
        return 0.0
    if gap(hi) > 0:
        return float("inf")
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-4 * hi, rtol=1e-6))


def _breakdown(test: Callable[[float], bool], hi: float, steps: int = 11) -> float:
    """Smallest bound at which the robust set includes zero (bisection; sets grow with it)."""
    if test(0.0):
        return 0.0
    if not test(hi):
        return float("inf")
    lo = 0.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if test(mid):
            hi = mid
        else:
            lo = mid
    return float(0.5 * (lo + hi))


# ------------------------------------------------------------------------ event-study bridge
MAX_POST_RM = 4  # post-launch periods the relative-magnitudes target averages at most


def sensitivity(
    terms: np.ndarray,
    est: np.ndarray,
    vcov: np.ndarray,
    *,
    level: float,
    varying: bool,
    seed: int | None = 0,
) -> Sensitivity | None:
    """HonestDiD sensitivity of the average early post-launch effect of an event study.

    Parameters
    ----------
    terms, est, vcov
        Event times (periods since launch, consecutive), effects and their covariance.
    level
        Confidence level.
    varying
        Whether pre-launch effects are one-period changes (varying base period); they are then
        cumulated into differences from period ``-1`` (with their covariance) first.
    seed
        Seed of the least-favourable critical values.

    Returns
    -------
    Sensitivity or None
        ``None`` without a pre-launch coefficient besides the reference or a post-launch one.
        The target averages the first ``MAX_POST_RM`` post-launch effects (all when fewer):
        the conditional test profiles out one nuisance per further period, and violations
        accumulated over many periods swamp any estimate (see ``details["honest_target"]``).
    """
    terms = np.asarray(terms)
    est = np.asarray(est, dtype=float)
    vcov = np.asarray(vcov, dtype=float)
    pre_idx = np.flatnonzero((terms < 0) & (varying | (terms != -1)))
    post_idx = np.flatnonzero(terms >= 0)[:MAX_POST_RM]
    if len(pre_idx) == 0 or len(post_idx) == 0:
        return None
    order = pre_idx[np.argsort(terms[pre_idx])]
    if varying:
        # delta_e = -sum_{e < s <= -1} b_s, for e = min - 1, ..., -2
        C = np.zeros((len(order), len(terms)))
        for r in range(len(order)):
            C[r, order[r:]] = -1.0
    else:
        C = np.eye(len(terms))[order]
    T = np.vstack([C, np.eye(len(terms))[post_idx]])
    beta = T @ est
    sig = T @ vcov @ T.T
    if not np.all(np.isfinite(beta)) or not np.all(np.isfinite(sig)):
        return None
    l_vec = np.full(len(post_idx), 1.0 / len(post_idx))
    return honest_sensitivity(
        beta,
        sig,
        len(order),
        l_vec,
        alpha=1 - level,
        grid_points=200,
        sims=1000,
        seed=0 if seed is None else seed,
    )


def sensitivity_check(s: Sensitivity | None) -> Check:
    """Build the ``"sensitivity"`` robustness :class:`Check` from a :class:`Sensitivity`.

    It passes when the conclusion that the effect is non-zero survives post-launch violations
    as large as the largest pre-launch one (relative-magnitudes breakdown ``Mbar >= 1``).
    """
    if s is None:
        return Check(
            name="sensitivity",
            passed=False,
            kind="robustness",
            message=(
                "Robustness to parallel-trends violations could not be measured: it needs a "
                "pre-launch period besides the reference and a post-launch period."
            ),
        )
    rm = s.breakdown_rm
    target = "the average effect of the first post-launch periods"
    if rm == 0:
        verdict = (
            f"{target} is not distinguishable from zero even with parallel trends exactly true, "
            "so there is no conclusion whose robustness could be measured"
        )
    else:
        bound = "any size tried" if np.isinf(rm) else f"Mbar = {rm:.2g} times"
        verdict = (
            f"the conclusion that {target} is non-zero survives violations of parallel trends "
            f"up to {bound} the largest pre-launch change"
            + (
                " (violations as large as those seen before launch would not overturn it)"
                if rm >= 1
                else " (a violation smaller than the largest seen before launch would overturn it)"
            )
        )
    return Check(
        name="sensitivity",
        passed=bool(rm >= 1),
        statistic=float(rm),
        kind="robustness",
        message=(
            f"Robustness (HonestDiD relative magnitudes, conditional-least-favourable test): "
            f"{verdict}. Under smoothness the conclusion survives changes of slope up to "
            f"M = {s.breakdown_sd:.3g} outcome units per period."
        ),
    )
