"""Diagnostics of a synthetic control fit, each a :class:`~causal_kit.core.estimate.Check`."""

from __future__ import annotations

import numpy as np

from causal_kit.core.estimate import Check
from causal_kit.design.synth.engine import Result
from causal_kit.design.synth.inference import Draws

PRE_FIT_MAX = 2.0  # pre-launch RMSPE over what period-to-period noise alone would leave
MIN_EFFECTIVE_DONORS = 2.0  # 1 / Σ w² below this: the synthetic twin is essentially one donor
OUTSIDE_RANGE_MAX = 0.1  # share of pre-launch periods the treated path may leave the donors' range
LOO_MAX_SHIFT = 0.5  # largest leave-one-donor-out change, as a share of |estimate| (or one SE)
PLACEBO_TIME_MAX_RATIO = 3.0  # post/pre RMSPE ratio at which a fake launch date "finds" an effect


def noise_scale(Y: np.ndarray, donors: np.ndarray, start: int) -> float:
    """Within-unit noise of one period's outcome: ``sd(Δy) / √2`` over donors and pre periods.

    For an outcome that is a smooth unit path plus independent noise of variance ``σ²``, first
    differences have variance ``2σ²`` (plus the path's own increments, which makes the scale
    lenient, never strict, for trending data).
    """
    d = np.diff(Y[donors, :start], axis=1)
    sd = float(np.std(d, ddof=1)) / np.sqrt(2.0) if d.size > 1 else 0.0
    if sd <= 0:
        sd = 1e-8 * max(1.0, float(np.mean(np.abs(Y[donors, :start]))))
    return sd


def pre_fit(result: Result, Y: np.ndarray, donors: np.ndarray, *, demean: bool = False,
            method: str = "sc") -> tuple[Check, float]:
    """Pre-launch fit judged against what noise allows.

    A synthetic twin that matched the treated cohort's systematic path exactly would still
    leave a pre-launch error of about ``σ √(1/n + Σw²)``: the noise ``σ`` of the ``n`` treated
    units' mean plus that of the weighted donors. ``σ`` is the within-unit noise scale of the
    donors (:func:`noise_scale`). The statistic is the pre-launch RMSPE over that floor (for a
    method with a unit intercept, ``sdid`` or demeaned ``sc``, the gaps' standard deviation,
    since level differences are not part of the fit), worst over cohorts; the check fails above
    ``PRE_FIT_MAX`` = 2. So a fit on noisy weekly data that is as good as the noise permits
    passes, and a twin that misses the treated unit's trend or shape fails, whatever the units.

    It is an *identifying* check: synthetic control identifies the effect only if the donors
    reproduce the treated unit's untreated path; a pre-launch gap beyond noise means they do
    not, and the post-launch gap then mixes that misfit with the effect.
    """
    worst, worst_rel = None, -1.0
    for c in result.cohorts:
        gap = c.fit.gap[: c.start]
        err = float(np.std(gap)) if demean else c.fit.pre_rmspe
        floor = noise_scale(Y, donors, c.start) * np.sqrt(
            1.0 / c.n_units + float(np.sum(c.fit.weights**2))
        )
        rel = err / floor
        if rel > worst_rel:
            worst, worst_rel = c, rel
    assert worst is not None
    rmspe = result.pre_rmspe
    passed = worst_rel <= PRE_FIT_MAX
    msg = (
        f"Pre-launch RMSPE is {rmspe:.4g}, {worst_rel:.2g}× the error that period-to-period "
        "noise alone would leave"
    )
    msg += (
        "; the synthetic path tracks the treated unit before launch as closely as the noise "
        "allows."
        if passed
        else f" (above {PRE_FIT_MAX:g}×): the donors do not reproduce the treated unit's path, so "
        "the gap is not an effect. "
        + " ".join(["Try", *[f"method='{m}'," for m in ("asc", "sdid") if m != method],
                    "more pre-launch periods, or other donors."])
    )
    check = Check("pre_fit", passed, statistic=worst_rel, message=msg, kind="identifying")
    return check, worst_rel


def effective_donors(weights: np.ndarray) -> float:
    """``1 / Σ w²``: how many donors the weights are spread over."""
    s = float(np.sum(weights**2))
    return 1.0 / s if s > 0 else float("nan")


def concentration(result: Result, label: object) -> Check:
    """Weight concentration: the effective number of donors."""
    eff = min(effective_donors(c.fit.weights) for c in result.cohorts)
    top = max(float(np.max(c.fit.weights)) for c in result.cohorts)
    passed = eff >= MIN_EFFECTIVE_DONORS
    msg = (
        f"Weights are spread over {eff:.2f} effective donors (largest weight {top:.2f}, "
        f"top: {label})"
    )
    msg += (
        "." if passed else "; the comparison rests on very few donors — make sure they are "
        "credible stand-ins and read the leave-one-donor-out check."
    )
    # Robustness: concentrated weights are legitimate; the estimate just leans on few donors.
    return Check("weight_concentration", passed, statistic=eff, message=msg, kind="robustness")


