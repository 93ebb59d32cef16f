"""Per-arm sufficient statistics of an experiment: counts, means and centred cross-products.

Every estimate of the design (difference in means, CUPED, ratio metrics, their daily cumulative
versions and per-cohort effects) is a function of these moments alone, so the user-level arrays
are read twice (once for the means, once for the centred products), in chunks, and never copied
whole. Centring before multiplying keeps the variances exact to rounding even when a metric's
mean is large against its spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK = 1_000_000  # rows per pass of the centred cross-products


@dataclass(frozen=True)
class Moments:
    """Moments of ``p`` columns in each arm, for any number of leading cells (days, cohorts).

    Attributes
    ----------
    n
        Users per cell and arm, shape ``(..., 2)``; arm 0 is control, arm 1 treatment.
    mean
        Column means, shape ``(..., 2, p)``.
    gram
        Centred cross-products ``sum((z - mean)(z - mean)^T)``, shape ``(..., 2, p, p)``.
    """

    n: np.ndarray
    mean: np.ndarray
    gram: np.ndarray

    def cell(self, index: int) -> Moments:
        """Return the moments of one leading cell."""
        return Moments(self.n[index], self.mean[index], self.gram[index])


def arm_moments(
    columns: list[np.ndarray], arm: np.ndarray, cell: np.ndarray | None = None, n_cells: int = 1
) -> Moments:
    """Return the per-cell, per-arm moments of ``columns``.

    Parameters
    ----------
    columns
        ``p`` float arrays of equal length (outcome first, then covariates, denominator).
    arm
        0 (control) or 1 (treatment) per row.
    cell
        Optional cell index per row in ``[0, n_cells)`` (e.g. the exposure day); rows with a
        negative cell are left out.
    n_cells
        Number of cells.

    Returns
    -------
    Moments
        With a leading axis of length ``n_cells`` when ``cell`` is given, else none.
    """
    p = len(columns)
    size = 2 * n_cells
    group = arm.astype(np.int64) if cell is None else np.where(cell >= 0, 2 * cell + arm, -1)
    keep = group >= 0
    if not keep.all():
        group = group[keep]
        columns = [c[keep] for c in columns]
    counts = np.bincount(group, minlength=size).astype(float)
    sums = np.stack([np.bincount(group, weights=c, minlength=size) for c in columns], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts[:, None] > 0, sums / counts[:, None], 0.0)
    gram = np.zeros((size, p, p))
    for start in range(0, len(group), CHUNK):
        g = group[start : start + CHUNK]
        centred = [c[start : start + CHUNK] - means[g, j] for j, c in enumerate(columns)]
        for i in range(p):
            for j in range(i, p):
                gram[:, i, j] += np.bincount(g, weights=centred[i] * centred[j], minlength=size)
    iu = np.triu_indices(p, 1)
    gram[:, iu[1], iu[0]] = gram[:, iu[0], iu[1]]
    shape = (n_cells, 2) if cell is not None else (2,)
    return Moments(counts.reshape(shape), means.reshape((*shape, p)), gram.reshape((*shape, p, p)))


def cumulate(m: Moments) -> Moments:
    """Merge the cells of ``m`` cumulatively along its first axis (Chan et al.'s update)."""
    n = np.cumsum(m.n, axis=0)
    total = np.cumsum(m.n[..., None] * m.mean, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n[..., None] > 0, total / n[..., None], 0.0)
    return Moments(n, mean, _cumulative_gram(m, n, mean))


def _cumulative_gram(m: Moments, n: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Return ``sum_{d<=k} G_d + n_d (mu_d - m_k)(mu_d - m_k)^T`` for every ``k``.

    Expanded around a fixed reference (the overall mean of each arm) so that it is a cumulative
    sum minus one correction per ``k``: ``sum n_d a_d a_d^T - N_k b_k b_k^T`` with
    ``a_d = mu_d - ref`` and ``b_k = m_k - ref``.
    """
    weight = m.n.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = np.where(
            weight[..., None] > 0, (m.n[..., None] * m.mean).sum(axis=0) / weight[..., None], 0.0
        )
    a = m.mean - ref
    b = mean - ref
    return np.cumsum(m.gram + m.n[..., None, None] * _outer(a, a), axis=0) - n[
        ..., None, None
    ] * _outer(b, b)


def _outer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., :, None] * b[..., None, :]
