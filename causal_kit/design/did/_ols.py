"""Least squares with absorbed fixed effects and classical, HC1 or cluster-robust variances."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from causal_kit.core.errors import ConvergenceError, DataError


def absorb(
    M: np.ndarray, fes: Sequence[np.ndarray], *, tol: float = 1e-11, max_iter: int = 10_000
) -> np.ndarray:
    """Return the columns of ``M`` with every fixed effect in ``fes`` projected out.

    Alternating projections (group-mean sweeps with :func:`numpy.bincount`); one sweep is exact
    for a single effect or a balanced two-way layout, unbalanced layouts iterate to ``tol``.

    Parameters
    ----------
    M
        ``(n, k)`` (or ``(n,)``) array.
    fes
        Integer codes ``0..L-1`` of each fixed effect, each of length ``n``.
    tol
        Convergence tolerance on the largest group mean removed in a sweep (relative to scale).
    max_iter
        Sweeps before giving up.
    """
    out = np.array(M, dtype=float, copy=True)
    flat = out.ndim == 1
    if flat:
        out = out[:, None]
    if not fes:
        return out[:, 0] if flat else out
    counts = [np.bincount(f).astype(float) for f in fes]
    scale = 1.0 + float(np.max(np.abs(out))) if out.size else 1.0
    for _ in range(max_iter):
        change = 0.0
        for f, cnt in zip(fes, counts, strict=True):
            safe = np.where(cnt > 0, cnt, 1.0)
            for j in range(out.shape[1]):
                means = np.bincount(f, weights=out[:, j], minlength=len(cnt)) / safe
                out[:, j] -= means[f]
                change = max(change, float(np.max(np.abs(means))))
        if len(fes) == 1 or change <= tol * scale:
            return out[:, 0] if flat else out
    raise ConvergenceError(
        f"fixed effects did not converge after {max_iter} sweeps; the panel may be badly "
        "disconnected. Drop isolated units or periods."
    )


@dataclass(frozen=True)
class OlsFit:
    """Coefficients, their variance and the pieces needed for tests and bootstraps."""

    coef: np.ndarray
    vcov: np.ndarray
    resid: np.ndarray
    n: int
    k: int
    dof_resid: int
    n_clusters: int | None
    k_cluster: int | None = None  # parameters in the clustered small-sample factor


def ols(
    y: np.ndarray,
    X: np.ndarray,
    *,
    se: str,
    cluster: np.ndarray | None = None,
    extra_k: int = 0,
    names: Sequence[str] = (),
    cluster_k: int | None = None,
) -> OlsFit:
    """Fit ``y = X b + e`` and return coefficients with the requested variance.

    Parameters
    ----------
    y, X
        Outcome and regressors (already demeaned if fixed effects were absorbed).
    se
        ``"classical"`` (homoskedastic), ``"hc1"``, or ``"cluster"`` (CR1 with the
        ``G/(G-1) * (n-1)/(n-K)`` small-sample factor, ``K`` counting absorbed effects).
    cluster
        Integer cluster codes (required for ``"cluster"``).
    extra_k
        Parameters absorbed before the fit (fixed-effect levels), counted in ``K``.
    names
        Regressor names, for error messages.
    cluster_k
        Absorbed parameters counted in the clustered small-sample factor instead of
        ``extra_k`` (fixest's default ``fixef.K = "nested"``: effects nested in the clusters
        are not counted; see :func:`non_nested_levels`).
    """
    n, k = X.shape
    K = k + extra_k
    if n <= K:
        raise DataError(
            f"only {n} observations for {K} parameters; the regression cannot be estimated. "
            "Use more data or fewer covariates."
        )
    xtx = X.T @ X
    rank = np.linalg.matrix_rank(xtx)
    if rank < k:
        r = np.linalg.qr(X, mode="r")
        diag = np.abs(np.diag(r))
        weak = np.flatnonzero(diag < 1e-9 * max(float(diag.max()), 1.0))
        bad = [names[int(i)] if i < len(names) else f"column {i}" for i in weak]
        raise DataError(
            f"regressors {bad} are collinear with the others (or constant within units); "
            "drop them or check the treatment column."
        )
    bread = np.linalg.inv(xtx)
    coef = bread @ (X.T @ y)
    resid = y - X @ coef
    dof = n - K
    n_clusters = None
    if se == "classical":
        vcov = bread * float(resid @ resid) / dof
    elif se == "hc1":
        meat = (X * resid[:, None] ** 2).T @ X
        vcov = bread @ meat @ bread * n / dof
    else:
        if cluster is None:
            raise ValueError("cluster codes are required for se='cluster'")
        codes = np.unique(cluster, return_inverse=True)[1]
        G = int(codes.max()) + 1
        n_clusters = G
        if G < 2:
            raise DataError(
                "only one cluster: cluster-robust standard errors need at least two. "
                "Cluster at a finer level or use se='hc1'."
            )
        scores = np.zeros((G, k))
        xe = X * resid[:, None]
        for j in range(k):
            scores[:, j] = np.bincount(codes, weights=xe[:, j], minlength=G)
        k_cl = K if cluster_k is None else k + cluster_k
        vcov = bread @ (scores.T @ scores) @ bread * (G / (G - 1)) * ((n - 1) / (n - k_cl))
    k_cl = K if cluster_k is None else k + cluster_k
    return OlsFit(
        coef=coef,
        vcov=vcov,
        resid=resid,
        n=n,
        k=K,
        dof_resid=dof,
        n_clusters=n_clusters,
        k_cluster=k_cl,
    )


def fe_levels(*codes: np.ndarray) -> int:
    """Parameters absorbed by fixed effects with these codes (levels minus redundancies)."""
    if not codes:
        return 0
    return sum(int(np.count_nonzero(np.bincount(c))) for c in codes) - (len(codes) - 1)


def non_nested_levels(cluster: np.ndarray | None, *codes: np.ndarray) -> int | None:
    """Fixed-effect parameters that fixest's ``fixef.K = "nested"`` counts with clustering.

    Effects whose every level lies within one cluster (unit effects with unit or coarser
    clusters) are dropped from the count; the rest count their levels minus one per dimension
    beyond the first. ``None`` without clusters.
    """
    if cluster is None:
        return None
    cl = np.unique(cluster, return_inverse=True)[1]
    kept = []
    for c in codes:
        n_lev = int(c.max()) + 1
        lo = np.full(n_lev, np.iinfo(np.int64).max)
        hi = np.full(n_lev, -1)
        np.minimum.at(lo, c, cl)
        np.maximum.at(hi, c, cl)
        present = hi >= 0
        if not np.all(lo[present] == hi[present]):
            kept.append(c)
    return fe_levels(*kept)
