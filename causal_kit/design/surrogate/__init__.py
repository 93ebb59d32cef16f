"""The surrogate index: a launch's long-term effect read from its first weeks.

Business metrics take a quarter to show. The surrogate index (Athey, Chetty, Imbens and Kang,
2019) reads the long-term effect early, from short-term metrics that lead it:

1. On a **reference sample** whose long-term outcome is already known (by default the product's
   pre-launch cohorts), learn how the short-term metrics — the *surrogates*, e.g. task success,
   sessions and revenue in the first 14 days — predict the long-term outcome (e.g. 90-day revenue).
   The index is a regression, linear or gradient-boosted, whose out-of-sample fit is measured by
   cross-fitting.
2. Apply it to the launch's treated and comparison users after only those first weeks: each user
   gets a predicted long-term outcome.
3. Run the launch's own design (a holdout's difference in means, a regional DiD on users, a score
   gate's RD) on that prediction. Its effect estimates the long-term effect.

The interval carries both sources of error: the design's sampling error on the launch's users,
and the index's estimation error on the reference sample (the delta method for the linear index —
the gradient of the projected effect in the index's coefficients is the design's effect on each
surrogate — and a bootstrap over reference users for the boosted one). The two samples are
independent, so the variances add.

Assumptions, in plain words:

* **Surrogacy** — the launch changes the long-term outcome *only through* the surrogates: two
  users with the same short-term metrics have the same expected long-term outcome whether or not
  they got the launch. A launch that moves the long-term outcome through a channel the first weeks
  do not show (a subscription that renews in month three, a churn effect that starts late) breaks
  it, and the projection misses that part.
* **Comparability** — the link between surrogates and the long-term outcome learned on the
  reference sample holds for the launch's users (same product, similar users, no seasonal break).

Checks that can fail: ``index_fit`` (the index's out-of-sample R² on the reference sample);
``surrogacy`` (where some launched users have matured, the projected and the realised effect on
them must agree within their joint uncertainty); ``surrogate_stability`` (dropping any one
surrogate must keep the projection inside its interval); ``reference_drift`` (the comparison
users' surrogates and covariates must resemble the reference sample's).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.core.errors import CausalKitError, DataError, SpecificationError
from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.frames import to_pandas
from causal_kit.core.options import SurrogateDesign, SurrogateModel, check_option
from causal_kit.core.stats import normal_ci
from causal_kit.design.surrogate._index import IndexFit, fit_index

__all__ = ["surrogate_index"]

DRIFT_SMD = 0.25  # largest standardized mean difference tolerated between reference and launch
MIN_R2 = 0.2  # smallest out-of-sample R² for an index worth projecting with
PREDICTED = "_surrogate_index"
MIN_MATURED = 40  # matured users below which the surrogacy check is not run


def surrogate_index(
    data: Any,
    *,
    reference: Any,
    surrogates: Sequence[str],
    long_term: str,
    treatment: str = "treated",
    design: str = "experiment",
    covariates: Sequence[str] = (),
    model: str = "linear",
    folds: int = 5,
    matured: str | None = None,
    min_r2: float = MIN_R2,
    n_boot: int = 50,
    level: float = 0.95,
    seed: int | None = 0,
    design_options: dict[str, Any] | None = None,
) -> Estimate:
    """Project a launch's long-term effect from its short-term metrics.

    Parameters
    ----------
    data
        The launch's users, one row each: the ``surrogates`` measured over the first weeks after
        exposure, ``treatment`` (0/1), the covariates, and whatever the design needs (its unit
        and period columns for ``"did"``, the running variable for ``"rdd"``). Never modified.
    reference
        Users whose long-term outcome is known (e.g. cohorts that signed up before the launch),
        with the same ``surrogates`` and ``covariates`` and the realised ``long_term`` column.
    surrogates
        Short-term metric columns that lead the long-term outcome.
    long_term
        The long-term outcome column of ``reference`` (e.g. ``"revenue_90d"``).
    treatment
        0/1 column of ``data``: 1 for users who got the launch.
    design
        How treated and comparison users are compared: ``"experiment"`` (a randomized holdout:
        difference in means), ``"did"`` (users in launched and other units before and after the
        launch: repeated cross-sections, ``design_options={"time": ..., "group": ...}``) or
        ``"rdd"`` (a score gate, ``design_options={"running": ..., "cutoff": ...}``).
    covariates
        Pre-launch user attributes used by the index beside the surrogates.
    model
        ``"linear"`` (least squares) or ``"boosting"`` (gradient-boosted trees).
    folds
        Cross-fitting folds for the index's out-of-sample fit.
    matured
        Column of ``data`` holding the realised long-term outcome for users old enough to have
        it (missing for the others); default ``long_term`` when ``data`` has that column. Drives
        the ``surrogacy`` check.
    min_r2
        Smallest out-of-sample R² at which ``index_fit`` passes.
    n_boot
        Bootstrap refits of a boosted index for its share of the interval.
    level
        Confidence level.
    seed
        Seed of the folds and the bootstrap.
    design_options
        Extra arguments for the design's front door.

    Returns
    -------
    Estimate
        ``method="surrogate"``; ``estimate`` is the projected effect on ``long_term`` per user;
        ``details`` holds the design's and the index's standard errors, the index fit, the
        realised effect on matured users, the stability and drift tables and the assumptions.

    Raises
    ------
    SpecificationError
        If an option is invalid or the design's columns are not given.
    DataError
        If a column is missing or not numeric, the treatment is not 0/1, or the reference sample
        is too small for the folds.
    """
    check_option("design", design, SurrogateDesign)
    check_option("model", model, SurrogateModel)
    if not surrogates:
        raise SpecificationError("surrogates= is empty; name the short-term metric columns, e.g. "
                                 "['task_success_rate_14d', 'revenue_14d'].")
    if long_term in surrogates:
        raise SpecificationError(f"long_term={long_term!r} is also a surrogate; the long-term "
                                 "outcome cannot predict itself.")
    if not isinstance(folds, int) or folds < 2:
        raise SpecificationError(f"folds={folds!r} must be an integer of at least 2.")
    features = [*surrogates, *covariates]
    options = dict(design_options or {})
    ref = to_pandas(reference, [*features, long_term], what="reference")
    _numeric(ref, [*features, long_term], "reference")
    frame = to_pandas(data, None, what="data")
    matured_col = matured if matured is not None else (long_term if long_term in frame else None)
    needed = [*features, treatment] + ([matured_col] if matured_col else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"data has no column {', '.join(map(repr, missing))}; the launch's users "
                        "need the surrogates, covariates and the treatment column.")
    _numeric(frame, features, "data")
    _binary(frame, treatment)
    compare = _comparison(design, treatment, options)

    index = fit_index(ref[features].to_numpy(float), ref[long_term].to_numpy(float),
                      model=model, folds=folds, seed=seed)
    frame[PREDICTED] = index.predict(frame[features].to_numpy(float))
    est = compare(frame, PREDICTED)
    se_index = _index_se(index, frame, features, compare, n_boot=n_boot, seed=seed)
    se = math.hypot(est.se, se_index)
    ci, p = normal_ci(est.estimate, se, level)

    surrogacy, matured_details = _surrogacy_check(frame, matured_col, index, features, compare,
                                                  level)
    checks = [_fit_check(index, min_r2), *surrogacy]
    stability, stab_check = _stability(ref, frame, surrogates, covariates, long_term, model,
                                       folds, seed, compare, est.estimate, ci)
    checks.append(stab_check)
    drift, drift_check = _drift(ref, frame, features, treatment)
    checks.append(drift_check)
    details = {
        "design": est.method, "design_estimate": est, "se_design": est.se, "se_index": se_index,
        "model": model, "surrogates": list(surrogates), "covariates": list(covariates),
        "long_term": long_term, "r2_oos": index.r2_oos, "reference_n": len(ref),
        "stability": stability, "drift": drift,
        "assumptions": ("Surrogacy: the launch changes the long-term outcome only through the "
                        "short-term metrics used. Comparability: the reference users' link "
                        "between those metrics and the long-term outcome holds for the "
                        "launch's users."),
    }
    details.update(matured_details)
    params = {"surrogates": list(surrogates), "long_term": long_term, "treatment": treatment,
              "design": design, "covariates": list(covariates), "model": model, "folds": folds,
              "matured": matured_col, "level": level, "seed": seed}
    return Estimate(
        method="surrogate", outcome=long_term, estimate=float(est.estimate), se=float(se),
        ci=ci, level=level, p_value=p, n_units=len(frame),
        n_treated=int(frame[treatment].sum()), by_period=None, checks=tuple(checks),
        details=details, params=params,
    )


# --- the comparison of treated with comparison users -------------------------------------------

Compare = Callable[[pd.DataFrame, str], Estimate]


def _comparison(design: str, treatment: str, options: dict[str, Any]) -> Compare:
    """Return the design's front door as ``compare(frame, outcome_column) -> Estimate``."""
    if design == "experiment":
        from causal_kit.design.experiment import experiment

        def run(frame: pd.DataFrame, column: str) -> Estimate:
            return experiment(frame, outcome=column, arm=treatment, treatment=1, control=0,
                              **options)
    elif design == "did":
        from causal_kit.design.did import did

        need = [k for k in ("time",) if k not in options]
        if need or not ({"group", "unit"} & set(options)):
            raise SpecificationError(
                "design='did' compares users in launched and other units before and after the "
                "launch: give design_options={'time': <period column>, 'group': <unit column>}."
            )

        def run(frame: pd.DataFrame, column: str) -> Estimate:
            return did(frame, outcome=column, treatment=treatment, **options)
    else:
        from causal_kit.design.rdd import rdd

        if not {"running", "cutoff"} <= set(options):
            raise SpecificationError("design='rdd' needs design_options={'running': <score "
                                     "column>, 'cutoff': <value>}.")

        def run(frame: pd.DataFrame, column: str) -> Estimate:
            return rdd(frame, outcome=column, checks=False, **options)

    def compare(frame: pd.DataFrame, column: str) -> Estimate:
        try:
            return run(frame, column)
        except CausalKitError as exc:
            raise type(exc)(f"surrogate index, {design} comparison of {column!r}: {exc}") from exc

    return compare


