"""Bootstraps of a linear combination ``c'b`` of least-squares coefficients, by cluster.

``"multiplier"``: the score bootstrap — cluster scores perturbed by Rademacher weights, standard
error from the draws' interquartile range, normal interval. ``"wild"``: the wild cluster
bootstrap-t (unrestricted) with Webb's six-point weights (reliable with few clusters; Cameron,
Gelbach & Miller 2008; Webb 2023) — each draw is re-studentised with its own cluster-robust
variance, and the p-value and interval come from the distribution of ``|t*|``. Both are exact
and vectorised over draws: a draw costs ``O(G)`` (``O(G²)`` for the studentised one, limited to
``MAX_STUDENT`` clusters; beyond it there is no few-cluster problem and the unstudentised draws
are used).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from causal_kit.core.errors import DataError
from causal_kit.design.did.inference import SE_FLOOR

MAX_STUDENT = 3000
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


@dataclass(frozen=True)
class OlsBoot:
    """Bootstrap result for one linear combination."""

    draws: np.ndarray  # bootstrap draws of the estimate
    se: float
    ci: tuple[float, float]
    p_value: float
    kind: str


def ols_bootstrap(
    X: np.ndarray,
    resid: np.ndarray,
    c: np.ndarray,
    estimate: float,
    cluster: np.ndarray | None,
    *,
    kind: str,
    n_boot: int,
    seed: int | None,
    level: float,
    small_sample: float,
) -> OlsBoot:
    """Bootstrap ``c'b`` from the fitted design ``X`` and residuals.

    Parameters
    ----------
    X, resid
        Design (after absorbing fixed effects) and residuals of the fit.
    c
        Weights of the linear combination.
    estimate
        ``c'b``.
    cluster
        Cluster codes (rows are their own clusters when ``None``).
    kind
        ``"multiplier"`` or ``"wild"``.
    n_boot, seed, level
        Draws, seed and confidence level.
    small_sample
        Factor of the cluster-robust variance (e.g. ``G/(G-1)·(n-1)/(n-K)``).
    """
    codes = np.arange(len(resid)) if cluster is None else np.unique(cluster, return_inverse=True)[1]
    G = int(codes.max()) + 1
    if G < 2:
        raise DataError("the bootstrap needs at least two clusters.")
    A = np.linalg.inv(X.T @ X)
    ac = A @ c
    r = X @ ac  # c'(X'X)^{-1} x_i
    q = np.bincount(codes, weights=r * resid, minlength=G)  # c'A s_g
    rng = np.random.default_rng(seed)
    if kind == "wild":
        V = _WEBB[rng.integers(0, 6, size=(n_boot, G))]
    else:
        V = rng.integers(0, 2, size=(n_boot, G)) * 2.0 - 1.0
    pert = V @ q
    draws = estimate + pert
    if kind == "multiplier":
        q75, q25 = np.quantile(pert, [0.75, 0.25], method="inverted_cdf")
        se = float((q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25)))
        if se <= SE_FLOOR:
            se = float("nan")
        z = stats.norm.ppf(0.5 + level / 2)
        p = float(2 * stats.norm.sf(abs(estimate / se))) if np.isfinite(se) else float("nan")
        return OlsBoot(draws, se, (estimate - z * se, estimate + z * se), p, "multiplier")
    se0 = float(np.sqrt(small_sample * np.sum(q**2)))
    if G <= MAX_STUDENT:
        # scores of the re-estimated residuals: u_g = v_g q_g - sum_h M_gh v_h
        R = np.zeros((G, X.shape[1]))
        for j in range(X.shape[1]):
            R[:, j] = np.bincount(codes, weights=r * X[:, j], minlength=G)
        S = np.zeros((G, X.shape[1]))
        for j in range(X.shape[1]):
            S[:, j] = np.bincount(codes, weights=X[:, j] * resid, minlength=G)
        M = R @ A @ S.T
        U = V * q - V @ M.T
        se_star = np.sqrt(small_sample * np.sum(U**2, axis=1))
    else:
        se_star = np.full(n_boot, se0)
    t_star = np.abs(pert / se_star)
    t0 = abs(estimate / se0)
    p = float((np.sum(t_star >= t0) + 1) / (n_boot + 1))
    crit = float(np.quantile(t_star, level, method="inverted_cdf"))
    return OlsBoot(draws, se0, (estimate - crit * se0, estimate + crit * se0), p, "wild")


def bootstrap_fit(
    spec: object,
    X: np.ndarray,
    resid: np.ndarray,
    c: np.ndarray,
    estimate: float,
    cluster: np.ndarray | None,
    k: int,
) -> OlsBoot | None:
    """Run the bootstrap ``spec.bootstrap`` asks for on a fitted regression (``None``: none)."""
    kind = getattr(spec, "bootstrap", "none")
    if kind == "none":
        return None
    n = len(resid)
    G = n if cluster is None else len(np.unique(cluster))
    factor = (G / (G - 1)) * ((n - 1) / (n - k)) if cluster is not None else n / (n - k)
    return ols_bootstrap(
        X,
        resid,
        c,
        estimate,
        cluster,
        kind=kind,
        n_boot=getattr(spec, "n_boot", 999),
        seed=getattr(spec, "seed", None),
        level=getattr(spec, "level", 0.95),
        small_sample=factor,
    )
