"""Two-way fixed effects: the static coefficient and the event study (kept as a comparison).

Identifying assumption: without the launch, treated and comparison units would have moved in
parallel, *and* the effect is the same for every cohort and every period since launch. Under
staggered adoption with effects that change over time the static coefficient weights some
comparisons negatively (already-treated units serve as controls); prefer ``method="cs"`` then.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from causal_kit.core.errors import CausalKitError, CausalKitWarning, DataError
from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.stats import tidy_table
from causal_kit.design.did._data import DidData
from causal_kit.design.did._ols import OlsFit, absorb, fe_levels, non_nested_levels, ols
from causal_kit.design.did._result import build_estimate, wald_pretrend
from causal_kit.design.did._spec import DidSpec
from causal_kit.design.did._wild import bootstrap_fit


@dataclass(frozen=True)
class Inference:
    """How a regression's variance is computed for a given data set."""

    se: str
    cluster: np.ndarray | None

    def dof(self, fit: OlsFit) -> float:
        """Degrees of freedom of the t reference distribution."""
        if self.se == "cluster" and fit.n_clusters is not None:
            return float(fit.n_clusters - 1)
        return float(fit.dof_resid)


def inference_for(data: DidData, spec: DidSpec) -> Inference:
    """Resolve ``se`` and ``cluster`` for a data set.

    Panels cluster by unit unless ``cluster`` is given; cross-sections without ``cluster`` fall
    back to HC1.
    """
    if spec.se != "cluster":
        return Inference(spec.se, None)
    if data.cluster is not None:
        return Inference("cluster", data.cluster)
    if data.kind == "panel":
        return Inference("cluster", data.unit)
    return Inference("hc1", None)


def fixed_effects(data: DidData) -> tuple[np.ndarray, np.ndarray]:
    """Return the unit (or group) and period codes."""
    return data.group, data.t


def event_time(data: DidData) -> np.ndarray:
    """Periods since launch of each row (``nan`` for never-treated units)."""
    return data.t - data.g


def static_twfe(
    data: DidData, spec: DidSpec, *, keep_design: bool = False
) -> tuple[float, float, float, OlsFit, np.ndarray | None]:
    """Fit the static TWFE coefficient on the (anticipation-shifted) treatment dummy.

    Returns
    -------
    coef, se, dof, fit, design
        ``design`` is the regressor matrix after absorbing the effects (when ``keep_design``).
    """
    fes = fixed_effects(data)
    D = (event_time(data) >= -spec.anticipation).astype(float)
    M = absorb(np.column_stack([data.y, D, data.X]), list(fes))
    inf = inference_for(data, spec)
    fit = ols(
        M[:, 0],
        M[:, 1:],
        se=inf.se,
        cluster=inf.cluster,
        extra_k=fe_levels(*fes),
        cluster_k=non_nested_levels(inf.cluster, *fes),
        names=["treatment", *data.covariates],
    )
    design = M[:, 1:] if keep_design else None
    return float(fit.coef[0]), float(np.sqrt(fit.vcov[0, 0])), inf.dof(fit), fit, design


def event_study(data: DidData, spec: DidSpec) -> tuple[pd.DataFrame, np.ndarray, float]:
    """TWFE event study: one dummy per period since launch, reference ``-1 - anticipation``.

    Without never-treated units the earliest event time is also dropped (otherwise unit, period
    and event-time effects are collinear).

    Returns
    -------
    table, vcov, dof
        Tidy event-time coefficients (``term`` = periods since launch), their covariance and the
        degrees of freedom used.
    """
    rel = event_time(data)
    ref = -1 - spec.anticipation
    finite = np.isfinite(rel)
    terms = np.unique(rel[finite]).astype(int)
    terms = terms[terms != ref]
    if not data.has_never_treated and len(terms):
        terms = terms[1:]
    if len(terms) == 0:
        raise DataError("no event times to estimate besides the reference period.")
    code = np.full(len(rel), -1, dtype=np.int64)
    pos = np.searchsorted(terms, rel[finite])
    hit = (pos < len(terms)) & (terms[np.minimum(pos, len(terms) - 1)] == rel[finite])
    code[np.flatnonzero(finite)[hit]] = pos[hit]
    dummies = np.zeros((len(rel), len(terms)))
    rows = np.flatnonzero(code >= 0)
    dummies[rows, code[rows]] = 1.0
    fes = fixed_effects(data)
    M = absorb(np.column_stack([data.y, dummies, data.X]), list(fes))
    inf = inference_for(data, spec)
    names = [f"event time {e}" for e in terms] + list(data.covariates)
    fit = ols(
        M[:, 0],
        M[:, 1:],
        se=inf.se,
        cluster=inf.cluster,
        extra_k=fe_levels(*fes),
        cluster_k=non_nested_levels(inf.cluster, *fes),
        names=names,
    )
    k = len(terms)
    coef, V = fit.coef[:k], fit.vcov[:k, :k]
    dof = inf.dof(fit)
    table = tidy_table(terms.tolist(), coef, np.sqrt(np.diag(V)), spec.level, dof=dof)
    return table, V, dof


