"""The checks of an RD design.

Manipulation, covariate balance, bandwidth sensitivity, placebo cutoffs, first-stage strength
(fuzzy) and, for RD in time, serial correlation and trend order.

Each check returns a table for ``details`` and a :class:`Check` for the scorecard. Tests of
several hypotheses (covariates, placebo cutoffs) are summarised with Holm-adjusted p-values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.core.errors import DataError
from causal_kit.core.estimate import Check
from causal_kit.design.rdd._data import MIN_DISTINCT, MIN_SIDE_OBS
from causal_kit.design.rdd._density import DensityTest
from causal_kit.design.rdd._engine import robust, run
from causal_kit.design.rdd._fit import FitOptions, RdFit
from causal_kit.design.rdd._sample import Sample

WEAK_FIRST_STAGE_F = 10.0
_TABLE = ["estimate", "se_robust", "conf_low", "conf_high", "p_value", "h_left", "h_right",
          "n_left", "n_right"]


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok])]
    m = len(order)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def _row(sample: Sample, opt: FitOptions, method: str, level: float, sign: float) -> dict:
    r = run(sample, opt, method)
    _, p, lo, hi = robust(r.fit, level)
    lo, hi = sorted((sign * lo, sign * hi))
    return {"estimate": sign * r.fit.tau, "se_robust": r.fit.se_rb, "conf_low": lo,
            "conf_high": hi, "p_value": p, "h_left": r.fit.h[0], "h_right": r.fit.h[1],
            "n_left": r.fit.n_h[0], "n_right": r.fit.n_h[1]}


def _usable(sample: Sample) -> str | None:
    if min(sample.n_left, sample.n_right) < MIN_SIDE_OBS:
        return f"fewer than {MIN_SIDE_OBS} observations on a side"
    if min(sample.distinct) < MIN_DISTINCT:
        return f"fewer than {MIN_DISTINCT} distinct running values on a side"
    return None


def _safe_row(sample: Sample, opt: FitOptions, method: str, level: float, sign: float) -> dict:
    reason = _usable(sample)
    if reason is None:
        try:
            return {**_row(sample, opt, method, level, sign), "note": ""}
        except DataError as exc:
            reason = str(exc)
    return {**dict.fromkeys(_TABLE, np.nan), "note": f"not estimated: {reason}"}


def balance_table(
    sample: Sample, balance: dict[str, tuple[np.ndarray, np.ndarray]], opt: FitOptions,
    method: str, level: float, sign: float,
) -> pd.DataFrame:
    """Each balance covariate as an RD outcome, with Holm-adjusted robust p-values."""
    rows = []
    for name, (vl, vr) in balance.items():
        okl, okr = ~np.isnan(vl), ~np.isnan(vr)
        sub = Sample(sample.xl[okl], sample.xr[okr], vl[okl, None], vr[okr, None],
                     None if sample.cl is None else sample.cl[okl],
                     None if sample.cr is None else sample.cr[okr])
        rows.append({"covariate": name, **_safe_row(sub, opt, method, level, sign)})
    table = pd.DataFrame(rows, columns=["covariate", *_TABLE, "note"])
    table.insert(6, "p_holm", holm(table["p_value"].to_numpy(dtype=float)))
    return table


def balance_check(table: pd.DataFrame, alpha: float) -> Check:
    """Pass when no covariate jumps at the cutoff after Holm's adjustment."""
    tested = table.dropna(subset=["p_value"])
    if tested.empty:
        return Check("covariate_balance", False, None, None,
                     "No balance covariate could be estimated; balance is unverified.")
    worst = tested.iloc[int(np.argmin(tested["p_holm"].to_numpy()))]
    bad = tested[tested["p_holm"] < alpha]["covariate"].tolist()
    if bad:
        msg = (f"{len(bad)} of {len(tested)} covariates jump at the cutoff (Holm-adjusted "
               f"p < {alpha:g}): {', '.join(map(str, bad))}. Units on the two sides differ in "
               "more than treatment; look for sorting around the cutoff.")
    else:
        msg = (f"None of {len(tested)} covariates jumps at the cutoff (smallest Holm-adjusted "
               f"p = {worst['p_holm']:.3g}, {worst['covariate']}).")
    return Check("covariate_balance", not bad, float(len(bad)), float(worst["p_holm"]), msg)


def sensitivity_table(
    sample: Sample, opt: FitOptions, f: RdFit, factors: Sequence[float], level: float,
    sign: float,
) -> pd.DataFrame:
    """Re-estimate over a grid of bandwidths ``factor * h`` (``b`` keeps the ratio ``h / b``)."""
    rows = []
    for k in factors:
        h = (f.h[0] * k, f.h[1] * k)
        b = (f.b[0] * k, f.b[1] * k)
        row: dict = {"factor": float(k)}
        try:
            r = f if k == 1.0 else run(sample, opt, "manual", h, b).fit
            _, p, lo, hi = robust(r, level)
            lo, hi = sorted((sign * lo, sign * hi))
            row |= {"estimate": sign * r.tau, "estimate_bc": sign * r.tau_bc,
                    "se_robust": r.se_rb, "conf_low": lo, "conf_high": hi, "p_value": p,
                    "h_left": h[0], "h_right": h[1], "n_left": r.n_h[0], "n_right": r.n_h[1],
                    "note": ""}
        except DataError as exc:
            row |= {**dict.fromkeys(_TABLE, np.nan), "estimate_bc": np.nan, "h_left": h[0],
                    "h_right": h[1], "note": f"not estimated: {exc}"}
        rows.append(row)
    return pd.DataFrame(rows, columns=["factor", "estimate", "estimate_bc", *_TABLE[1:], "note"])


