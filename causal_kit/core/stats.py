"""Small inference helpers shared by the designs (normal intervals, tidy tables)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.core.estimate import TIDY_COLUMNS


def z_crit(level: float) -> float:
    """Two-sided normal critical value for confidence ``level``."""
    return float(stats.norm.ppf(0.5 + level / 2))


def normal_ci(estimate: float, se: float, level: float) -> tuple[tuple[float, float], float]:
    """Return the normal ``(low, high)`` interval and two-sided p-value."""
    z = z_crit(level)
    if not np.isfinite(se) or se <= 0:
        return (float("nan"), float("nan")), float("nan")
    p = float(2 * stats.norm.sf(abs(estimate / se)))
    return (float(estimate - z * se), float(estimate + z * se)), p


def tidy_table(
    terms: Sequence[object],
    estimates: np.ndarray,
    ses: np.ndarray,
    level: float,
    crit: float | None = None,
    dof: float | None = None,
) -> pd.DataFrame:
    """Build a tidy frame (:data:`TIDY_COLUMNS`) from estimates and standard errors.

    Parameters
    ----------
    terms
        Term labels (event times, periods, names).
    estimates, ses
        Point estimates and standard errors.
    level
        Confidence level.
    crit
        Critical value to use instead of the normal one (e.g. a uniform-band value).
    dof
        If given, use Student-t with these degrees of freedom for p-values and intervals.
    """
    est = np.asarray(estimates, dtype=float)
    se = np.asarray(ses, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(se > 0, est / se, np.nan)
    if dof is not None:
        p = 2 * stats.t.sf(np.abs(stat), dof)
        c = float(stats.t.ppf(0.5 + level / 2, dof)) if crit is None else crit
    else:
        p = 2 * stats.norm.sf(np.abs(stat))
        c = z_crit(level) if crit is None else crit
    return pd.DataFrame(
        {
            "term": list(terms),
            "estimate": est,
            "std_error": se,
            "statistic": stat,
            "p_value": p,
            "conf_low": est - c * se,
            "conf_high": est + c * se,
        },
        columns=TIDY_COLUMNS,
    )