def _index_se(index: IndexFit, frame: pd.DataFrame, features: Sequence[str], compare: Compare,
              *, n_boot: int, seed: int | None) -> float:
    """Return the projected effect's standard error due to the index's estimation."""
    if index.cov is not None:
        # linear index: the projected effect is sum_j beta_j * effect(feature_j)
        grad = np.array([compare(frame, f).estimate for f in features])
        return float(math.sqrt(max(grad @ index.cov @ grad, 0.0)))
    draws = []
    X = frame[list(features)].to_numpy(float)
    for b, model in enumerate(index.bootstrap(n_boot, seed)):
        column = f"{PREDICTED}_b{b}"
        draws.append(compare(frame.assign(**{column: model(X)}), column).estimate)
    return float(np.std(draws, ddof=1))


# --- checks ----------------------------------------------------------------------------------


def _fit_check(index: IndexFit, min_r2: float) -> Check:
    ok = index.r2_oos >= min_r2
    msg = (f"the index explains {index.r2_oos:.0%} of the long-term outcome's variation in "
           f"reference users it was not fitted on (cross-fitted, {index.folds} folds); ")
    msg += ("enough to project with." if ok else
            f"below the {min_r2:.0%} needed: add surrogates that lead the outcome, or wait for "
            "the outcome itself.")
    return Check("index_fit", ok, index.r2_oos, None, msg, kind="robustness")


