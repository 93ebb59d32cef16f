"""Callaway–Sant'Anna as an :class:`~causal_kit.core.estimate.Estimate`.

Headline: the overall ATT averaged over treated unit-periods (R's ``aggte(type="simple")``).
``by_period``: event-time effects (``aggte(type="dynamic")``) with pointwise and uniform bands.
``details``: the ATT(g,t) table, the cohort and calendar aggregations, the overall values of every
aggregation, the Goodman-Bacon decomposition of TWFE and the sensitivity table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.stats import tidy_table
from causal_kit.design.did._data import DidData
from causal_kit.design.did._ifstore import DenseIF
from causal_kit.design.did._result import build_estimate
from causal_kit.design.did._spec import DidSpec
from causal_kit.design.did.aggregate import Aggregates, Family, aggregate
from causal_kit.design.did.cs import GroupTime, att_gt, cell_table
from causal_kit.design.did.inference import (
    GAUSSIAN_ABOVE,
    SE_FLOOR,
    BootResult,
    gaussian_bootstrap,
    multiplier_bootstrap,
)
from causal_kit.design.did.staggered import (
    event_table,
    gaussian_crit,
    robustness_checks,
    wald,
)


def estimate_cs(data: DidData, spec: DidSpec) -> Estimate:
    """Fit Callaway–Sant'Anna and assemble the estimate, its event study and its checks."""
    n_rows = data.n_units
    # a Rademacher bootstrap needs each unit's influence function; beyond GAUSSIAN_ABOVE the
    # Gaussian multipliers are drawn from the exact covariance and moments suffice
    dense = spec.bootstrap != "none" and n_rows * spec.n_boot <= GAUSSIAN_ABOVE
    gt = att_gt(data, spec, dense=dense)
    agg = aggregate(gt, min_e=spec.min_e, max_e=spec.max_e, balance_e=spec.balance_e)
    dyn = agg.dynamic
    head_W, head_wif = agg.heads()
    W = np.concatenate([head_W, dyn.W], axis=1)
    wif = np.concatenate([head_wif, dyn.wif], axis=1)
    cov = gt.cov(W, wif)
    se_all = np.sqrt(np.clip(np.diag(cov), 0, None))
    se_all = np.where(se_all <= SE_FLOOR, np.nan, se_all)
    head_se, dyn_se = se_all[:4], se_all[4:]
    dyn_vcov = cov[4:, 4:]
    boot: BootResult | None = None
    draws = None
    if spec.bootstrap != "none":
        weights = "webb" if spec.bootstrap == "wild" else "rademacher"
        if isinstance(gt.store, DenseIF):
            boot = multiplier_bootstrap(
                gt.store.matrix(W, wif),
                gt.cluster,
                n_boot=spec.n_boot,
                seed=spec.seed,
                weights=weights,
            )
        else:
            boot = gaussian_bootstrap(cov, n_boot=spec.n_boot, seed=spec.seed, n_clusters=gt.n)
        head_se = boot.se[:4]
        dyn_se = boot.se[4:]
        crit = boot.critical_value(slice(4, None), spec.level)
        draws = agg.simple + boot.draws[:, 0]
    else:
        crit = gaussian_crit(dyn_vcov, spec.level, spec.seed)
    table = event_table(dyn.terms, dyn.att, dyn_se, spec.level, crit)
    varying = spec.base_period == "varying"
    checks = [pre_trend_check(gt, agg)]
    extra_checks, extra = robustness_checks(
        data, spec, table, dyn_vcov, agg.simple, float(head_se[0]), varying=varying
    )
    checks += extra_checks
    overall = pd.DataFrame(
        {
            "aggregation": ["simple", "dynamic", "group", "calendar"],
            "estimate": [agg.simple, dyn.overall, agg.group.overall, agg.calendar.overall],
            "std_error": head_se,
        }
    )
    details: dict[str, object] = {
        "att_gt": cell_table(gt, data, spec.level),
        "aggregations": overall,
        "group": _family_table(agg.group, gt, data, spec.level),
        "calendar": _family_table(agg.calendar, gt, data, spec.level),
        "event_study_vcov": pd.DataFrame(dyn_vcov, index=dyn.terms, columns=dyn.terms),
        "uniform_critical_value": crit,
        "uniform_band": f"multiplier bootstrap ({boot.weights} weights)"
        if boot
        else "Gaussian (analytic covariance)",
        "control": spec.control,
        "base_period": spec.base_period,
        "n_clusters": gt.n if gt.cluster is None else len(np.unique(gt.cluster)),
        "dropped_cells": list(gt.dropped),
        "data_kind": "panel" if data.kind == "panel" else "repeated cross-sections",
        "balanced": data.balanced,
        **extra,
    }
    return build_estimate(
        method="cs",
        spec=spec,
        data=data,
        estimate=agg.simple,
        se=float(head_se[0]),
        by_period=table,
        checks=checks,
        details=details,
        draws=draws,
    )