def donor_range(result: Result, Y: np.ndarray, donors: np.ndarray, demean: bool) -> Check:
    """Whether the treated pre-launch path stays inside the donors' range (no extrapolation)."""
    worst = 0.0
    for c in result.cohorts:
        y = Y[c.rows].mean(axis=0)[: c.start]
        D = Y[donors, : c.start]
        if demean:
            y = y - y.mean()
            D = D - D.mean(axis=1, keepdims=True)
        outside = (y > D.max(axis=0)) | (y < D.min(axis=0))
        worst = max(worst, float(outside.mean()))
    passed = worst <= OUTSIDE_RANGE_MAX
    what = "mean-adjusted " if demean else ""
    msg = (
        f"The treated unit's {what}pre-launch path lies outside the donors' {what}range in "
        f"{worst:.0%} of pre-launch periods"
    )
    msg += (
        "." if passed else ": a convex combination of donors cannot reach it, so the synthetic "
        "control extrapolates. Prefer method='asc' or 'sdid', or add donors that resemble it."
    )
    # Identifying: outside the donors' range a convex twin must extrapolate (biased fit).
    return Check("donor_range", passed, statistic=worst, message=msg, kind="identifying")


def leave_one_out(estimate: float, se: float, loo: np.ndarray, names: list[str]) -> Check:
    """Stability of the estimate when each weighted donor is dropped in turn."""
    if loo.size == 0:
        return Check("leave_one_out", True, statistic=0.0, message="No donor carries weight.",
                     kind="robustness")
    shift = np.abs(loo - estimate)
    k = int(np.argmax(shift))
    allowed = max(LOO_MAX_SHIFT * abs(estimate), se if np.isfinite(se) else 0.0)
    passed = bool(shift[k] <= allowed)
    msg = (
        f"Dropping each of {loo.size} weighted donor(s) moves the estimate to between "
        f"{loo.min():.4g} and {loo.max():.4g} (largest change {shift[k]:.4g}, without {names[k]})"
    )
    msg += (
        "." if passed else ": the result hinges on one donor — report it with that caveat or "
        "look for why that donor matters."
    )
    # Robustness: how far the conclusion moves without any one donor.
    return Check("leave_one_out", passed, statistic=float(shift[k]), message=msg,
                 kind="robustness")


def placebo_rank(p: float, rank: int, n: int, level: float, exact: bool) -> Check:
    """Where the treated unit's post/pre RMSPE ratio ranks among the placebos'."""
    alpha = 1.0 - level
    floor = 1.0 / (n + 1)
    passed = p <= alpha
    kind = "exact rank" if exact else "randomisation"
    msg = (
        f"The treated post/pre RMSPE ratio ranks {rank} of {n + 1} ({kind} p = {p:.3g}; the "
        f"smallest attainable with {n} placebos is {floor:.3g})"
    )
    if floor > alpha:
        msg += f": with so few donors no result can reach p ≤ {alpha:.2g}."
    elif passed:
        msg += ": the gap stands out from the placebo gaps."
    else:
        msg += ": placebo units show gaps as large; the effect is not distinguishable from noise."
    # Robustness: whether the gap stands out from placebo gaps, not an assumption of the design.
    return Check("placebo_rank", passed, statistic=float(rank), p_value=p, message=msg,
                 kind="robustness")


def placebo_time(draws: Draws, ratio: float) -> Check:
    """Fake launch dates before the real one should show no effect."""
    r = draws.ratio
    k = int(np.argmax(r))
    worst = float(r[k])
    p = float((1 + np.sum(r >= ratio)) / (r.size + 1))
    passed = worst <= PLACEBO_TIME_MAX_RATIO
    msg = (
        f"{r.size} fake launch date(s) before the real one give post/pre RMSPE ratios up to "
        f"{worst:.3g} ({draws.labels[k]}; pseudo-effects {np.min(draws.att):.4g} to "
        f"{np.max(draws.att):.4g}); the real launch's ratio is {ratio:.3g}"
    )
    msg += (
        "." if passed else f": a fake date shows a gap over {PLACEBO_TIME_MAX_RATIO:g}× the fit "
        "error, so something moved the treated unit before launch (anticipation or a shock)."
    )
    # Identifying: an "effect" at a fake date means anticipation or a pre-launch shock.
    return Check("placebo_in_time", passed, statistic=worst, p_value=p, message=msg,
                 kind="identifying")
