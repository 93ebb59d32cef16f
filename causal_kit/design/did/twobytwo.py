"""The canonical 2×2 difference-in-differences: one launch date, treated vs comparison, pre vs post.

Identifying assumption: without the launch, the treated group's outcome would have changed by as
much as the comparison group's between the pre and the post period (parallel trends), and
nothing else that differs between the groups changed at the launch date.

The estimate is the coefficient on ``treated × post`` in ``y ~ 1 + treated + post + treated × post
(+ covariates)``, on a panel (clustered by unit by default) or on repeated cross-sections
(``group=``; heteroskedasticity-robust by default, or clustered with ``cluster=``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Check, Estimate
from causal_kit.design.did._data import DidData
from causal_kit.design.did._ols import ols
from causal_kit.design.did._result import build_estimate, wald_pretrend
from causal_kit.design.did._spec import DidSpec
from causal_kit.design.did._wild import bootstrap_fit
from causal_kit.design.did.twfe import event_study, inference_for, pre_trend_check, window


def launch_period(data: DidData, spec: DidSpec) -> int:
    """Return the single adoption period index (raises if adoption is staggered)."""
    cohorts = data.cohorts
    if len(cohorts) > 1:
        labels = [data.time_label(c) for c in cohorts[:6]]
        raise SpecificationError(
            f"method='2x2' needs a single launch date; treatment starts at {len(cohorts)} "
            f"different {spec.time} values {labels}. Use method='cs' (heterogeneity-robust "
            "staggered DiD) instead."
        )
    return int(cohorts[0])


def estimate_2x2(data: DidData, spec: DidSpec) -> Estimate:
    """Fit the 2×2 regression and, when there are several pre-periods, test pre-trends."""
    g0 = launch_period(data, spec)
    start = g0 - spec.anticipation
    if start < 1:
        raise SpecificationError(
            f"anticipation={spec.anticipation} leaves no pre-period before the launch at "
            f"{spec.time}={data.time_label(g0)!r}; lower it."
        )
    treated = np.isfinite(data.g).astype(float)
    post = (data.t >= start).astype(float)
    X = np.column_stack([np.ones_like(post), treated, post, treated * post, data.X])
    names = ["intercept", "treated", "post", "treated x post", *data.covariates]
    inf = inference_for(data, spec)
    fit = ols(data.y, X, se=inf.se, cluster=inf.cluster, names=names)
    coef, se = float(fit.coef[3]), float(np.sqrt(fit.vcov[3, 3]))
    dof = inf.dof(fit)
    cells = (
        pd.DataFrame({"treated": treated.astype(bool), "post": post.astype(bool), "y": data.y})
        .groupby(["treated", "post"])["y"]
        .agg(["mean", "size"])
        .reset_index()
        .rename(columns={"mean": "mean_outcome", "size": "n_obs"})
    )
    coefs = pd.DataFrame(
        {"term": names, "estimate": fit.coef, "std_error": np.sqrt(np.diag(fit.vcov))}
    )
    details = {
        "cell_means": cells,
        "coefficients": coefs,
        "se_type": inf.se,
        "dof": dof,
        "n_obs": fit.n,
        "r_squared": float(1 - fit.resid @ fit.resid / np.sum((data.y - data.y.mean()) ** 2)),
        "launch": data.time_label(g0),
    }
    by_period = None
    checks: list[Check]
    if data.n_periods > 2:
        table, V, _ = event_study(data, spec)
        checks = [pre_trend_check(table, V, spec)]
        by_period = window(table, spec)
    else:
        checks = [wald_pretrend([], np.empty(0), np.empty((0, 0)), what="")]
    c = np.zeros(X.shape[1])
    c[3] = 1.0
    boot = bootstrap_fit(spec, X, fit.resid, c, coef, inf.cluster, fit.k)
    details["bootstrap"] = boot.kind if boot else None
    return build_estimate(
        method="2x2",
        spec=spec,
        data=data,
        estimate=coef,
        se=boot.se if boot else se,
        dof=dof,
        by_period=by_period,
        checks=checks,
        details=details,
        draws=boot.draws if boot else None,
        ci=boot.ci if boot else None,
        p_value=boot.p_value if boot else None,
    )