def sensitivity_check(table: pd.DataFrame, estimate: float, se: float, level: float) -> Check:
    """Pass when no other bandwidth moves the estimate by more than a critical number of SEs.

    The distance is measured in the headline's robust standard error; the critical value is
    Bonferroni-adjusted for the number of alternative bandwidths.
    """
    alt = table[(table["factor"] != 1.0)].dropna(subset=["estimate"])
    if alt.empty:
        return Check("bandwidth_sensitivity", False, None, None,
                     "No alternative bandwidth could be estimated; stability is unverified.")
    dist = np.abs(alt["estimate"].to_numpy() - estimate) / se
    crit = float(stats.norm.ppf(1 - (1 - level) / (2 * len(alt))))
    worst = alt.iloc[int(np.argmax(dist))]
    ok = bool(dist.max() <= crit)
    span = f"{alt['factor'].min():g}×h to {alt['factor'].max():g}×h"
    moved = alt["estimate"].to_numpy()
    if ok:
        msg = (f"Stable: from {span} the estimate ranges {moved.min():.4g} to {moved.max():.4g}, "
               f"at most {dist.max():.2f} robust SEs from the headline {estimate:.4g} "
               f"(limit {crit:.2f}, Bonferroni over {len(alt)} bandwidths).")
    else:
        msg = (f"Sensitive: at {worst['factor']:g}×h the estimate is {worst['estimate']:.4g}, "
               f"{dist.max():.2f} robust SEs from the headline {estimate:.4g} (limit "
               f"{crit:.2f}, Bonferroni over {len(alt)} bandwidths). The result depends on the "
               "bandwidth; report the range, not one number.")
    return Check("bandwidth_sensitivity", ok, float(dist.max()), None, msg)


def default_placebos(sample: Sample) -> list[float]:
    """Two placebo cutoffs per side: the terciles of that side's running values (centred)."""
    out = []
    for x in (sample.xl, sample.xr):
        out += [float(np.quantile(x, 1 / 3)), float(np.quantile(x, 2 / 3))]
    return out


def placebo_table(
    sample: Sample, opt: FitOptions, method: str, cutoffs: Sequence[float], level: float,
    sign: float, labels: Sequence[object],
) -> pd.DataFrame:
    """Sharp RD of the outcome at each placebo cutoff, using only that side's observations."""
    keep = [0, *range(sample.dl.shape[1] - sample.n_covs, sample.dl.shape[1])]
    base = sample.with_columns(sample.dl[:, keep], sample.dr[:, keep], n_covs=sample.n_covs)
    rows = []
    for cut, label in zip(cutoffs, labels, strict=True):
        side = "below" if cut < 0 else "above"
        sub = base.shifted("left" if cut < 0 else "right", cut)
        rows.append({"cutoff": label, "side": side, **_safe_row(sub, opt, method, level, sign)})
    table = pd.DataFrame(rows, columns=["cutoff", "side", *_TABLE, "note"])
    table.insert(7, "p_holm", holm(table["p_value"].to_numpy(dtype=float)))
    return table


def placebo_check(table: pd.DataFrame, alpha: float) -> Check:
    """Pass when no placebo cutoff shows a jump after Holm's adjustment."""
    tested = table.dropna(subset=["p_value"])
    if tested.empty:
        return Check("placebo_cutoffs", False, None, None,
                     "No placebo cutoff could be estimated; the check is unverified.")
    bad = tested[tested["p_holm"] < alpha]
    best = float(tested["p_holm"].min())
    if len(bad):
        msg = (f"{len(bad)} of {len(tested)} placebo cutoffs show a jump (Holm-adjusted "
               f"p < {alpha:g}) at {', '.join(str(c) for c in bad['cutoff'])}. The outcome moves "
               "where nothing changes; the jump at the real cutoff may not be the launch.")
    else:
        msg = (f"No jump at {len(tested)} placebo cutoffs (smallest Holm-adjusted p = "
               f"{best:.3g}).")
    return Check("placebo_cutoffs", bad.empty, float(len(bad)), best, msg)


def density_check(test: DensityTest, alpha: float) -> Check:
    """Pass when the running variable's density is continuous at the cutoff."""
    t, p = test.statistic, test.p_value
    if p < alpha:
        msg = (f"The running variable's density jumps at the cutoff (T = {t:.3f}, p = {p:.3g}): "
               f"{test.density[0]:.4g} just below vs {test.density[1]:.4g} just above. Units may "
               "sort around the cutoff; consider a donut or a different design.")
    else:
        msg = (f"No sign of manipulation: the density is continuous at the cutoff "
               f"(T = {t:.3f}, p = {p:.3g}).")
    return Check("density", p >= alpha, t, p, msg)