def pre_trend_check(table: pd.DataFrame, vcov: np.ndarray, spec: DidSpec) -> Check:
    """Joint test of the event-study coefficients before ``-1 - anticipation``."""
    terms = table["term"].to_numpy()
    pre = terms < -1 - spec.anticipation
    if spec.min_e is not None:
        pre &= terms >= spec.min_e
    idx = np.flatnonzero(pre)
    return wald_pretrend(
        terms[idx].tolist(),
        table["estimate"].to_numpy()[idx],
        vcov[np.ix_(idx, idx)],
        what="TWFE event-study coefficients",
    )


def window(table: pd.DataFrame, spec: DidSpec) -> pd.DataFrame:
    """Keep event times inside ``[min_e, max_e]``."""
    keep = np.ones(len(table), dtype=bool)
    if spec.min_e is not None:
        keep &= table["term"].to_numpy() >= spec.min_e
    if spec.max_e is not None:
        keep &= table["term"].to_numpy() <= spec.max_e
    return table.loc[keep].reset_index(drop=True)


def estimate_twfe(data: DidData, spec: DidSpec) -> Estimate:
    """Fit the static TWFE coefficient (headline) and the event study (``by_period``)."""
    coef, se, dof, fit, design = static_twfe(data, spec, keep_design=spec.bootstrap != "none")
    table, V, _ = event_study(data, spec)
    checks = [pre_trend_check(table, V, spec)]
    inf = inference_for(data, spec)
    details = {
        "event_study_vcov": pd.DataFrame(V, index=table["term"], columns=table["term"]),
        "se_type": inf.se,
        "dof": dof,
        "n_obs": fit.n,
    }
    boot = None
    if design is not None:
        c = np.zeros(design.shape[1])
        c[0] = 1.0
        k_boot = fit.k_cluster if inf.cluster is not None and fit.k_cluster else fit.k
        boot = bootstrap_fit(spec, design, fit.resid, c, coef, inf.cluster, k_boot)
        details["bootstrap"] = boot.kind if boot else None
    return build_estimate(
        method="twfe",
        spec=spec,
        data=data,
        estimate=coef,
        se=boot.se if boot else se,
        dof=dof,
        by_period=window(table, spec),
        checks=checks + _bacon_checks(data, spec, coef),
        details=details,
        draws=boot.draws if boot else None,
        ci=boot.ci if boot else None,
        p_value=boot.p_value if boot else None,
    )


def _bacon_checks(data: DidData, spec: DidSpec, twfe: float) -> list[Check]:
    """For staggered adoption: the Goodman-Bacon weights and the robust (cs) comparison."""
    if len(data.cohorts) < 2 or data.kind != "panel":
        return []
    from dataclasses import replace

    from causal_kit.design.did.aggregate import aggregate
    from causal_kit.design.did.bacon import bacon_check, bacon_decomposition
    from causal_kit.design.did.cs import att_gt

    control = "never" if data.has_never_treated else "notyet"
    cs_spec = replace(spec, control=control, covariates=(), base_period="varying")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CausalKitWarning)
            gt = att_gt(replace(data, X=data.X[:, :0], covariates=()), cs_spec)
        agg = aggregate(gt)
    except CausalKitError:
        return []
    robust_se = float(np.sqrt(gt.cov(agg.simple_w[:, None], agg.simple_wif[:, None])[0, 0]))
    return [bacon_check(bacon_decomposition(data), twfe, agg.simple, robust_se)]