def _family_table(fam: Family, gt: GroupTime, data: DidData, level: float) -> pd.DataFrame:
    terms = [data.time_label(v) for v in fam.terms]
    return tidy_table(terms, fam.att, fam.se(gt), level)


FEW_CLUSTERS_RATIO = 0.1  # more restrictions than this share of clusters: small-sample test


def pre_trend_check(gt: GroupTime, agg: Aggregates) -> Check:
    """Test that every pre-launch effect is zero, as the ``pre_trends`` :class:`Check`.

    With many clusters this is R's ``att_gt`` pre-test: the joint Wald test of every pre-launch
    ATT(g,t) against a chi-squared distribution. When the restrictions are many relative to the
    clusters (more than a tenth of them, e.g. 46 weekly cells from 24 regions), that test is
    invalid: the clustered covariance has rank below the number of restrictions and the
    chi-squared approximation rejects far too often. The check then tests the pre-launch
    event-time effects instead (fewer restrictions), with Hotelling's small-sample F
    correction ``F = W (G - k) / (k (G - 1))`` on ``(k, G - k)`` degrees of freedom, keeping
    the ``G - 2`` event times nearest the launch when there are more.
    """
    pre = np.flatnonzero((gt.group > gt.time) & ~gt.reference)
    if len(pre) == 0:
        return Check(
            name="pre_trends",
            kind="identifying",
            passed=False,
            message="Parallel trends cannot be tested: no cohort has two or more pre-launch "
            "periods. The estimate rests on the assumption alone.",
        )
    n_clusters = gt.n if gt.cluster is None else len(np.unique(gt.cluster))
    if len(pre) <= FEW_CLUSTERS_RATIO * n_clusters:
        V = gt.cov(np.eye(len(gt.att))[:, pre])
        stat, df, p = wald(gt.att[pre], V)
        what = f"Joint Wald test that the {df} pre-launch ATT(g,t) are zero: chi2={stat:.3g}"
    else:
        stat, df, p = _small_sample_pretest(gt, agg, n_clusters)
        what = (
            f"Small-sample F test (Hotelling, {n_clusters} clusters) that the {df} pre-launch "
            f"event-time effects are zero: F={stat:.3g}"
        )
    passed = bool(p >= 0.05) if np.isfinite(p) else False
    verdict = (
        "no evidence against parallel trends"
        if passed
        else "cohorts already diverged from their comparison units before launch, so parallel "
        "trends is doubtful; see the event-study plot, try covariates or control='notyet', and "
        "read the sensitivity check"
    )
    return Check(
        name="pre_trends",
        kind="identifying",
        passed=passed,
        statistic=stat,
        p_value=p,
        message=f"{what}, p={p:.3g}: {verdict}.",
    )


def _small_sample_pretest(
    gt: GroupTime, agg: Aggregates, n_clusters: int
) -> tuple[float, int, float]:
    fam = agg.dynamic
    pre = np.flatnonzero(fam.terms < 0)
    pre = pre[np.argsort(-fam.terms[pre])][: max(n_clusters - 2, 1)]  # nearest the launch first
    V = gt.cov(fam.W[:, pre], fam.wif[:, pre])
    b = fam.att[pre]
    keep = np.diag(V) > 0
    b, V = b[keep], V[np.ix_(keep, keep)]
    k = len(b)
    if k == 0 or n_clusters - k < 1:
        return float("nan"), k, float("nan")
    wald_stat = float(b @ np.linalg.pinv(V) @ b)
    f_stat = wald_stat * (n_clusters - k) / (k * (n_clusters - 1))
    return f_stat, k, float(stats.f.sf(f_stat, k, n_clusters - k))
