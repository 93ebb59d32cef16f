"""Sensitivity of an event-study conclusion to violations of parallel trends (Rambachan & Roth).

Post-launch effects are ``beta_e = tau_e + delta_e``, ``delta`` the unknown trend violation
(``delta_{-1} = 0``). Two restrictions bound ``delta`` after launch by what happened before it:

* relative magnitudes ``Mbar``: each post-launch one-period change of ``delta`` is at most
  ``Mbar`` times the largest pre-launch one-period change;
* smoothness ``M``: the slope of ``delta`` may change by at most ``M`` per period, starting from
  the pre-launch slope (linear extrapolation of the pre-trend when ``M = 0``).

Each bounds the bias of the average post-launch effect by an interval; the robust confidence
interval adds the sampling error (``estimate ± bound ± z·se``, the conservative union of
intervals, with the pre-launch magnitudes plugged in). The *breakdown value* is the smallest
``Mbar`` (or ``M``) at which that interval includes zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from causal_kit.core.estimate import Check
from causal_kit.core.stats import z_crit


@dataclass(frozen=True)
class Sensitivity:
    """Robust intervals over a grid of restrictions, and the breakdown values."""

    table: pd.DataFrame
    breakdown_rm: float
    breakdown_sd: float
    pre_change: float
    estimate: float
    se: float


def _pre_deltas(terms: np.ndarray, est: np.ndarray, varying: bool) -> np.ndarray:
    """Pre-launch ``delta_e`` (normalised to ``delta_{-1} = 0``), in event-time order."""
    pre = terms < 0
    t, b = terms[pre], est[pre]
    if varying:
        # one-period changes: delta_e - delta_{e-1} = b_e  ->  delta_e = -sum_{s>e} b_s (s<0)
        out = np.array([-b[t > e].sum() for e in t])
    else:
        out = b.copy()
    return out


def sensitivity(
    terms: np.ndarray,
    est: np.ndarray,
    vcov: np.ndarray,
    *,
    level: float,
    varying: bool,
    grid: np.ndarray | None = None,
) -> Sensitivity | None:
    """Relative-magnitudes and smoothness sensitivity of the average post-launch effect.

    Parameters
    ----------
    terms, est, vcov
        Event times (periods since launch), effects and their covariance.
    level
        Confidence level.
    varying
        Whether pre-launch effects are one-period changes (varying base period) rather than
        differences from period ``-1``.
    grid
        Values of ``Mbar`` (and of ``M`` in units of the pre-launch change) to tabulate.

    Returns
    -------
    Sensitivity or None
        ``None`` when there are fewer than two pre-launch periods or no post-launch period.
    """
    terms = np.asarray(terms)
    pre = (terms < 0) & (varying | (terms != -1))
    post = terms >= 0
    if pre.sum() < 1 or not post.any():
        return None
    z = z_crit(level)
    e_post = terms[post]
    w = np.where(post, 1.0 / post.sum(), 0.0)
    theta = float(w @ est)
    se = float(np.sqrt(w @ vcov @ w))
    deltas = _pre_deltas(terms, est, varying)
    t_pre = terms[terms < 0]
    full_t = np.r_[t_pre, -1] if -1 not in t_pre else t_pre
    full_d = np.r_[deltas, 0.0] if -1 not in t_pre else deltas
    order = np.argsort(full_t)
    full_t, full_d = full_t[order], full_d[order]
    steps = np.abs(np.diff(full_d))
    pre_change = float(steps.max()) if len(steps) else float("nan")
    # relative magnitudes: |delta_e| <= Mbar * pre_change * (e + 1)
    rm_unit = pre_change * float(np.mean(e_post + 1))
    # smoothness: delta_e = (e+1) * slope + w_e, |w_e| <= M * (e+1)(e+2)/2
    adj_w = w
    if len(full_t) >= 2:
        e1, e2 = full_t[-1], full_t[-2]  # the two pre-launch periods closest to launch
        slope = (_delta_coef(terms, varying, e1) - _delta_coef(terms, varying, e2)) / (e1 - e2)
        adj_w = w - slope * float(np.mean(e_post + 1))
    theta_sd = float(adj_w @ est)
    se_sd = float(np.sqrt(adj_w @ vcov @ adj_w))
    sd_unit = float(np.mean((e_post + 1) * (e_post + 2) / 2))
    grid = np.array([0, 0.25, 0.5, 0.75, 1, 1.5, 2]) if grid is None else np.asarray(grid)
    rows = []
    for m in grid:
        b = m * rm_unit
        rows.append(("relative_magnitudes", m, theta - b - z * se, theta + b + z * se))
    scale = pre_change if np.isfinite(pre_change) and pre_change > 0 else 1.0
    for m in grid:
        b = m * scale * sd_unit
        rows.append(("smoothness", m * scale, theta_sd - b - z * se_sd, theta_sd + b + z * se_sd))
    table = pd.DataFrame(rows, columns=["restriction", "M", "conf_low", "conf_high"])
    table["includes_zero"] = (table["conf_low"] <= 0) & (table["conf_high"] >= 0)
    bd_rm = _breakdown(theta, se, z, rm_unit)
    bd_sd = _breakdown(theta_sd, se_sd, z, sd_unit)
    return Sensitivity(table, bd_rm, bd_sd, pre_change, theta, se)


def _delta_coef(terms: np.ndarray, varying: bool, e: float) -> np.ndarray:
    """Coefficients expressing the pre-launch ``delta_e`` as a linear function of ``est``."""
    c = np.zeros(len(terms))
    if varying:
        c[(terms > e) & (terms < 0)] = -1.0
    elif e != -1:
        c[terms == e] = 1.0
    return c


def _breakdown(theta: float, se: float, z: float, unit: float) -> float:
    slack = abs(theta) - z * se
    if slack <= 0:
        return 0.0
    if not np.isfinite(unit) or unit <= 0:
        return float("inf")
    return float(slack / unit)


def sensitivity_check(s: Sensitivity | None) -> Check:
    """Build the ``"sensitivity"`` :class:`Check` from a :class:`Sensitivity`."""
    if s is None:
        return Check(
            name="sensitivity",
            passed=False,
            message=(
                "Sensitivity to parallel-trends violations could not be assessed: it needs at "
                "least one pre-launch period besides the reference and one post-launch period."
            ),
        )
    rm = s.breakdown_rm
    if rm == 0:
        verdict = (
            "the average post-launch effect's interval already includes zero without any "
            "violation of parallel trends"
        )
        passed = False
    else:
        strength = "robust" if rm >= 1 else "fragile"
        verdict = (
            f"the conclusion that the effect is non-zero survives post-launch trend violations "
            f"up to {rm:.2g}× the largest pre-launch one ({strength}: "
            + (
                "violations as large as those seen before launch would not overturn it)"
                if rm >= 1
                else "a violation smaller than those seen before launch would overturn it)"
            )
        )
        passed = rm >= 1
    return Check(
        name="sensitivity",
        passed=bool(passed),
        statistic=float(rm),
        message=(
            f"Relative-magnitudes breakdown value Mbar = {rm:.3g}: {verdict}. Smoothness "
            f"breakdown M = {s.breakdown_sd:.3g} (change of slope per period, outcome units)."
        ),
    )
