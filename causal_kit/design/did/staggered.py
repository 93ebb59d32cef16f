"""Shared result assembly of the staggered designs (CS, Sun–Abraham, imputation).

Builds the event-time table with pointwise and uniform (sup-t) bands, and the checks every
staggered design reports: pre-trends, no anticipation, TWFE vs robust (Goodman-Bacon) and the
HonestDiD-style sensitivity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.core.errors import CausalKitError
from causal_kit.core.estimate import Check
from causal_kit.core.stats import tidy_table, z_crit
from causal_kit.design.did._data import DidData
from causal_kit.design.did._spec import DidSpec
from causal_kit.design.did.bacon import bacon_check, bacon_decomposition
from causal_kit.design.did.honest import (
    MAX_POST_RM,
    Sensitivity,
    sensitivity,
    sensitivity_check,
)

GAUSS_DRAWS = 10_000


def gaussian_crit(vcov: np.ndarray, level: float, seed: int | None) -> float:
    """Sup-t critical value of a simultaneous band from draws of ``N(0, vcov)``."""
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    ok = se > 0
    if not ok.any():
        return float("nan")
    corr = vcov[np.ix_(ok, ok)] / np.outer(se[ok], se[ok])
    vals, vecs = np.linalg.eigh(corr)
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    rng = np.random.default_rng(0 if seed is None else seed)
    z = rng.standard_normal((GAUSS_DRAWS, len(vals))) @ root.T
    return float(np.quantile(np.abs(z).max(axis=1), level, method="inverted_cdf"))


def event_table(
    terms: np.ndarray, est: np.ndarray, se: np.ndarray, level: float, crit: float
) -> pd.DataFrame:
    """Tidy event-time effects with pointwise and uniform (``*_uniform``) bands."""
    table = tidy_table([int(e) for e in terms], est, se, level)
    c = crit if np.isfinite(crit) else z_crit(level)
    table["conf_low_uniform"] = est - c * se
    table["conf_high_uniform"] = est + c * se
    return table


def no_anticipation_check(table: pd.DataFrame, spec: DidSpec) -> Check:
    """Test the last event time before launch (after allowed anticipation) for an effect."""
    terms = table["term"].to_numpy()
    usable = (terms < -spec.anticipation) & table["std_error"].notna().to_numpy()
    if not usable.any():
        return Check(
            name="no_anticipation",
            passed=False,
            kind="identifying",
            message="No pre-launch event time with a standard error: anticipation cannot be "
            "checked.",
        )
    i = int(np.flatnonzero(usable)[-1])
    row = table.iloc[i]
    p = float(row["p_value"])
    passed = bool(p >= 0.05)
    e = int(row["term"])
    if passed:
        msg = (
            f"No sign of units reacting before the launch: the effect {-e} period(s) before "
            f"it is {row['estimate']:.3g} (p={p:.3g})."
        )
    else:
        msg = (
            f"Units may have reacted before the launch: the effect {-e} period(s) before it is "
            f"{row['estimate']:.3g} (p={p:.3g}). If the launch was announced or phased in, "
            f"re-run with anticipation={spec.anticipation + 1}."
        )
    return Check(
        name="no_anticipation",
        passed=passed,
        kind="identifying",
        statistic=float(row["statistic"]),
        p_value=p,
        message=msg,
    )


def wald(coef: np.ndarray, vcov: np.ndarray) -> tuple[float, int, float]:
    """Chi-square Wald statistic of ``coef = 0``, dropping zero-variance entries."""
    keep = np.diag(vcov) > 0
    b, V = coef[keep], vcov[np.ix_(keep, keep)]
    if not keep.any():
        return float("nan"), 0, float("nan")
    stat = float(b @ np.linalg.pinv(V) @ b)
    df = int(keep.sum())
    return stat, df, float(stats.chi2.sf(stat, df))


def robustness_checks(
    data: DidData,
    spec: DidSpec,
    table: pd.DataFrame,
    vcov: np.ndarray,
    robust: float,
    robust_se: float,
    *,
    varying: bool,
) -> tuple[list[Check], dict[str, object]]:
    """No-anticipation, Goodman-Bacon/TWFE and sensitivity checks, with their detail tables.

    None of them when ``spec.robustness`` is off.
    """
    from causal_kit.design.did.twfe import static_twfe

    if not spec.robustness:
        return [], {}

    checks = [no_anticipation_check(table, spec)]
    details: dict[str, object] = {}
    bacon = bacon_decomposition(data)
    twfe_coef = float("nan")
    if bacon is not None:
        # on a balanced panel the decomposition reproduces the TWFE coefficient exactly
        twfe_coef = float((bacon["weight"] * bacon["estimate"]).sum())
    else:
        try:
            twfe_coef = static_twfe(data, spec)[0]
        except CausalKitError as exc:  # the comparison is optional; record why it is missing
            details["twfe_error"] = str(exc)
    if np.isfinite(twfe_coef):
        checks.append(bacon_check(bacon, twfe_coef, robust, robust_se))
        details["twfe"] = twfe_coef
    if bacon is not None:
        details["bacon"] = bacon
    if not spec.sensitivity:
        return checks, details
    sens: Sensitivity | None = sensitivity(
        table["term"].to_numpy(),
        table["estimate"].to_numpy(),
        vcov,
        level=spec.level,
        varying=varying,
        seed=spec.seed,
    )
    checks.append(sensitivity_check(sens))
    if sens is not None:
        details["honest"] = sens.table
        details["honest_breakdown"] = {
            "relative_magnitudes": sens.breakdown_rm,
            "smoothness": sens.breakdown_sd,
            "max_pre_change": sens.pre_change,
        }
        n_post = int((table["term"].to_numpy() >= 0).sum())
        details["honest_target"] = (
            f"average effect of the first {min(n_post, MAX_POST_RM)} post-launch period(s) "
            f"(of {n_post}); relative magnitudes by the conditional-least-favourable test, "
            "smoothness by the fixed-length interval"
        )
    return checks, details
