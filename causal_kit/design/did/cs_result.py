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
from causal_kit.design.did._ifstore import DenseIF
from causal_kit.design.did._result import build_estimate
from causal_kit.design.did._spec import DidSpec
from causal_kit.design.did.aggregate import Family, aggregate
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
    V = gt.cov(np.eye(len(gt.att))[:, pre])
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
