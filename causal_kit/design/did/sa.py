"""Sun & Abraham (2021) interaction-weighted event study.

Identifying assumption: parallel trends between every treated cohort and the comparison cohort
(never-treated units, or the last-treated cohort before it is treated when every unit is
eventually treated), and no anticipation beyond ``anticipation`` periods.

One regression with unit and period fixed effects and a full set of cohort × event-time
interactions (reference event time ``-1 - anticipation``) gives cohort-specific effects
``delta[g, e]`` that are not contaminated by other cohorts' effects. Event-time effects average
them with the cohorts' shares of the treated observations at that event time; the headline
averages every post-launch ``delta[g, e]`` over treated observations. Standard errors come from
the cluster-robust covariance of the regression with the weights held fixed (as ``fixest``).
On a balanced panel without covariates ``delta[g, e]`` equals Callaway–Sant'Anna's ATT(g, g+e)
with never-treated controls and a universal base period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.stats import tidy_table
from causal_kit.design.did._data import DidData
from causal_kit.design.did._ols import absorb, fe_levels, ols
from causal_kit.design.did._result import build_estimate, interval, wald_pretrend
from causal_kit.design.did._spec import DidSpec
from causal_kit.design.did._wild import bootstrap_fit
from causal_kit.design.did.staggered import event_table, gaussian_crit, robustness_checks
from causal_kit.design.did.twfe import inference_for

MAX_DESIGN_ENTRIES = 400_000_000  # rows × interaction columns the regression may hold


def estimate_sa(data: DidData, spec: DidSpec) -> Estimate:
    """Fit the interacted regression and aggregate it into the event study and headline."""
    if spec.control != "never":
        raise SpecificationError(
            "method='sa' compares with never-treated units (or the last-treated cohort when "
            "there are none); control='notyet' applies to method='cs'. Use control='never'."
        )
    if data.kind != "panel":
        raise SpecificationError(
            "method='sa' needs a panel (unit=); for repeated cross-sections use method='cs'."
        )
    keep = np.ones(len(data.y), dtype=bool)
    g = data.g.astype(float)
    control_cohort = None
    if not data.has_never_treated:
        control_cohort = float(data.cohorts.max())
        keep = data.t < control_cohort - spec.anticipation
        g = np.where(g == control_cohort, np.inf, g)
        if len(np.unique(g[keep & np.isfinite(g)])) == 0:
            raise DataError("no cohort is treated before the last-treated cohort starts.")
    y, t, unit = data.y[keep], data.t[keep], data.unit[keep]
    g, X = g[keep], data.X[keep]
    rel = t - g
    ref = -1 - spec.anticipation
    treated = np.isfinite(rel) & (rel != ref)
    pairs = pd.DataFrame({"g": g[treated], "e": rel[treated]}).value_counts().sort_index()
    if len(pairs) == 0:
        raise DataError("no treated observations outside the reference period.")
    cells = pairs.index.to_frame(index=False)
    if len(y) * len(cells) > MAX_DESIGN_ENTRIES:
        raise DataError(
            f"the Sun–Abraham regression would hold {len(y):,} rows × {len(cells)} interactions; "
            "use method='cs' (identical on balanced panels, and linear in size) or trim periods."
        )
    col = pd.Series(np.arange(len(cells)), index=pairs.index)
    code = np.full(len(y), -1)
    code[treated] = col.reindex(pd.MultiIndex.from_arrays([g[treated], rel[treated]])).to_numpy()
    D = np.zeros((len(y), len(cells)))
    rows = np.flatnonzero(code >= 0)
    D[rows, code[rows]] = 1.0
    fes = [np.unique(unit, return_inverse=True)[1], t]
    M = absorb(np.column_stack([y, D, X]), fes)
    sub = _subset(data, keep)
    inf = inference_for(sub, spec)
    names = [f"cohort {data.time_label(a)} × event {int(b)}" for a, b in pairs.index]
    # unit effects nested in the clusters are not counted in the small-sample factor (fixest's
    # default), so the errors match the influence-function ones up to G/(G-1)·(n-1)/(n-K)
    nested = inf.se == "cluster" and _nested(fes[0], inf.cluster)
    extra_k = fe_levels(fes[1]) - 1 if nested else fe_levels(*fes)
    fit = ols(
        M[:, 0],
        M[:, 1:],
        se=inf.se,
        cluster=inf.cluster,
        extra_k=extra_k,
        names=names + list(data.covariates),
    )
    k = len(cells)
    delta, V = fit.coef[:k], fit.vcov[:k, :k]
    counts = pairs.to_numpy().astype(float)
    e_vals = cells["e"].to_numpy()
    terms = np.unique(e_vals).astype(int)
    W = np.zeros((len(terms), k))
    for i, e in enumerate(terms):
        m = e_vals == e
        W[i, m] = counts[m] / counts[m].sum()
    est = W @ delta
    vcov = W @ V @ W.T
    post = e_vals >= 0
    w_all = np.where(post, counts, 0.0) / counts[post].sum()
    headline = float(w_all @ delta)
    head_se = float(np.sqrt(w_all @ V @ w_all))
    crit = gaussian_crit(vcov, spec.level, spec.seed)
    table = event_table(terms, est, np.sqrt(np.diag(vcov)), spec.level, crit)
    table = _window(table, vcov, spec)
    tv = table["term"].to_numpy()
    idx = np.flatnonzero(np.isin(terms, tv))
    vcov_w = vcov[np.ix_(idx, idx)]
    pre = np.flatnonzero(tv < ref)
    checks = [_pre_trends(table.iloc[pre], vcov_w[np.ix_(pre, pre)])]
    extra_checks, extra = robustness_checks(
        data, spec, table, vcov_w, headline, head_se, varying=False
    )
    checks += extra_checks
    cohort_event = tidy_table(names, delta, np.sqrt(np.diag(V)), spec.level)
    cohort_event.insert(1, "cohort", [data.time_label(a) for a, _ in pairs.index])
    cohort_event.insert(2, "event_time", e_vals.astype(int))
    cohort_event["n_obs"] = counts.astype(int)
    details = {
        "cohort_event": cohort_event,
        "event_study_vcov": pd.DataFrame(vcov_w, index=tv, columns=tv),
        "uniform_critical_value": crit,
        "control": "never treated"
        if control_cohort is None
        else f"last-treated cohort {data.time_label(control_cohort)}",
        "se_type": inf.se,
        "n_obs": fit.n,
        **extra,
    }
    ci, p = interval(headline, head_se, spec.level)
    c = np.r_[w_all, np.zeros(M.shape[1] - 1 - k)]
    cluster = inf.cluster if inf.se == "cluster" else None
    boot = bootstrap_fit(spec, M[:, 1:], fit.resid, c, headline, cluster, fit.k)
    details["bootstrap"] = boot.kind if boot else None
    if boot is not None:
        head_se, ci, p = boot.se, boot.ci, boot.p_value
    return build_estimate(
        method="sa",
        spec=spec,
        data=data,
        estimate=headline,
        se=head_se,
        by_period=table,
        checks=checks,
        details=details,
        ci=ci,
        p_value=p,
        draws=boot.draws if boot else None,
    )


def _nested(unit: np.ndarray, cluster: np.ndarray | None) -> bool:
    """Whether every unit lies within one cluster."""
    if cluster is None:
        return False
    pairs = np.unique(np.column_stack([unit, cluster]), axis=0)
    return len(pairs) == len(np.unique(unit))


def _subset(data: DidData, keep: np.ndarray) -> DidData:
    from dataclasses import replace

    if keep.all():
        return data
    return replace(
        data,
        y=data.y[keep],
        t_rows=data.t[keep],
        g_rows=data.g[keep],
        d=data.d[keep],
        unit_rows=data.unit[keep],
        group_rows=data.group[keep],
        X=data.X[keep],
        cluster=None if data.cluster is None else data.cluster[keep],
        g_unit=None,
        cache={},
    )


def _window(table: pd.DataFrame, vcov: np.ndarray, spec: DidSpec) -> pd.DataFrame:
    keep = np.ones(len(table), dtype=bool)
    if spec.min_e is not None:
        keep &= table["term"].to_numpy() >= spec.min_e
    if spec.max_e is not None:
        keep &= table["term"].to_numpy() <= spec.max_e
    return table.loc[keep].reset_index(drop=True)


def _pre_trends(pre: pd.DataFrame, vcov: np.ndarray) -> Check:
    return wald_pretrend(
        pre["term"].tolist(),
        pre["estimate"].to_numpy(),
        vcov,
        what="interaction-weighted event-time effects",
    )
