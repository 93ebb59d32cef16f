"""Callaway–Sant'Anna as an :class:`~causal_kit.core.estimate.Estimate`.

Headline: the overall ATT averaged over treated unit-periods (R's ``aggte(type="simple")``).
``by_period``: event-time effects (``aggte(type="dynamic")``) with pointwise and uniform bands.
``details``: the ATT(g,t) table, the cohort and calendar aggregations, the overall values of every
aggregation, the Goodman-Bacon decomposition of TWFE and the sensitivity table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.stats import tidy_table
from causal_kit.design.did._data import DidData
from causal_kit.design.did._result import build_estimate
from causal_kit.design.did._spec import DidSpec
from causal_kit.design.did.aggregate import Family, aggregate
from causal_kit.design.did.cs import GroupTime, att_gt, cell_table
from causal_kit.design.did.inference import (
    BootResult,
    analytic_se,
    cluster_sums,
    covariance,
    gram,
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
    gt = att_gt(data, spec)
    agg = aggregate(gt, min_e=spec.min_e, max_e=spec.max_e, balance_e=spec.balance_e)
    dyn = agg.dynamic
    assert dyn.inf is not None
    n = gt.n
    heads = np.column_stack(
        [agg.simple_inf, dyn.overall_inf, agg.group.overall_inf, agg.calendar.overall_inf]
    )
    head_se = analytic_se(heads, gt.cluster)
    dyn_vcov = covariance(dyn.inf, gt.cluster)
    dyn_se = dyn.se
    boot: BootResult | None = None
    draws = None
    if spec.bootstrap != "none":
        M = np.concatenate([heads.astype(dyn.inf.dtype), dyn.inf], axis=1)
        boot = multiplier_bootstrap(
            M,
            gt.cluster,
            n_boot=spec.n_boot,
            seed=spec.seed,
            weights="webb" if spec.bootstrap == "wild" else "rademacher",
        )
        head_se = boot.se[:4]
        dyn_se = boot.se[4:]
        crit = boot.critical_value(slice(4, None), spec.level)
        draws = agg.simple + boot.draws[:, 0]
    else:
        crit = gaussian_crit(dyn_vcov, spec.level, spec.seed)
    table = event_table(dyn.terms, dyn.att, dyn_se, spec.level, crit)
    varying = spec.base_period == "varying"
    checks = [pre_trend_check(gt, data)]
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
        "group": _family_table(agg.group, data, spec.level, labels=True),
        "calendar": _family_table(agg.calendar, data, spec.level, labels=True),
        "event_study_vcov": pd.DataFrame(dyn_vcov, index=dyn.terms, columns=dyn.terms),
        "uniform_critical_value": crit,
        "uniform_band": f"multiplier bootstrap ({boot.weights} weights)"
        if boot
        else "Gaussian (analytic covariance)",
        "control": spec.control,
        "base_period": spec.base_period,
        "n_clusters": int(cluster_sums(np.zeros((n, 0)), gt.cluster).shape[0]),
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


def _family_table(fam: Family, data: DidData, level: float, *, labels: bool) -> pd.DataFrame:
    terms = [data.time_label(v) for v in fam.terms] if labels else list(fam.terms)
    return tidy_table(terms, fam.att, fam.se, level)


def pre_trend_check(gt: GroupTime, data: DidData) -> Check:
    """R's ``att_gt`` pre-test: joint Wald test that every pre-launch ATT(g,t) is zero."""
    pre = np.flatnonzero((gt.group > gt.time) & ~gt.reference)
    if len(pre) == 0:
        return Check(
            name="pre_trends",
            passed=False,
            message="Parallel trends cannot be tested: no cohort has two or more pre-launch "
            "periods. The estimate rests on the assumption alone.",
        )
    S = cluster_sums(gt.inf[:, pre], gt.cluster)
    V = gram(S) / gt.n**2
    stat, df, p = wald(gt.att[pre], V)
    passed = bool(p >= 0.05)
    verdict = (
        "no evidence against parallel trends"
        if passed
        else "cohorts already diverged from their comparison units before launch, so parallel "
        "trends is doubtful; see the event-study plot, try covariates or control='notyet', and "
        "read the sensitivity check"
    )
    return Check(
        name="pre_trends",
        passed=passed,
        statistic=stat,
        p_value=p,
        message=(
            f"Joint Wald test that the {df} pre-launch ATT(g,t) are zero: chi2={stat:.3g}, "
            f"p={p:.3g}: {verdict}."
        ),
    )
