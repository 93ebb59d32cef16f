"""Inference from influence functions: analytic (clustered) SEs, Wald tests, multiplier bootstraps.

An estimator here is asymptotically linear: ``est - truth ≈ sum_i inf_i / n``. Analytic standard
errors are ``sqrt(sum_c S_c**2) / n`` with ``S_c`` the sum of the influence function over cluster
``c`` (each row its own cluster by default). The multiplier bootstrap perturbs those cluster sums
with independent weights — Rademacher (``"multiplier"``) or Webb's six-point weights (``"wild"``,
better with few clusters) — and reports the interquartile-range standard error and the
simultaneous critical value of the sup-t band, as R's ``did`` does. With more than
``GAUSSIAN_ABOVE`` clusters × draws (e.g. 100,000 units and 999 draws) the multipliers are
standard normal instead: the bootstrap distribution is then exactly normal with covariance
``S'S / n²`` and is drawn from it directly, at no cost in the number of units (with that many
clusters the choice of multiplier distribution does not matter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

_CHUNK_ROWS = 262_144
GAUSSIAN_ABOVE = 50_000_000  # clusters × draws beyond which Gaussian multipliers are used
SE_FLOOR = np.sqrt(np.finfo(float).eps) * 10
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def cluster_sums(inf: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """Sum influence-function rows within clusters (rows themselves when ``cluster`` is None)."""
    if cluster is None:
        return inf
    codes, inv = np.unique(cluster, return_inverse=True)
    out = np.zeros((len(codes), inf.shape[1]), dtype=np.float64)
    for j in range(inf.shape[1]):
        out[:, j] = np.bincount(inv, weights=inf[:, j], minlength=len(codes))
    return out


def gram(S: np.ndarray) -> np.ndarray:
    """Return ``S.T @ S`` as float64.

    Uses :func:`numpy.einsum` rather than BLAS: multi-threaded BLAS stalls badly when the cores
    are shared. Single-precision inputs accumulate in single precision (relative error ~1e-4,
    enough for covariances that feed tests and bands; standard errors use :func:`sum_squares`).
    """
    return np.asarray(np.einsum("ij,ik->jk", S, S), dtype=np.float64)


def sum_squares(S: np.ndarray) -> np.ndarray:
    """Column sums of squares in double precision."""
    out = np.zeros(S.shape[1])
    for start in range(0, S.shape[0], _CHUNK_ROWS):
        chunk = np.asarray(S[start : start + _CHUNK_ROWS], dtype=np.float64)
        out += np.einsum("ij,ij->j", chunk, chunk)
    return out


def analytic_se(inf: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """Return standard errors of estimators with influence functions ``inf`` (columns)."""
    n = inf.shape[0]
    se = np.sqrt(sum_squares(cluster_sums(inf, cluster))) / n
    return np.where(se <= SE_FLOOR, np.nan, se)


def covariance(inf: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """Covariance matrix of the estimators (columns of ``inf``)."""
    n = inf.shape[0]
    return gram(cluster_sums(inf, cluster)) / n**2


@dataclass(frozen=True)
class BootResult:
    """Bootstrap draws of ``est - truth`` for each column, and what they imply."""

    draws: np.ndarray  # (n_boot, k) perturbations, to add to the estimates
    se: np.ndarray
    n_clusters: int
    weights: str

    def critical_value(self, cols: np.ndarray | slice, level: float) -> float:
        """Simultaneous (sup-t) critical value over the columns ``cols``."""
        d = self.draws[:, cols]
        se = self.se[cols]
        ok = np.isfinite(se) & (se > 0)
        if not ok.any():
            return float("nan")
        t = np.max(np.abs(d[:, ok] / se[ok]), axis=1)
        return float(np.quantile(t, level, method="inverted_cdf"))


def multiplier_bootstrap(
    inf: np.ndarray,
    cluster: np.ndarray | None,
    *,
    n_boot: int,
    seed: int | None,
    weights: str = "rademacher",
) -> BootResult:
    """Multiplier bootstrap of estimators with influence functions ``inf``.

    Parameters
    ----------
    inf
        ``(n, k)`` influence functions.
    cluster
        Cluster codes of the rows, or ``None`` (rows are independent).
    n_boot
        Draws.
    seed
        Seed of the random multipliers.
    weights
        ``"rademacher"`` (±1) or ``"webb"`` (six-point, for few clusters).
    """
    n = inf.shape[0]
    S = cluster_sums(inf, cluster)
    G, k = S.shape
    rng = np.random.default_rng(seed)
    if G * n_boot > GAUSSIAN_ABOVE:
        return gaussian_bootstrap(gram(S) / n**2, n_boot=n_boot, seed=seed, n_clusters=G)
    single = G * k > 20_000_000
    dtype = np.float32 if single else np.float64
    S = np.asarray(S, dtype=dtype)
    draws = np.empty((n_boot, k))
    step = max(1, min(n_boot, 8_000_000 // max(G, 1)))
    for start in range(0, n_boot, step):
        b = min(step, n_boot - start)
        if weights == "webb":
            V = _WEBB.astype(dtype)[rng.integers(0, 6, size=(b, G))]
        else:
            bits = np.unpackbits(np.frombuffer(rng.bytes((b * G + 7) // 8), dtype=np.uint8))
            V = bits[: b * G].reshape(b, G).astype(dtype) * 2 - 1
        draws[start : start + b] = (V @ S) / n
    return _summarise(draws, G, weights)


def gaussian_bootstrap(
    cov: np.ndarray, *, n_boot: int, seed: int | None, n_clusters: int
) -> BootResult:
    """Multiplier bootstrap with standard normal multipliers, drawn exactly.

    Given the data, Gaussian-multiplier draws are exactly ``N(0, cov)`` with ``cov`` the
    estimators' covariance, so they are drawn from it directly (``k × k`` work, whatever the
    number of units).
    """
    vals, vecs = np.linalg.eigh(cov)
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    draws = np.random.default_rng(seed).standard_normal((n_boot, cov.shape[0])) @ root.T
    return _summarise(draws, n_clusters, "gaussian")


def _summarise(draws: np.ndarray, n_clusters: int, weights: str) -> BootResult:
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
    se = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    se = np.where(se <= SE_FLOOR, np.nan, se)
    return BootResult(draws=draws, se=se, n_clusters=n_clusters, weights=weights)