def first_stage_f(tau_t: float, se_t: float) -> float:
    """F-statistic of the take-up jump; infinite when take-up is a step (perfect compliance)."""
    if se_t > 0:
        return (tau_t / se_t) ** 2
    return float("inf") if tau_t != 0 else float("nan")


def first_stage_check(f: RdFit, sign: float) -> Check:
    """Pass when the take-up jump is strong (F = z² of the conventional estimate ≥ 10)."""
    assert f.first_stage is not None
    tau_t, _, se_t, _ = f.first_stage
    fstat = first_stage_f(tau_t, se_t)
    p = float(stats.chi2.sf(fstat, 1)) if not math.isnan(fstat) else float("nan")
    jump = sign * tau_t
    if fstat >= WEAK_FIRST_STAGE_F:
        msg = f"Strong first stage: take-up jumps by {jump:.3g} at the cutoff (F = {fstat:.1f})."
    else:
        msg = (f"Weak first stage: take-up jumps by only {jump:.3g} (F = {fstat:.1f} < "
               f"{WEAK_FIRST_STAGE_F:g}); the fuzzy estimate divides by a noisy near-zero jump "
               "and its interval is unreliable. Report the outcome's jump (sharp RD) instead.")
    return Check("first_stage", bool(fstat >= WEAK_FIRST_STAGE_F), float(fstat), p, msg)


def _daily_means(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``y`` per whole day of the sorted running variable ``x`` (days from the cutoff)."""
    day = np.floor(x)
    if len(day) == 0:
        return day, day
    starts = np.flatnonzero(np.concatenate([[True], day[1:] != day[:-1]]))
    sums = np.add.reduceat(y, starts)
    counts = np.diff(np.append(starts, len(y)))
    return day[starts], sums / counts


def serial_correlation(sample: Sample, alpha: float, lags: int = 7) -> Check | None:
    """Ljung–Box test on daily mean outcomes net of a smooth trend, each side (RD in time).

    The trend is a polynomial of order up to 4 in time on each side (as in the RD plot), so
    slow-moving trends are not mistaken for serial correlation. Returns ``None`` when a side has
    fewer than 10 days.
    """
    q_total, df, rhos = 0.0, 0, []
    for x, d in ((sample.xl, sample.dl), (sample.xr, sample.dr)):
        days, means = _daily_means(x, d[:, 0])
        t = len(days)
        if t < 10:
            continue
        u = (days - days.mean()) / max(float(np.ptp(days)), 1.0)
        order = min(4, t // 5)
        coef = np.polynomial.polynomial.polyfit(u, means, order)
        e = means - np.polynomial.polynomial.polyval(u, coef)
        e = e - e.mean()
        m = min(lags, t // 4)
        acf = np.array([e[k:] @ e[:-k] for k in range(1, m + 1)]) / (e @ e)
        q_total += t * (t + 2) * float(np.sum(acf**2 / (t - np.arange(1, m + 1))))
        df += m
        rhos.append(float(acf[0]))
    if df == 0:
        return None
    p = float(stats.chi2.sf(q_total, df))
    rho = ", ".join(f"{r:.2f}" for r in rhos)
    if p < alpha:
        msg = (f"Daily outcomes are serially correlated around their trend (Ljung–Box "
               f"p = {p:.3g}; lag-1 autocorrelation {rho}). Days close in time are not "
               "independent, so the interval is too narrow: pass cluster= a day or week column, "
               "or aggregate by day.")
    else:
        msg = (f"No serial correlation in daily outcomes around their trend (Ljung–Box "
               f"p = {p:.3g}; lag-1 autocorrelation {rho}).")
    return Check("serial_correlation", p >= alpha, q_total, p, msg)


def trend_check(
    sample: Sample, opt: FitOptions, method: str, f: RdFit, ci: tuple[float, float],
    sign: float,
) -> Check:
    """Re-fit with one more polynomial order: a time trend must not explain the jump."""
    alt = FitOptions(p=opt.p + 1, q=opt.q + 1, kernel=opt.kernel, vce=opt.vce,
                     nnmatch=opt.nnmatch)
    try:
        r = run(sample, alt, method).fit
    except DataError as exc:
        return Check("time_trend", False, None, None,
                     f"Could not re-fit with a order-{alt.p} trend: {exc}")
    est = sign * r.tau if not sample.fuzzy else r.tau
    ok = ci[0] <= est <= ci[1]
    msg = (f"With an order-{alt.p} time trend each side the estimate is {est:.4g}, "
           f"{'inside' if ok else 'outside'} the headline interval [{ci[0]:.4g}, {ci[1]:.4g}].")
    if not ok:
        msg += (" The jump depends on how the time trend is modelled; slow-moving trends or "
                "other changes near the launch date may be driving it.")
    return Check("time_trend", ok, est, None, msg)

