"""Treatment-minus-control contrasts from per-arm moments: plain, CUPED and ratio metrics.

All functions are vectorised over any leading axes of :class:`Moments` (days, cohorts, or the
replicates of a simulation). Column 0 is always the outcome (the numerator of a ratio metric);
CUPED covariates follow it, a ratio's denominator is column 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from causal_kit.design.experiment._moments import Moments

Kind = Literal["plain", "cuped", "ratio"]


@dataclass(frozen=True)
class Contrast:
    """A difference between arms with its per-arm ingredients (arrays of any common shape).

    Attributes
    ----------
    diff, var, df
        Treatment minus control, its variance, and the Welch–Satterthwaite degrees of freedom.
    rel, rel_var
        Relative lift (a fraction of the control level) and its delta-method variance.
    var_plain
        Variance of the unadjusted difference in means (for the variance reduction of CUPED).
    level_t, level_c
        Unadjusted treatment and control levels (means, or ratios for a ratio metric).
    unit_var_t, unit_var_c
        Per-user variances that enter ``var`` (adjusted, or linearised for a ratio).
    n_t, n_c
        Users per arm.
    theta
        CUPED coefficients, shape ``(..., k)``, or ``None``.
    """

    diff: np.ndarray
    var: np.ndarray
    df: np.ndarray
    rel: np.ndarray
    rel_var: np.ndarray
    var_plain: np.ndarray
    level_t: np.ndarray
    level_c: np.ndarray
    unit_var_t: np.ndarray
    unit_var_c: np.ndarray
    n_t: np.ndarray
    n_c: np.ndarray
    theta: np.ndarray | None = None


def contrast(m: Moments, kind: Kind) -> Contrast:
    """Return the treatment-minus-control contrast of column 0 of ``m``.

    Parameters
    ----------
    m
        Per-arm moments (arm 0 control, arm 1 treatment).
    kind
        ``"plain"`` (difference in means), ``"cuped"`` (columns 1.. are pre-period covariates,
        adjusted with one pooled θ as in Deng, Xu, Kohavi & Walker 2013) or ``"ratio"``
        (column 1 is the denominator; delta method with users as the unit).
    """
    n_c, n_t = m.n[..., 0], m.n[..., 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        s = m.gram / (m.n[..., None, None] - 1)  # per-arm sample covariance matrices
        mu = m.mean
        var_plain = s[..., 1, 0, 0] / n_t + s[..., 0, 0, 0] / n_c
        theta = None
        if kind == "ratio":
            ybar, dbar = mu[..., 0], mu[..., 1]
            lvl = ybar / dbar
            uv = (s[..., 0, 0] / dbar**2 - 2 * ybar * s[..., 0, 1] / dbar**3
                  + ybar**2 * s[..., 1, 1] / dbar**4)
            diff = lvl[..., 1] - lvl[..., 0]
            level_t, level_c = lvl[..., 1], lvl[..., 0]
            uv_t, uv_c = uv[..., 1], uv[..., 0]
            rel = level_t / level_c - 1
            rel_var = uv_t / (n_t * level_c**2) + uv_c * level_t**2 / (n_c * level_c**4)
        else:
            level_t, level_c = mu[..., 1, 0], mu[..., 0, 0]
            if kind == "cuped":
                theta = pooled_theta(m)
                gxy, gxx = m.gram[..., 1:, 0], m.gram[..., 1:, 1:]
                th = theta[..., None, :]
                quad = np.einsum("...i,...ij,...j->...", th, gxx, th)
                adj_gram = m.gram[..., 0, 0] - 2 * np.einsum("...i,...i->...", th, gxy) + quad
                uv = adj_gram / (m.n - 1)
                shift = np.einsum("...i,...i->...", theta, mu[..., 1, 1:] - mu[..., 0, 1:])
                diff = level_t - level_c - shift
                cov_adj_raw = (m.gram[..., 0, 0, 0] - np.einsum(
                    "...i,...i->...", theta, gxy[..., 0, :])) / (n_c - 1)
            else:
                uv = s[..., 0, 0]
                diff = level_t - level_c
                cov_adj_raw = uv[..., 0]
            uv_t, uv_c = uv[..., 1], uv[..., 0]
            rel = diff / level_c
            raw_var_c = s[..., 0, 0, 0]
            rel_var = ((uv_t / n_t + uv_c / n_c) / level_c**2
                       + diff**2 * raw_var_c / (n_c * level_c**4)
                       + 2 * diff * cov_adj_raw / (n_c * level_c**3))
        a, b = uv_t / n_t, uv_c / n_c
        var = a + b
        df = var**2 / (a**2 / (n_t - 1) + b**2 / (n_c - 1))
    return Contrast(diff, var, df, rel, rel_var, var_plain, level_t, level_c, uv_t, uv_c,
                    n_t, n_c, theta)


def pooled(m: Moments) -> Moments:
    """Merge the two arms of ``m`` into one sample (leading axes kept, arm axis dropped)."""
    n = m.n.sum(axis=-1)
    w = m.n / np.where(n > 0, n, 1)[..., None]
    mean = (w[..., None] * m.mean).sum(axis=-2)
    delta = m.mean[..., 1, :] - m.mean[..., 0, :]
    between = (m.n[..., 0] * m.n[..., 1] / np.where(n > 0, n, 1))[..., None, None]
    gram = m.gram.sum(axis=-3) + between * delta[..., :, None] * delta[..., None, :]
    return Moments(n, mean, gram)


def pooled_theta(m: Moments) -> np.ndarray:
    """CUPED θ: the pooled least-squares slope of the outcome on the centred covariates.

    With one covariate it is ``cov(y, x) / var(x)`` over both arms together (Deng et al. 2013,
    and GrowthBook's ``compute_theta``); with several, ``S_xx^{-1} S_xy`` of the pooled
    centred cross-products (pseudo-inverse, so collinear covariates share their slope).
    """
    g = pooled(m).gram
    return np.einsum("...ij,...j->...i", np.linalg.pinv(g[..., 1:, 1:]), g[..., 1:, 0])
