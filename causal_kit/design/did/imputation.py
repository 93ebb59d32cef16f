"""Borusyak, Jaravel & Spiess (2024) imputation estimator (also Gardner's two-stage did2s).

Identifying assumption: untreated outcomes follow unit and period effects (plus covariates),
``y_it(0) = a_i + l_t + x_it b``, for every unit in every period, and units do not react more
than ``anticipation`` periods before launch.

Step 1 fits that model on the untreated observations only (never-treated units, and treated
units before launch minus anticipation). Step 2 imputes each treated observation's untreated
outcome and takes ``y - y(0)`` as its effect. The headline averages the effects over treated
observations from launch on; ``by_period`` averages them by periods since launch. The estimator
is linear in the outcomes, ``sum_it v_it y_it``; its standard errors are BJS's conservative
cluster-robust ones, with treated residuals taken around the cohort × event-time mean effect.
Pre-launch terms in ``by_period`` are the BJS pre-trend regression on untreated observations
(treated units' event-time dummies), which is also the ``pre_trends`` test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from causal_kit.core.errors import CausalKitWarning, DataError, SpecificationError
from causal_kit.core.estimate import Estimate
from causal_kit.design.did._data import DidData
from causal_kit.design.did._ols import absorb, fe_levels, ols
from causal_kit.design.did._result import build_estimate, wald_pretrend
from causal_kit.design.did._spec import DidSpec
from causal_kit.design.did.inference import analytic_se, covariance, multiplier_bootstrap
from causal_kit.design.did.staggered import event_table, gaussian_crit, robustness_checks
from causal_kit.design.did.twfe import inference_for


class _FESolver:
    """Solve the two-way fixed-effect normal equations of the untreated sample."""

    def __init__(self, unit: np.ndarray, t: np.ndarray, n_units: int, T: int) -> None:
        self.unit, self.t = unit, t
        self.n_i = np.bincount(unit, minlength=n_units).astype(float)
        self.m_t = np.bincount(t, minlength=T).astype(float)
        if (self.n_i == 0).any():
            raise DataError("a unit has no untreated period, so its effect cannot be imputed.")
        key = unit.astype(np.int64) * T + t
        N = np.zeros(n_units * T)
        N[key] = 1.0
        self.N = N.reshape(n_units, T)
        schur = np.diag(self.m_t) - (self.N / self.n_i[:, None]).T @ self.N
        # The Schur complement is singular (period effects are identified only up to the unit
        # effects' level); a relative cut-off well above rounding keeps that null direction out
        # of the pseudo-inverse on every BLAS, where the default 1e-15 lets it in on some.
        self.schur_pinv = np.linalg.pinv(schur, rcond=1e-10, hermitian=True)

    def solve(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return unit and period coefficients ``c`` with ``Z'Z c = [a; b]`` (columns)."""
        scaled = a / self.n_i[:, None]
        lam = self.schur_pinv @ (b - self.N.T @ scaled)
        alpha = scaled - (self.N @ lam) / self.n_i[:, None]
        return alpha, lam


