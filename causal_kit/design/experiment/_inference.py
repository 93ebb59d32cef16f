"""Fixed-sample (Welch t) and always-valid (normal-mixture) inference for a contrast.

The always-valid version is the normal-mixture confidence sequence of Howard, Ramdas, McAuliffe
& Sekhon (2021) in its asymptotic form (Waudby-Smith et al. 2023, eq. 9), which is the mixture
sequential probability ratio test of Johari, Pekelis & Walsh (2017) with a normal mixing
distribution — the test GrowthBook runs. Its one tuning parameter ``n_star`` is the total sample
size at which the sequence is tightest; the mixing scale is
``rho^2 = (-2 log alpha + log(1 - 2 log alpha)) / n_star`` (Waudby-Smith et al. eq. 161).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def welch(
    diff: np.ndarray, var: np.ndarray, df: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the t statistic, two-sided p-value and the ``level`` Welch-t interval."""
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(var)
        stat = diff / se
        p = 2 * stats.t.sf(np.abs(stat), df)
        half = stats.t.ppf(0.5 + level / 2, df) * se
    return stat, p, diff - half, diff + half


def mixture_rho2(level: float, n_star: float) -> float:
    """Mixing variance (per unit) of the normal mixture, tightest at ``n_star`` units."""
    alpha = 1 - level
    return float((-2 * np.log(alpha) + np.log(1 - 2 * np.log(alpha))) / n_star)


def sequential(
    diff: np.ndarray, var: np.ndarray, n: np.ndarray, level: float, n_star: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the always-valid p-value and confidence sequence at every look.

    Parameters
    ----------
    diff, var
        The estimate and its variance at each look (any common shape).
    n
        Total users (both arms) at each look; ``var * n`` is the per-unit variance.
    level
        Confidence level: the sequence covers the true effect at *every* look at once with
        probability ``level`` (asymptotically).
    n_star
        Tuning parameter (see the module docstring).

    Returns
    -------
    p, low, high
        ``p`` is ``min(1, 1 / Lambda)`` for the mixture likelihood ratio ``Lambda`` of the
        current look; rejecting when ``p < 1 - level`` at *any* look keeps the error rate.
    """
    alpha = 1 - level
    rho2 = mixture_rho2(level, n_star)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        nr = n * rho2 + 1
        half = np.sqrt(var * n) * np.sqrt(2 * nr * np.log(np.sqrt(nr) / alpha) / (n**2 * rho2))
        z2 = diff**2 / var
        log_lr = rho2 * n * z2 / (2 * nr) - 0.5 * np.log(nr)
        p = np.minimum(1.0, np.exp(-log_lr))
    return p, diff - half, diff + half