def _surrogacy_check(frame: pd.DataFrame, matured: str | None, index: IndexFit,
                     features: Sequence[str], compare: Compare,
                     level: float) -> tuple[list[Check], dict[str, Any]]:
    """Projected against realised effect on the users whose long-term outcome is already in."""
    untested: dict[str, Any] = {"realised_effect": None, "matured_n": 0}
    if matured is None:
        return [], untested
    done = frame[frame[matured].notna()].copy()
    if len(done) < MIN_MATURED:
        return [], {**untested, "matured_n": len(done)}
    done["_gap"] = done[matured].astype(float) - done[PREDICTED]
    try:
        realised = compare(done, matured)
        gap = compare(done, "_gap")
    except CausalKitError:
        # e.g. the matured users hold no comparison user yet: untestable, not failed
        return [], {**untested, "matured_n": len(done)}
    se_idx = _index_se(index, done, features, compare, n_boot=20, seed=1)
    se = math.hypot(gap.se, se_idx)
    z = gap.estimate / se if se > 0 else math.inf
    p = float(2 * stats.norm.sf(abs(z)))
    ok = p >= 1 - level
    msg = (f"on {len(done):,} users old enough to have the long-term outcome, the realised effect "
           f"is {realised.estimate:.4g} and the projection {realised.estimate - gap.estimate:.4g}"
           f" (gap {gap.estimate:.4g} ± {1.96 * se:.3g}); ")
    msg += ("they agree, as surrogacy predicts." if ok else
            "they disagree: the launch moves the long-term outcome through something the "
            "short-term metrics do not show, so the projection misses part of the effect.")
    check = Check("surrogacy", ok, float(z), p, msg, kind="identifying")
    return [check], {"realised_effect": float(realised.estimate),
                     "realised_ci": tuple(map(float, realised.ci)), "matured_n": len(done)}