def estimate_imputation(data: DidData, spec: DidSpec) -> Estimate:
    """Impute untreated outcomes, average the effects, and assemble the estimate."""
    if spec.control != "never":
        raise SpecificationError(
            "method='imputation' uses every untreated observation (never-treated units and "
            "treated units before launch); control='notyet' applies to method='cs'."
        )
    if data.kind != "panel":
        raise SpecificationError(
            "method='imputation' needs a panel (unit=); for repeated cross-sections use 'cs'."
        )
    if data.covariates:
        raise SpecificationError(
            "method='imputation' takes no covariates; use method='cs' with covariates (doubly "
            "robust) or residualise the outcome first."
        )
    n_units, T = data.n_units, data.n_periods
    unit = np.asarray(data.unit, dtype=np.int64)
    t = np.asarray(data.t, dtype=np.int64)
    rel = t - data.g.astype(float)
    treated = np.isfinite(rel) & (rel >= -spec.anticipation)
    untreated = ~treated
    # periods without untreated observations cannot be imputed
    has_untreated = np.bincount(t[untreated], minlength=T) > 0
    lost = treated & ~has_untreated[t]
    if lost.any():
        periods = sorted({data.time_label(p) for p in np.unique(t[lost])})
        warnings.warn(
            f"no untreated unit is observed in {data.names['time']} {periods[:5]}: the "
            f"{int(lost.sum())} treated observations there cannot be imputed and are left out.",
            CausalKitWarning,
            stacklevel=3,
        )
        treated &= ~lost
    y = data.y
    u0, t0 = unit[untreated], t[untreated]
    fe = absorb(y[untreated], [u0, t0])
    resid0 = fe  # untreated residuals from the two-way model
    solver = _FESolver(u0, t0, n_units, T)
    # unit and period effects of the untreated fit
    a_y = np.bincount(u0, weights=y[untreated], minlength=n_units)[:, None]
    b_y = np.bincount(t0, weights=y[untreated], minlength=T)[:, None]
    alpha, lam = solver.solve(a_y, b_y)
    tau = y[treated] - alpha[unit[treated], 0] - lam[t[treated], 0]
    rel_t = rel[treated].astype(int)
    # targets: the headline (event times >= 0) and each event time >= -anticipation
    terms = np.unique(rel_t)
    W = np.zeros((int(treated.sum()), len(terms) + 1))
    post = rel_t >= 0
    if not post.any():
        raise DataError("no treated observation from launch on: nothing to estimate.")
    W[post, 0] = 1.0 / post.sum()
    for k, e in enumerate(terms, start=1):
        m = rel_t == e
        W[m, k] = 1.0 / m.sum()
    est = W.T @ tau
    # conservative variance: treated residuals around cohort × event-time means
    cells = pd.Series(tau).groupby([data.g[treated], rel_t]).transform("mean").to_numpy()
    eps1 = tau - cells
    u1, t1 = unit[treated], t[treated]
    a_w = np.zeros((n_units, W.shape[1]))
    b_w = np.zeros((T, W.shape[1]))
    for k in range(W.shape[1]):
        a_w[:, k] = np.bincount(u1, weights=W[:, k], minlength=n_units)
        b_w[:, k] = np.bincount(t1, weights=W[:, k], minlength=T)
    c_a, c_l = solver.solve(a_w, b_w)
    psi = np.zeros((n_units, W.shape[1]))
    for k in range(W.shape[1]):
        v0 = c_a[u0, k] + c_l[t0, k]
        psi[:, k] = np.bincount(u1, weights=W[:, k] * eps1, minlength=n_units) - np.bincount(
            u0, weights=v0 * resid0, minlength=n_units
        )
    cluster = None
    if data.cluster is not None:
        cluster = np.zeros(n_units, dtype=np.int64)
        cluster[unit] = data.cluster
    inf = psi * n_units
    se = analytic_se(inf, cluster)
    draws = None
    boot = None
    if spec.bootstrap != "none":
        boot = multiplier_bootstrap(
            inf,
            cluster,
            n_boot=spec.n_boot,
            seed=spec.seed,
            weights="webb" if spec.bootstrap == "wild" else "rademacher",
        )
        se = boot.se
        draws = est[0] + boot.draws[:, 0]
    post_vcov = covariance(inf[:, 1:], cluster)
    pre_table, pre_vcov = _pretrend_regression(data, spec, untreated)
    post_table = event_table(terms, est[1:], se[1:], spec.level, np.nan)
    table = (
        pd.concat([pre_table, post_table], ignore_index=True)
        if pre_table is not None
        else post_table
    )
    k_pre = 0 if pre_table is None else len(pre_table)
    vcov = np.zeros((len(table), len(table)))
    if k_pre:
        vcov[:k_pre, :k_pre] = pre_vcov
    vcov[k_pre:, k_pre:] = post_vcov
    # sup-t band: bootstrap over the post-launch effects, else Gaussian over every term
    if boot is not None:
        crit = boot.critical_value(slice(1, None), spec.level)
    else:
        crit = gaussian_crit(vcov, spec.level, spec.seed)
    table["conf_low_uniform"] = table["estimate"] - crit * table["std_error"]
    table["conf_high_uniform"] = table["estimate"] + crit * table["std_error"]
    table = _window(table, spec)
    all_terms = terms if pre_table is None else np.r_[pre_table["term"].to_numpy(), terms]
    keep_idx = np.flatnonzero(np.isin(all_terms, table["term"]))
    vcov = vcov[np.ix_(keep_idx, keep_idx)]
    pre = table["term"].to_numpy() < -spec.anticipation
    checks = [
        wald_pretrend(
            table["term"][pre].tolist(),
            table["estimate"].to_numpy()[pre],
            vcov[np.ix_(pre, pre)],
            what="event-time coefficients (BJS test)",
        )
    ]
    extra_checks, extra = robustness_checks(
        data, spec, table, vcov, float(est[0]), float(se[0]), varying=False
    )
    checks += extra_checks
    effects = pd.DataFrame(
        {
            "unit": u1,
            "period": [data.time_label(p) for p in t1],
            "event_time": rel_t,
            "effect": tau,
        }
    )
    details = {
        "event_study_vcov": pd.DataFrame(vcov, index=table["term"], columns=table["term"]),
        "uniform_critical_value": crit,
        "n_treated_obs": int(treated.sum()),
        "n_untreated_obs": int(untreated.sum()),
        "effects_by_cohort": effects.assign(cohort=[data.time_label(g) for g in data.g[treated]])
        .groupby(["cohort", "event_time"], as_index=False)["effect"]
        .mean(),
        **extra,
    }
    return build_estimate(
        method="imputation",
        spec=spec,
        data=data,
        estimate=float(est[0]),
        se=float(se[0]),
        by_period=table,
        checks=checks,
        details=details,
        draws=draws,
    )


