"""Inference for the synthetic control family: placebos, conformal intervals, SDID variances.

* Placebo-in-space: every donor in turn plays the treated unit (with one treated unit; with
  several, random sets of donors take the treated units' places), the estimator is refitted on
  the remaining donors, and the treated unit's post/pre RMSPE ratio is ranked among the
  placebos'. With ``J`` donors the p-value is an exact rank, ``(1 + #{placebo ratio ≥ treated
  ratio}) / (J + 1)``: the smallest attainable value is ``1/(J+1)``.
* Placebo-in-time: fake launch dates before the real one, fitted on data truncated at the real
  launch.
* Conformal intervals (Chernozhukov, Wüthrich & Zhu 2021): the null ``τ_t = θ`` is imposed on
  the treated outcome, the weights are refitted on the pre-launch periods plus period ``t``, and
  the residual of period ``t`` is ranked among all residuals; the interval collects the ``θ``
  not rejected.
* SDID variances of Arkhangelsky et al. (2021): placebo (Algorithm 4), bootstrap (Algorithm 2)
  and jackknife with fixed weights (Algorithm 3).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from causal_kit.core.errors import CausalKitWarning, SpecificationError
from causal_kit.design.synth.engine import Engine, Groups, Result
from causal_kit.design.synth.estimators import fit_asc, fit_sc


@dataclass(frozen=True)
class Draws:
    """Refits of the estimator under a placebo or resampling scheme.

    Attributes
    ----------
    kind
        ``"placebo"``, ``"bootstrap"``, ``"jackknife"`` or ``"placebo_time"``.
    att
        The headline statistic of each draw.
    effects
        Per-term effects of each draw ``(B, n_terms)``.
    pre_rmspe, post_rmspe
        Pre- and post-launch RMSPE of each draw.
    labels
        What each draw is (the placebo unit, the dropped unit, the fake date...).
    paths
        Gap paths of each draw (for the spaghetti plot), or ``None``.
    """

    kind: str
    att: np.ndarray
    effects: np.ndarray
    pre_rmspe: np.ndarray
    post_rmspe: np.ndarray
    labels: list[str]
    paths: np.ndarray | None = None

    @property
    def ratio(self) -> np.ndarray:
        """Post/pre RMSPE ratios."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.pre_rmspe > 0, self.post_rmspe / self.pre_rmspe, np.inf)


def _progress(items: Iterable[Any], total: int, show: bool, what: str) -> Iterable[Any]:
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=what, leave=False)


def _collect(kind: str, results: list[Result], labels: list[str], single: bool) -> Draws:
    return Draws(
        kind=kind,
        att=np.array([r.att for r in results]),
        effects=_stack([r.effects(single) for r in results]),
        pre_rmspe=np.array([r.pre_rmspe for r in results]),
        post_rmspe=np.array([r.post_rmspe for r in results]),
        labels=labels,
        paths=_stack([r.gap_path(single) for r in results]),
    )


def _stack(rows: list[np.ndarray]) -> np.ndarray:
    """Stack rows of possibly different lengths, padding with NaN."""
    width = max(r.size for r in rows)
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        out[i, : r.size] = r
    return out


def treated_count(groups: Groups) -> int:
    """Return the number of treated units over all cohorts."""
    return int(sum(rows.size for _, rows in groups))