def _stability(ref: pd.DataFrame, frame: pd.DataFrame, surrogates: Sequence[str],
               covariates: Sequence[str], long_term: str, model: str, folds: int,
               seed: int | None, compare: Compare, estimate: float,
               ci: tuple[float, float]) -> tuple[pd.DataFrame, Check]:
    rows = []
    if len(surrogates) > 1:
        for drop in surrogates:
            kept = [s for s in surrogates if s != drop] + list(covariates)
            fit = fit_index(ref[kept].to_numpy(float), ref[long_term].to_numpy(float),
                            model=model, folds=folds, seed=seed)
            column = f"{PREDICTED}_without"
            value = compare(frame.assign(**{column: fit.predict(frame[kept].to_numpy(float))}),
                            column).estimate
            rows.append({"without": drop, "estimate": float(value), "r2_oos": fit.r2_oos})
    table = pd.DataFrame(rows, columns=["without", "estimate", "r2_oos"])
    outside = table[(table["estimate"] < ci[0]) | (table["estimate"] > ci[1])]
    ok = outside.empty
    if table.empty:
        msg = "one surrogate only: the projection's dependence on the surrogate set is untested."
    elif ok:
        msg = (f"dropping any one of the {len(surrogates)} surrogates keeps the projection "
               f"inside its interval (from {table['estimate'].min():.4g} to "
               f"{table['estimate'].max():.4g}).")
    else:
        names = ", ".join(f"{r.without} ({r.estimate:.4g})" for r in outside.itertuples())
        msg = (f"the projection {estimate:.4g} depends on single surrogates: without {names} it "
               "leaves its interval. Treat it as fragile.")
    spread = float((table["estimate"] - estimate).abs().max()) if len(table) else 0.0
    return table, Check("surrogate_stability", ok, spread, None, msg, kind="robustness")


def _drift(ref: pd.DataFrame, frame: pd.DataFrame, features: Sequence[str],
           treatment: str) -> tuple[pd.DataFrame, Check]:
    comparison = frame[frame[treatment] == 0]
    rows = []
    for f in features:
        a, b = ref[f].to_numpy(float), comparison[f].to_numpy(float)
        pooled = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2) if len(b) > 1 else math.nan
        smd = (b.mean() - a.mean()) / pooled if pooled and pooled > 0 else 0.0
        rows.append({"column": f, "reference_mean": float(a.mean()),
                     "launch_mean": float(b.mean()), "smd": float(smd)})
    table = pd.DataFrame(rows)
    worst = table.iloc[int(np.argmax(table["smd"].abs().to_numpy()))]
    ok = bool(abs(worst["smd"]) < DRIFT_SMD)
    msg = (f"the launch's comparison users resemble the reference sample (largest standardized "
           f"difference {worst['smd']:+.2f}, in {worst['column']!r})." if ok else
           f"the launch's comparison users differ from the reference sample in "
           f"{worst['column']!r} by {worst['smd']:+.2f} standard deviations (tolerated: "
           f"{DRIFT_SMD}); the index may not carry over — use more recent reference cohorts.")
    return table, Check("reference_drift", ok, float(worst["smd"]), None, msg,
                        kind="identifying")


# --- validation --------------------------------------------------------------------------------


def _numeric(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    for c in columns:
        col = frame[c]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise DataError(f"{what} column {c!r} must be numeric; it holds {col.dtype}.")
        bad = int(col.isna().sum())
        if bad:
            raise DataError(f"{what} column {c!r} has {bad} missing values; fill them (a user "
                            "without sessions has 0 sessions) or drop those users.")


def _binary(frame: pd.DataFrame, column: str) -> None:
    values = set(pd.unique(frame[column].dropna()).tolist())
    if not values <= {0, 1} or frame[column].isna().any():
        strange = sorted(map(repr, values - {0, 1}))[:5]
        raise DataError(f"treatment column {column!r} must be 0/1 for every user; it holds "
                        f"{', '.join(strange) or 'missing values'}.")
    if len(values) < 2:
        absent = "treated" if 0 in values else "comparison"
        raise DataError(f"treatment column {column!r} has no {absent} users; the index needs "
                        "both to compare.")