def _pretrend_regression(
    data: DidData, spec: DidSpec, untreated: np.ndarray
) -> tuple[pd.DataFrame | None, np.ndarray]:
    """BJS pre-trend test: event-time dummies of treated units on the untreated sample."""
    rel = data.t - data.g.astype(float)
    sub = untreated & np.isfinite(rel)
    terms = np.unique(rel[sub]).astype(int)
    terms = terms[terms < -spec.anticipation]
    if len(terms) < 2:
        return None, np.zeros((0, 0))
    terms = terms[1:]  # the earliest pre-period is the reference
    unit, t = data.unit[untreated], data.t[untreated]
    r = rel[untreated]
    D = np.column_stack([(r == e).astype(float) for e in terms])
    fes = [np.asarray(unit, dtype=np.int64), np.asarray(t, dtype=np.int64)]
    M = absorb(np.column_stack([data.y[untreated], D]), fes)
    inf_spec = inference_for(data, spec)
    cluster = None if inf_spec.cluster is None else inf_spec.cluster[untreated]
    fit = ols(
        M[:, 0],
        M[:, 1:],
        se=inf_spec.se,
        cluster=cluster,
        extra_k=fe_levels(fes[1]) - 1,
        names=[f"event time {e}" for e in terms],
    )
    se = np.sqrt(np.diag(fit.vcov))
    table = event_table(terms, fit.coef, se, spec.level, np.nan)
    return table, fit.vcov


def _window(table: pd.DataFrame, spec: DidSpec) -> pd.DataFrame:
    keep = np.ones(len(table), dtype=bool)
    if spec.min_e is not None:
        keep &= table["term"].to_numpy() >= spec.min_e
    if spec.max_e is not None:
        keep &= table["term"].to_numpy() <= spec.max_e
    return table.loc[keep].reset_index(drop=True)
