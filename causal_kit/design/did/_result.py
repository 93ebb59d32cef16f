"""Shared pieces of every DiD result: intervals, the pre-trend Wald test, the Estimate itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.core.estimate import Check, Estimate
from causal_kit.design.did._data import DidData
from causal_kit.design.did._spec import DidSpec


def interval(
    est: float, se: float, level: float, dof: float | None = None
) -> tuple[tuple[float, float], float]:
    """Return the ``(low, high)`` interval and two-sided p-value (normal, or t on ``dof``)."""
    if not np.isfinite(se) or se <= 0:
        return (float("nan"), float("nan")), float("nan")
    dist = stats.norm if dof is None else stats.t(dof)
    crit = float(dist.ppf(0.5 + level / 2))
    p = float(2 * dist.sf(abs(est / se)))
    return (float(est - crit * se), float(est + crit * se)), p


def wald_pretrend(terms: Sequence[int], coef: np.ndarray, vcov: np.ndarray, *, what: str) -> Check:
    """Joint Wald test that every pre-launch effect is zero, as the ``pre_trends`` :class:`Check`.

    Parameters
    ----------
    terms
        Event times (or labels) of the pre-launch coefficients.
    coef, vcov
        Their estimates and covariance.
    what
        What the coefficients are, for the message (e.g. ``"event-study coefficients"``).
    """
    k = len(terms)
    if k == 0:
        return Check(
            name="pre_trends",
            kind="identifying",
            passed=False,
            message=(
                "Parallel trends cannot be tested: there is no pre-launch period to compare "
                "besides the reference one. The estimate rests on the assumption alone; add "
                "earlier periods to test it."
            ),
        )
    keep = np.diag(vcov) > 0
    b, V = coef[keep], vcov[np.ix_(keep, keep)]
    stat = float(b @ np.linalg.pinv(V) @ b)
    df = int(keep.sum())
    p = float(stats.chi2.sf(stat, df)) if df else float("nan")
    passed = bool(p >= 0.05) if np.isfinite(p) else False
    verdict = (
        "no evidence against parallel trends"
        if passed
        else "treated and comparison units already diverged before the launch, so parallel "
        "trends is doubtful; look at the event-study plot and consider covariates, another "
        "comparison group or the sensitivity analysis"
    )
    return Check(
        name="pre_trends",
        kind="identifying",
        passed=passed,
        statistic=stat,
        p_value=p,
        message=(
            f"Joint Wald test that the {df} pre-launch {what} are zero: chi2={stat:.3g}, "
            f"p={p:.3g}: {verdict}."
        ),
    )


def build_estimate(
    *,
    method: str,
    spec: DidSpec,
    data: DidData,
    estimate: float,
    se: float,
    dof: float | None = None,
    by_period: pd.DataFrame | None = None,
    checks: Sequence[Check] = (),
    details: Mapping[str, Any] | None = None,
    draws: np.ndarray | None = None,
    ci: tuple[float, float] | None = None,
    p_value: float | None = None,
) -> Estimate:
    """Assemble the frozen :class:`Estimate` of a DiD fit."""
    norm_ci, p = interval(estimate, se, spec.level, dof)
    n_units = data.n_units
    treated = np.isfinite(data.unit_g)
    params = spec.as_params()
    params["method_used"] = method
    return Estimate(
        method=f"did:{method}",
        outcome=spec.outcome,
        estimate=float(estimate),
        se=float(se),
        ci=norm_ci if ci is None else (float(ci[0]), float(ci[1])),
        level=spec.level,
        p_value=p if p_value is None else float(p_value),
        n_units=n_units,
        n_treated=int(treated.sum()),
        by_period=by_period,
        checks=tuple(checks),
        details=dict(details or {}),
        params=params,
        draws=draws,
    )
