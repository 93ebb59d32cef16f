"""Checks of a randomized experiment: sample ratio, covariate balance, exposure and novelty."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.core.estimate import Check
from causal_kit.design.experiment._contrast import Contrast
from causal_kit.design.experiment._moments import Moments

SRM_ALPHA = 0.001  # the conventional sample-ratio-mismatch threshold (Fabijan et al. 2019)
BALANCE_ALPHA = 0.001  # Bonferroni-adjusted, over the covariates
EXPOSURE_ALPHA = 0.001
NOVELTY_ALPHA = 0.05
MIN_COHORTS = 3


def srm(n_t: int, n_c: int, share_t: float, labels: tuple[str, str]) -> Check:
    """Chi-square goodness of fit of the arms' sizes to the planned split (fails at p < 0.001)."""
    n = n_t + n_c
    expected = np.array([share_t, 1 - share_t]) * n
    chi2, p = stats.chisquare([n_t, n_c], expected)
    ok = bool(p >= SRM_ALPHA)
    found = f"{labels[0]} {n_t:,} ({n_t / n:.2%}) vs {labels[1]} {n_c:,} ({n_c / n:.2%})"
    plan = f"planned {share_t:.2%} / {1 - share_t:.2%}"
    msg = (
        f"Arm sizes match the plan: {found}, {plan} (chi-square p = {p:.3g})."
        if ok else
        f"Sample ratio mismatch: {found}, {plan} (chi-square p = {p:.2g} < {SRM_ALPHA}). "
        "Assignment or logging is broken (bot filtering, a redirect, a crash in one arm, a "
        "late start); the comparison may be biased. Find the cause before trusting the effect."
    )
    return Check("srm", ok, float(chi2), float(p), msg, kind="identifying")


def balance(m: Moments, names: list[str]) -> Check:
    """Welch tests of the covariates' (the columns of ``m``) means between arms, Bonferroni."""
    n_c, n_t = m.n
    diff = m.mean[1] - m.mean[0]
    var = np.diagonal(m.gram[1]) / (n_t - 1) / n_t + np.diagonal(m.gram[0]) / (n_c - 1) / n_c
    with np.errstate(invalid="ignore", divide="ignore"):
        z = diff / np.sqrt(var)
    p_each = 2 * stats.norm.sf(np.abs(z))
    worst = int(np.nanargmax(np.abs(z)))
    p = float(min(1.0, np.nanmin(p_each) * len(names)))
    ok = bool(p >= BALANCE_ALPHA)
    what = f"largest standardised gap: {names[worst]!r}, t = {z[worst]:.2f}"
    msg = (
        f"Pre-period covariates are balanced between arms ({what}; Bonferroni p = {p:.3g})."
        if ok else
        f"Pre-period covariates differ between arms beyond chance ({what}; Bonferroni "
        f"p = {p:.2g} < {BALANCE_ALPHA}). Randomization may be broken, or the covariate was "
        "measured after exposure; check the assignment and the covariate's window."
    )
    return Check("balance", ok, float(np.abs(z[worst])), p, msg, kind="identifying")


def exposure(exposed: np.ndarray, arm: np.ndarray, estimate: float) -> Check:
    """Share of assigned users exposed, and whether it differs between arms."""
    n_t = int(arm.sum())
    n_c = arm.size - n_t
    e_t = int(exposed[arm == 1].sum())
    e_c = int(exposed.sum()) - e_t
    table = np.array([[e_t, n_t - e_t], [e_c, n_c - e_c]])
    if (table.sum(axis=0) == 0).any():
        p = 1.0
    else:
        p = stats.chi2_contingency(table, correction=False)[1]
    share = (e_t + e_c) / arm.size
    ok = bool(p >= EXPOSURE_ALPHA)
    shares = f"{e_t / n_t:.1%} of treatment and {e_c / n_c:.1%} of control users were exposed"
    if ok and share == 1:
        msg = "Every assigned user was exposed; the estimate is the effect on exposed users."
    elif ok:
        per_exposed = estimate / share if share > 0 else float("nan")
        msg = (
            f"{shares}. The estimate is the effect of assignment over all assigned users; the "
            f"effect on exposed users is about {per_exposed:.4g} (estimate / {share:.1%})."
        )
    else:
        msg = (
            f"{shares} (p = {p:.2g}): the treatment changes who is exposed, so an analysis of "
            "exposed users only would be biased. Keep the assigned-user comparison (this "
            "estimate) and look for why exposure differs."
        )
    return Check("exposure", ok, float(share), float(p), msg, kind="robustness")


def novelty(cohorts: Contrast, first_day: pd.Timestamp, estimate: float) -> tuple[Check | None,
                                                                                  pd.DataFrame]:
    """Test for a trend of the effect in days since first exposure (a fading novelty effect).

    Users are grouped by the day they were first exposed; a cohort exposed ``s`` days before the
    last exposure day has had ``s`` more days of the new experience. A weighted least-squares
    slope of the cohorts' effects on ``s`` that pulls toward zero (opposite in sign to the
    effect) and is significant at 5% fails the check.
    """
    n_days = cohorts.diff.shape[0]
    usable = (cohorts.n_t >= 2) & (cohorts.n_c >= 2) & (cohorts.var > 0)
    days = np.arange(n_days)
    table = pd.DataFrame({
        "exposure_day": first_day + pd.to_timedelta(days, unit="D"),
        "days_since_exposure": n_days - 1 - days,
        "estimate": cohorts.diff,
        "std_error": np.sqrt(cohorts.var),
        "n_treatment": cohorts.n_t.astype(int),
        "n_control": cohorts.n_c.astype(int),
    })[usable].reset_index(drop=True)
    if len(table) < MIN_COHORTS:
        return None, table
    s = table["days_since_exposure"].to_numpy(float)
    e = table["estimate"].to_numpy()
    w = 1 / table["std_error"].to_numpy() ** 2
    sbar = np.sum(w * s) / w.sum()
    sxx = np.sum(w * (s - sbar) ** 2)
    if sxx <= 0:
        return None, table
    slope = float(np.sum(w * (s - sbar) * (e - np.sum(w * e) / w.sum())) / sxx)
    z = slope * np.sqrt(sxx)
    p = float(2 * stats.norm.sf(abs(z)))
    fading = slope * estimate < 0
    ok = not (fading and p < NOVELTY_ALPHA)
    trend = f"{slope:+.4g} per day since first exposure (p = {p:.3g}, {len(table)} cohorts)"
    msg = (
        f"The effect fades with time since exposure: {trend}. Early users' effect is smaller "
        "than the newest users'; the headline may overstate the lasting effect. Run longer, or "
        "read the effect of the longest-exposed cohorts."
        if not ok else f"No sign of a fading (novelty) effect: {trend}."
    )
    return Check("novelty", ok, slope, p, msg, kind="robustness"), table