def placebo_space(
    engine: Engine,
    donors: np.ndarray,
    groups: Groups,
    *,
    n_draws: int,
    rng: np.random.Generator,
    progress: bool,
) -> Draws:
    """Placebo-in-space refits (exact enumeration over donors when one unit is treated)."""
    single = len(groups) == 1
    n1 = treated_count(groups)
    J = donors.size
    if J - n1 < 2:
        raise SpecificationError(
            f"placebo inference needs at least {n1 + 2} donors ({n1} to stand in for the treated "
            f"units and 2 to build their synthetic controls); there are {J}. Use "
            "inference='none' or add donors."
        )
    assignments: list[tuple[np.ndarray, list[tuple[int, np.ndarray]]]] = []
    labels: list[str] = []
    if n1 == 1:
        start = groups[0][0]
        for k in range(J):
            assignments.append((np.delete(donors, k), [(start, donors[k : k + 1])]))
            labels.append(str(engine.data.unit_label(int(donors[k]))))
    else:
        sizes = [rows.size for _, rows in groups]
        for b in range(n_draws):
            perm = rng.permutation(donors)
            fake, pos = [], 0
            for (start, _), size in zip(groups, sizes, strict=True):
                fake.append((start, np.sort(perm[pos : pos + size])))
                pos += size
            assignments.append((np.sort(perm[n1:]), fake))
            labels.append(f"draw {b + 1}")
    results = [
        engine.fit(d, g)
        for d, g in _progress(assignments, len(assignments), progress, "placebo refits")
    ]
    return _collect("placebo", results, labels, single)


