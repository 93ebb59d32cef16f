"""One metric of an experiment: moments → contrast → inference → :class:`Estimate`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError
from causal_kit.core.estimate import TIDY_COLUMNS, Check, Estimate
from causal_kit.design.experiment import _checks
from causal_kit.design.experiment._contrast import Contrast, Kind, contrast
from causal_kit.design.experiment._data import ExperimentData
from causal_kit.design.experiment._inference import sequential, welch
from causal_kit.design.experiment._moments import Moments, arm_moments, cumulate


@dataclass(frozen=True)
class Spec:
    """Settings shared by every metric of one call."""

    covariates: tuple[str, ...]
    level: float
    sequential: bool
    n_star: float
    shared_checks: tuple[Check, ...]
    run_checks: bool
    params: Mapping[str, Any]


def estimate_metric(data: ExperimentData, outcome: str, denominator: str | None,
                    spec: Spec) -> Estimate:
    """Return the :class:`Estimate` of one metric."""
    kind: Kind = "ratio" if denominator else ("cuped" if spec.covariates else "plain")
    names = [outcome, denominator] if denominator else [outcome, *spec.covariates]
    cols = [data.values[c] for c in names]
    m = arm_moments(cols, data.arm)
    _check_levels(m, kind, outcome, denominator)
    c = contrast(m, kind)
    se = float(np.sqrt(c.var))
    p, lo, hi, rel_lo, rel_hi = _infer(c, spec)
    details: dict[str, Any] = {
        "treatment_mean": float(c.level_t), "control_mean": float(c.level_c),
        "relative_lift_pct": float(100 * c.rel),
        "relative_se_pct": float(100 * np.sqrt(np.maximum(c.rel_var, 0.0))),
        "relative_ci_pct": (float(100 * rel_lo), float(100 * rel_hi)),
        "df": float(c.df), "n_treatment": int(c.n_t), "n_control": int(c.n_c),
        "inference": "mixture-sprt" if spec.sequential else "welch-t",
        "sequential": spec.sequential,
    }
    if spec.sequential:
        details["sequential_tuning"] = spec.n_star
    if kind == "cuped":
        assert c.theta is not None
        details["theta"] = dict(zip(spec.covariates, map(float, c.theta), strict=True))
        details["se_unadjusted"] = float(np.sqrt(c.var_plain))
        details["variance_reduction"] = float(1 - c.var / c.var_plain)
    if denominator:
        details["denominator"] = denominator
    checks = list(spec.shared_checks)
    if spec.run_checks and kind == "cuped":  # the covariates' own moments, the same per metric
        covs = Moments(m.n, m.mean[..., 1:], m.gram[..., 1:, 1:])
        checks.append(_checks.balance(covs, list(spec.covariates)))
    if spec.run_checks and data.exposed is not None:
        checks.append(_checks.exposure(data.exposed, data.arm, float(c.diff)))
    by_period = None
    if data.day is not None and data.first_day is not None:
        daily = arm_moments(cols, data.arm, cell=data.day, n_cells=data.n_days)
        by_period = _cumulative(daily, kind, spec, data.first_day)
        if spec.run_checks:
            check, table = _checks.novelty(contrast(daily, kind), data.first_day, float(c.diff))
            details["novelty"] = table
            if check is not None:
                checks.append(check)
    method = {"plain": "experiment", "cuped": "experiment:cuped", "ratio": "experiment:ratio"}
    return Estimate(
        method=method[kind], outcome=outcome, estimate=float(c.diff), se=se,
        ci=(float(lo), float(hi)), level=spec.level, p_value=float(p),
        n_units=int(c.n_t + c.n_c), n_treated=int(c.n_t), by_period=by_period,
        checks=tuple(checks), details=details, params=dict(spec.params),
    )


def _infer(c: Contrast, spec: Spec) -> tuple[Any, Any, Any, Any, Any]:
    if spec.sequential:
        n = c.n_t + c.n_c
        p, lo, hi = sequential(c.diff, c.var, n, spec.level, spec.n_star)
        _, rel_lo, rel_hi = sequential(c.rel, c.rel_var, n, spec.level, spec.n_star)
    else:
        _, p, lo, hi = welch(c.diff, c.var, c.df, spec.level)
        _, _, rel_lo, rel_hi = welch(c.rel, c.rel_var, c.df, spec.level)
    return p, lo, hi, rel_lo, rel_hi


def _cumulative(daily: Moments, kind: Kind, spec: Spec, first: pd.Timestamp) -> pd.DataFrame:
    """Daily cumulative effect over the users exposed so far (each day a look)."""
    cum = cumulate(daily)
    c = contrast(cum, kind)
    p, lo, hi, _, _ = _infer(c, spec)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(c.var)
        stat = c.diff / se
    out = pd.DataFrame({
        "term": first + pd.to_timedelta(np.arange(len(c.diff)), unit="D"),
        "estimate": c.diff, "std_error": se, "statistic": stat, "p_value": p,
        "conf_low": lo, "conf_high": hi, "lift_pct": 100 * c.rel,
        "n_treatment": c.n_t.astype(int), "n_control": c.n_c.astype(int),
    })
    keep = (out["n_treatment"] >= 2) & (out["n_control"] >= 2) & np.isfinite(se) & (se > 0)
    return out.loc[keep, [*TIDY_COLUMNS, "lift_pct", "n_treatment", "n_control"]].reset_index(
        drop=True)


def _check_levels(m: Moments, kind: Kind, outcome: str, denominator: str | None) -> None:
    if kind == "ratio":
        zero = [lab for lab, a in (("control", 0), ("treatment", 1)) if m.mean[a, 1] == 0]
        if zero:
            raise DataError(
                f"The denominator {denominator!r} sums to 0 in the {' and '.join(zero)} arm: "
                f"the ratio {outcome!r} / {denominator!r} is undefined there. Check the column."
            )
    if m.gram[0, 0, 0] + m.gram[1, 0, 0] == 0:
        raise DataError(
            f"The outcome {outcome!r} is constant ({m.mean[0, 0]:g}) in both arms; there is "
            "nothing to compare. Check the column and the outcome window."
        )