def placebo_time(engine: Engine, donors: np.ndarray, groups: Groups, min_pre: int) -> Draws | None:
    """Fake launch dates ``k = 1…K`` periods before the real ones, on data ending at the launch.

    ``K`` keeps at least half of the pre-launch periods (and ``min_pre``) for fitting and is at
    most the post-launch length.
    """
    starts = [start for start, _ in groups]
    keep = max(min_pre, -(-min(starts) // 2))  # keep at least half of the pre-launch periods
    max_lead = min(min(starts) - keep, max(engine.data.n_periods - s for s in starts))
    if max_lead < 1:
        return None
    results, labels = [], []
    for k in range(1, max_lead + 1):
        fake = [(start - k, rows) for start, rows in groups]
        results.append(engine.fit(donors, fake, end=starts))
        labels.append(f"{k} period(s) early")
    single = len(groups) == 1
    return _collect("placebo_time", results, labels, single)


def leave_one_out(
    engine: Engine, donors: np.ndarray, groups: Groups, result: Result
) -> tuple[np.ndarray, np.ndarray]:
    """Refit without each donor that carries weight; returns (donor rows, estimates)."""
    weight = np.zeros(donors.size)
    for c in result.cohorts:
        weight = np.maximum(weight, np.abs(c.fit.weights))
    keep = np.flatnonzero(weight > 1e-8)
    if donors.size - 1 < 2:
        return donors[:0], np.empty(0)
    est = np.array([engine.fit(np.delete(donors, k), groups).att for k in keep])
    return donors[keep], est


# ----------------------------------------------------------------------------- SDID variances


def sdid_bootstrap(
    engine: Engine,
    donors: np.ndarray,
    groups: Groups,
    *,
    n_draws: int,
    rng: np.random.Generator,
    progress: bool,
) -> Draws:
    """Refit on unit bootstrap samples, weights re-estimated (Arkhangelsky et al., Alg. 2)."""
    cohort_of = {int(r): start for start, rows in groups for r in rows}
    everyone = np.concatenate([donors, *[rows for _, rows in groups]])
    is_donor = np.isin(everyone, donors)
    results, labels = [], []
    attempts = 0
    bar = _progress(range(n_draws), n_draws, progress, "bootstrap refits")
    for b in bar:
        while True:
            attempts += 1
            if attempts > 20 * n_draws:
                raise SpecificationError(
                    "the unit bootstrap keeps drawing samples without treated or without donor "
                    "units; use inference='placebo'."
                )
            pick = rng.integers(0, everyone.size, everyone.size)
            d = np.sort(everyone[pick[is_donor[pick]]])
            t = everyone[pick[~is_donor[pick]]]
            if d.size >= 2 and t.size >= 1:
                break
        g = [
            (start, np.sort(t[[cohort_of[int(r)] == start for r in t]]))
            for start, _ in groups
        ]
        g = [(start, rows) for start, rows in g if rows.size]
        results.append(engine.fit(d, g))
        labels.append(f"draw {b + 1}")
    single = len(groups) == 1
    T = engine.data.n_periods
    n_terms = max(T - start for start, _ in groups)
    effects = np.vstack([
        r.effects(single) if len(r.cohorts) == len(groups) else np.full(n_terms, np.nan)
        for r in results
    ])
    return Draws(
        kind="bootstrap",
        att=np.array([r.att for r in results]),
        effects=effects,
        pre_rmspe=np.array([r.pre_rmspe for r in results]),
        post_rmspe=np.array([r.post_rmspe for r in results]),
        labels=labels,
    )


def sdid_jackknife(donors: np.ndarray, groups: Groups, result: Result, data_Y: np.ndarray) -> Draws:
    """Leave-one-unit-out with the unit and time weights held fixed (Algorithm 3)."""
    for start, rows in groups:
        if rows.size < 2:
            raise SpecificationError(
                "the jackknife variance is not defined when a cohort has a single treated unit "
                f"(the cohort starting at period index {start} has one); use "
                "inference='placebo'."
            )
    single = len(groups) == 1
    atts, effects, labels = [], [], []
    pieces = []
    for c in result.cohorts:
        lam = c.fit.time_weights
        assert lam is not None
        Y = data_Y[:, : c.fit.gap.size]
        contrib = Y[donors] - (Y[donors, : c.start] @ lam)[:, None]  # (J, T)
        treated = Y[c.rows] - (Y[c.rows, : c.start] @ lam)[:, None]  # (n, T)
        pieces.append((c, contrib, treated))
    everyone = np.concatenate([donors, *[rows for _, rows in groups]])
    for unit in everyone:
        gaps, weights_, starts = [], [], []
        for c, contrib, treated in pieces:
            omega = c.fit.weights.copy()
            rows_keep = c.rows != unit
            omega[donors == unit] = 0.0
            total = omega.sum()
            omega = omega / total if total > 0 else np.full(omega.size, 1.0 / omega.size)
            gap = treated[rows_keep].mean(axis=0) - omega @ contrib
            gaps.append(gap)
            weights_.append(int(rows_keep.sum()) * (gap.size - c.start))
            starts.append(c.start)
        w = np.asarray(weights_, dtype=float)
        atts.append(float(sum(wi * g[s:].mean() for wi, g, s in zip(w, gaps, starts,
                                                                      strict=True)) / w.sum()))
        effects.append(_terms(gaps, starts, [int(x) for x in w], single))
        labels.append(str(int(unit)))
    nan = np.full(len(atts), np.nan)
    return Draws(kind="jackknife", att=np.array(atts), effects=np.vstack(effects),
                 pre_rmspe=nan, post_rmspe=nan, labels=labels)


def _terms(
    gaps: list[np.ndarray], starts: list[int], weights: list[int], single: bool
) -> np.ndarray:
    if single:
        return gaps[0][starts[0]:]
    horizon = max(g.size - s for g, s in zip(gaps, starts, strict=True))
    num = np.zeros(horizon)
    den = np.zeros(horizon)
    for g, s, w in zip(gaps, starts, weights, strict=True):
        n_post = g.size - s
        n_units = w / n_post
        num[:n_post] += n_units * g[s:]
        den[:n_post] += n_units
    return num / den


def jackknife_se(values: np.ndarray) -> float:
    """``sqrt((n−1)/n · Σ(θ_(i) − θ̄)²)``."""
    n = values.size
    return float(np.sqrt((n - 1) / n * np.sum((values - values.mean()) ** 2)))


def draw_se(values: np.ndarray) -> float:
    """``sqrt(mean((θ_b − θ̄)²))`` as in synthdid's placebo and bootstrap variances."""
    v = values[np.isfinite(values)]
    return float(np.sqrt(np.mean((v - v.mean()) ** 2))) if v.size > 1 else float("nan")


# ----------------------------------------------------------------------------- conformal


def conformal(
    engine: Engine,
    donors: np.ndarray,
    start: int,
    rows: np.ndarray,
    result: Result,
    level: float,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Conformal intervals per post-launch period and for a constant effect over all of them.

    Returns ``(low, high)`` arrays per post period, the per-period p-values of ``θ = 0`` and a
    dict with the joint interval and its p-value.
    """
    alpha = 1.0 - level
    s = engine.settings
    Y = engine.data.Y
    Yd = Y[donors]
    y1 = Y[rows].mean(axis=0)
    T = Y.shape[1]
    fit = result.cohorts[0].fit
    scale = max(fit.pre_rmspe, 1e-8 * max(1.0, float(np.abs(y1).mean())))
    lam = engine.fixed.get(("lambda", start))

    def residuals(periods: np.ndarray, target: np.ndarray) -> np.ndarray:
        A = Yd[:, periods]
        n = periods.size
        if s.method == "asc":
            return fit_asc(A, target, n, lam=lam, qp=(A @ A.T, A @ target)).gap
        if s.uses_predictors:
            pred = engine.predictors(donors, start, rows)
            return fit_sc(A, target, n, intercept=s.intercept, predictors=pred).gap
        Ac = A - A.mean(axis=1, keepdims=True) if s.intercept else A
        bc = target - target.mean() if s.intercept else target
        return fit_sc(A, target, n, intercept=s.intercept, qp=(Ac @ Ac.T, Ac @ bc)).gap

    n_post = T - start
    low = np.full(n_post, -np.inf)
    high = np.full(n_post, np.inf)
    p0 = np.full(n_post, np.nan)
    pre = np.arange(start)
    if 1.0 / (start + 1) <= alpha:
        for i, t in enumerate(range(start, T)):
            periods = np.r_[pre, t]

            def pvalue(theta: float, periods: np.ndarray = periods) -> float:
                target = y1[periods].copy()
                target[-1] -= theta
                u = np.abs(residuals(periods, target))
                return float(np.mean(u >= u[-1] * (1 - 1e-12)))

            low[i], high[i] = _invert(pvalue, float(fit.gap[t]), scale, alpha)
            p0[i] = pvalue(0.0)
    else:
        warnings.warn(
            f"conformal intervals need at least {int(np.ceil(1 / alpha))} pre-launch periods at "
            f"level {level}; with {start} they are unbounded.",
            CausalKitWarning,
            stacklevel=3,
        )
    every = np.arange(T)
    post_mask = every >= start

    def joint(theta: float) -> float:
        target = y1 - theta * post_mask
        u = np.abs(residuals(every, target))
        stats = np.array([u[np.roll(post_mask, k)].mean() for k in range(T)])
        return float(np.mean(stats >= stats[0] * (1 - 1e-12)))

    if 1.0 / T <= alpha:
        jl, jh = _invert(joint, result.att, scale, alpha)
    else:
        jl, jh = -np.inf, np.inf
    return low, high, {"low": jl, "high": jh, "p_value": joint(0.0), "p_values_by_period": p0}


def _invert(
    pvalue: Callable[[float], float], center: float, step: float, alpha: float
) -> tuple[float, float]:
    """Return the interval of ``θ`` with ``pvalue(θ) > alpha`` around ``center`` (bisection)."""
    if pvalue(center) <= alpha:
        return center, center
    tol = 1e-3 * step
    bounds = []
    for side in (-1.0, 1.0):
        inside, d = center, step
        while pvalue(center + side * d) > alpha:
            inside = center + side * d
            d *= 2.0
            if d > 1e6 * step:
                bounds.append(side * np.inf)
                break
        else:
            outside = center + side * d
            while abs(outside - inside) > tol:
                mid = 0.5 * (inside + outside)
                if pvalue(mid) > alpha:
                    inside = mid
                else:
                    outside = mid
            bounds.append(0.5 * (inside + outside))
    return bounds[0], bounds[1]
