"""The front door: ``synthetic_control(data, outcome=, unit=, time=, treatment=, method=, ...)``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.options import SynthInference, SynthMethod, check_option
from causal_kit.core.stats import normal_ci, tidy_table, z_crit
from causal_kit.design.synth import checks as ck_checks
from causal_kit.design.synth import inference as inf
from causal_kit.design.synth._threads import single_blas_thread
from causal_kit.design.synth.data import MIN_PRE_PERIODS, SynthData, load_panel
from causal_kit.design.synth.engine import Engine, Result, Settings
from causal_kit.design.synth.report import build_details

ALLOWED_INFERENCE = {
    "sc": ("auto", "placebo", "conformal", "none"),
    "asc": ("auto", "placebo", "conformal", "none"),
    "sdid": ("auto", "placebo", "jackknife", "bootstrap", "none"),
}
BOOTSTRAP_MIN_TREATED = 30  # sdid "auto": the unit bootstrap from this many treated units on


def auto_inference(method: str, n_treated: int, n_donors: int) -> str:
    """Return the inference that ``inference="auto"`` picks.

    ``sc``/``asc``: placebo-in-space. ``sdid``: the placebo variance (Arkhangelsky et al. 2021,
    Algorithm 4) while donors can stand in for every treated unit (``n_donors ≥ n_treated + 2``)
    and treated units are fewer than ``BOOTSTRAP_MIN_TREATED`` = 30; otherwise the unit
    bootstrap (Algorithm 2), which is valid when treated units are many. The jackknife
    (Algorithm 3) is never the default: with few treated units it under-covers (about 90% for
    a nominal 95% with 5 treated units in our simulations).
    """
    if method != "sdid" or n_treated <= 1:
        return "placebo"
    if n_treated >= BOOTSTRAP_MIN_TREATED or n_donors < n_treated + 2:
        return "bootstrap"
    return "placebo"


@single_blas_thread()
def synthetic_control(
    data: Any,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    method: SynthMethod = "sc",
    inference: SynthInference = "auto",
    covariates: Sequence[str] = (),
    outcome_lags: Sequence[Any] = (),
    predictor_weights: Sequence[float] | Mapping[str, float] | None = None,
    intercept: bool = False,
    ridge_penalty: float | None = None,
    level: float = 0.95,
    n_draws: int = 200,
    placebo_in_time: bool = True,
    leave_one_out: bool = True,
    seed: int | None = 0,
    progress: bool = False,
) -> Estimate:
    """Estimate a launch's effect with synthetic control, augmented SC or synthetic DiD.

    The treated unit's counterfactual is a weighted combination of never-treated units (the
    donors). Identification rests on the treated unit's untreated path being reproduced by the
    donors after launch as it was before launch (no spill-overs onto donors, no anticipation).

    Parameters
    ----------
    data
        Long panel (pandas, polars, pyarrow, DuckDB): one row per unit and period, balanced.
    outcome, unit, time, treatment
        Column names. ``treatment`` is 0/1 and absorbing (1 from a unit's launch on), as for
        :func:`causal_kit.did`. Units never treated are the donors.
    method
        ``"sc"``: Abadie-style convex weights matching the pre-launch outcome path (or, with
        ``covariates``/``outcome_lags``, standardised predictors weighted by importance ``V``).
        ``"asc"``: augmented SC, SC weights plus a ridge outcome-model correction (Ben-Michael,
        Feller & Rothstein 2021). ``"sdid"``: synthetic difference-in-differences with unit and
        time weights and its ridge regularisation (Arkhangelsky et al. 2021).
    inference
        ``"auto"`` (default): ``"placebo"``, except for ``sdid`` with at least 30 treated units
        or too few donors to stand in for them, where it is ``"bootstrap"`` (see
        :func:`auto_inference`). ``"placebo"``: every donor in turn plays the treated unit
        (one treated unit; with several, ``n_draws`` random placebo assignments). ``p_value``
        is the rank of the
        treated post/pre RMSPE ratio among the placebos': with ``J`` donors it is an exact rank
        ``(1 + #{placebo ratio ≥ treated ratio}) / (J + 1)``, so the smallest attainable p-value
        is ``1/(J+1)``. ``se`` is the standard deviation of the placebo estimates (the placebo
        variance of Arkhangelsky et al.) and ``ci`` the normal interval around the estimate.
        ``"conformal"`` (``sc``/``asc``, one adoption date): Chernozhukov–Wüthrich–Zhu
        intervals per post-launch period, and for a constant effect over the post-launch
        window as the headline. ``"jackknife"`` / ``"bootstrap"`` (``sdid``): the variance
        estimators of Arkhangelsky et al. ``"none"``: point estimate only.
    covariates
        ``sc`` only: time-varying columns whose pre-launch means are matched as predictors.
    outcome_lags
        ``sc`` only: pre-launch periods (labels of ``time``) whose outcomes are predictors.
    predictor_weights
        Importance weights ``V`` of the predictors (sequence in the order covariates, then lags,
        or a mapping by covariate name / lag label). ``None`` chooses ``V`` to minimise the
        pre-launch squared gap of the outcome (nested optimisation; refits of the treated
        units keep that ``V``, each placebo unit gets its own search).
    intercept
        ``sc`` only: the demeaned variant — match each unit's deviations from its pre-launch
        mean, and add back the level difference.
    ridge_penalty
        ``asc`` only: fixed ridge penalty; ``None`` cross-validates it on the pre-launch periods.
        Refits (placebos, conformal) keep the chosen penalty.
    level
        Confidence level of the intervals.
    n_draws
        Placebo assignments (several treated units) or bootstrap draws.
    placebo_in_time
        Also refit at fake launch dates before the real one (a check).
    leave_one_out
        Also refit without each donor that carries weight (a check).
    seed
        Seed for random placebo assignments and bootstrap draws.
    progress
        Show a progress bar over refits.

    Returns
    -------
    Estimate
        ``estimate`` is the average post-launch gap (ATT; with several adoption dates the cohort
        effects weighted by treated unit-periods). ``by_period`` holds the gap per post-launch
        period (one adoption date) or per period since launch (several), with intervals.
        ``details`` holds ``weights``, ``time_weights`` (SDID), ``cohorts``, ``path``,
        ``placebo``, ``placebo_gaps``, ``pre_rmspe`` and more; ``draws`` the placebo or bootstrap
        distribution of the estimate, centred on it.

    Raises
    ------
    DataError
        Fewer than two donors, a treated unit with missing outcomes, too few pre-launch periods,
        donors with gaps, constant outcomes, and everything the panel validation rejects.
    SpecificationError
        Unknown or incompatible options.
    """
    method = check_option("method", method, SynthMethod)
    inference = check_option("inference", inference, SynthInference)
    if inference not in ALLOWED_INFERENCE[method]:
        raise SpecificationError(
            f"inference={inference!r} is not available for method={method!r}; use one of "
            f"{', '.join(repr(x) for x in ALLOWED_INFERENCE[method])}."
        )
    _check_numbers(level, n_draws, ridge_penalty)
    covariates = tuple(covariates)
    lags_given = tuple(outcome_lags)
    if method != "sc" and (covariates or lags_given or predictor_weights is not None):
        raise SpecificationError(
            f"covariates, outcome_lags and predictor_weights apply to method='sc' only; "
            f"method={method!r} matches on the pre-launch outcome path."
        )
    if intercept and method != "sc":
        raise SpecificationError(
            "intercept=True (demeaned SC) applies to method='sc'; 'sdid' always has an intercept."
        )
    if ridge_penalty is not None and method != "asc":
        raise SpecificationError("ridge_penalty applies to method='asc' only.")

    panel = load_panel(
        data, outcome=outcome, unit=unit, time=time, treatment=treatment, covariates=covariates
    )
    lags = _lag_indices(panel, lags_given, time)
    v = _predictor_weights(predictor_weights, covariates, lags_given)
    if v is not None and not (covariates or lags):
        raise SpecificationError(
            "predictor_weights needs predictors: pass covariates= and/or outcome_lags=."
        )
    settings = Settings(
        method=method,
        intercept=intercept,
        ridge_penalty=ridge_penalty,
        covariates=covariates,
        outcome_lags=lags,
        predictor_weights=v,
    )
    groups = [(c.start, c.units) for c in panel.cohorts]
    if inference == "conformal" and len(groups) > 1:
        raise SpecificationError(
            "conformal intervals need a single adoption date; this panel has "
            f"{len(groups)}. Use inference='placebo'."
        )
    donors = panel.donors
    if inference == "auto":
        inference = auto_inference(method, int(sum(c.units.size for c in panel.cohorts)),
                                   int(donors.size))  # type: ignore[assignment]
    engine = Engine(panel, settings)
    main = engine.fit(donors, groups)
    engine.freeze(main, donors)
    rng = np.random.default_rng(seed)
    single = len(groups) == 1
    effects = main.effects(single)
    att = main.att

    draws: inf.Draws | None = None
    term_se = np.full(effects.size, np.nan)
    se, ci, p = float("nan"), (float("nan"), float("nan")), float("nan")
    conformal_info: dict[str, Any] | None = None
    conformal_bounds: tuple[np.ndarray, np.ndarray] | None = None
    extra_checks: list[Check] = []
    if inference == "placebo":
        draws = inf.placebo_space(engine, donors, groups, n_draws=n_draws, rng=rng,
                                  progress=progress)
        ratio = main.ratio
        exceed = int(np.sum(draws.ratio >= ratio * (1 - 1e-12)))
        p = (1 + exceed) / (draws.att.size + 1)
        se = inf.draw_se(draws.att)
        ci, _ = normal_ci(att, se, level)
        term_se = np.array([inf.draw_se(col) for col in draws.effects.T])
        exact = inf.treated_count(groups) == 1
        extra_checks.append(ck_checks.placebo_rank(p, 1 + exceed, draws.att.size, level, exact))
    elif inference in ("bootstrap", "jackknife"):
        if inference == "bootstrap":
            draws = inf.sdid_bootstrap(engine, donors, groups, n_draws=n_draws, rng=rng,
                                       progress=progress)
            se = inf.draw_se(draws.att)
            term_se = np.array([inf.draw_se(col) for col in draws.effects.T])
        else:
            draws = inf.sdid_jackknife(donors, groups, main, panel.Y)
            se = inf.jackknife_se(draws.att)
            term_se = np.array([inf.jackknife_se(col) for col in draws.effects.T])
        ci, p = normal_ci(att, se, level)
    elif inference == "conformal":
        start, rows = groups[0]
        low, high, conformal_info = inf.conformal(engine, donors, start, rows, main, level)
        conformal_bounds = (low, high)
        ci = (float(conformal_info["low"]), float(conformal_info["high"]))
        width = ci[1] - ci[0]
        se = width / (2 * z_crit(level)) if np.isfinite(width) else float("nan")
        p = float(conformal_info["p_value"])

    by_period = _by_period(panel, groups, effects, term_se, level, conformal_bounds,
                           conformal_info)

    time_draws = None
    if placebo_in_time:
        time_draws = inf.placebo_time(engine, donors, groups, MIN_PRE_PERIODS)
        if time_draws is not None:
            extra_checks.append(ck_checks.placebo_time(time_draws, main.ratio))
    loo_rows, loo_est = (donors[:0], np.empty(0))
    if leave_one_out:
        loo_rows, loo_est = inf.leave_one_out(engine, donors, groups, main)

    checks = _checks(panel, main, donors, method)
    if leave_one_out:
        names = [str(panel.unit_label(int(r))) for r in loo_rows]
        checks.append(ck_checks.leave_one_out(att, se, loo_est, names))
    checks += extra_checks
    details = build_details(
        panel, main, donors, groups, draws, time_draws, loo_rows, loo_est, conformal_info,
        single=single, inference=inference,
    )
    head_draws = None
    if draws is not None and draws.kind == "placebo":
        head_draws = att + (draws.att - draws.att.mean())
    elif draws is not None and draws.kind == "bootstrap":
        head_draws = draws.att.copy()
    return Estimate(
        method=method,
        outcome=outcome,
        estimate=float(att),
        se=float(se),
        ci=(float(ci[0]), float(ci[1])),
        level=level,
        p_value=float(p),
        n_units=int(donors.size + inf.treated_count(groups)),
        n_treated=int(inf.treated_count(groups)),
        by_period=by_period,
        checks=tuple(checks),
        details=details,
        params={
            "method": method, "inference": inference, "unit": unit, "time": time,
            "treatment": treatment, "covariates": list(covariates),
            "outcome_lags": [panel.time_label(t) for t in lags],
            "predictor_weights": None if v is None else [float(x) for x in v],
            "intercept": intercept, "ridge_penalty": ridge_penalty, "level": level,
            "n_draws": n_draws, "seed": seed,
        },
        draws=head_draws,
    )


def _check_numbers(level: float, n_draws: int, ridge_penalty: float | None) -> None:
    if not isinstance(level, (int, float)) or not 0 < level < 1:
        raise SpecificationError(f"level={level!r} must be a number strictly between 0 and 1.")
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 2:
        raise SpecificationError(f"n_draws={n_draws!r} must be an integer of at least 2.")
    if ridge_penalty is not None and not (np.isfinite(ridge_penalty) and ridge_penalty > 0):
        raise SpecificationError(f"ridge_penalty={ridge_penalty!r} must be a positive number.")


def _lag_indices(panel: SynthData, lags: tuple[Any, ...], time: str) -> tuple[int, ...]:
    if not lags:
        return ()
    labels = [panel.time_label(t) for t in range(panel.n_periods)]
    first = min(c.start for c in panel.cohorts)
    out = []
    for lag in lags:
        key = pd.Timestamp(lag).date().isoformat() if isinstance(lag, (pd.Timestamp,)) else lag
        if key not in labels:
            raise SpecificationError(
                f"outcome_lags: {time}={lag!r} is not a period of the panel (periods run "
                f"{labels[0]!r}…{labels[-1]!r})."
            )
        t = labels.index(key)
        if t >= first:
            raise SpecificationError(
                f"outcome_lags: {time}={lag!r} is not before the first launch "
                f"({labels[first]!r}); predictors must be pre-launch."
            )
        out.append(t)
    return tuple(out)


def _predictor_weights(
    v: Sequence[float] | Mapping[str, float] | None,
    covariates: tuple[str, ...],
    lags: tuple[Any, ...],
) -> np.ndarray | None:
    if v is None:
        return None
    names = [*covariates, *lags]
    if isinstance(v, Mapping):
        unknown = [k for k in v if k not in names]
        if unknown:
            raise SpecificationError(
                f"predictor_weights names {unknown} that are not predictors; predictors are "
                f"{names}."
            )
        arr = np.array([float(v.get(k, 0.0)) for k in names])
    else:
        arr = np.asarray(list(v), dtype=float)
        if arr.size != len(names):
            raise SpecificationError(
                f"predictor_weights has {arr.size} value(s) for {len(names)} predictor(s) "
                f"{names}."
            )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or arr.sum() <= 0:
        raise SpecificationError(
            "predictor_weights must be non-negative finite numbers that are not all zero."
        )
    return arr / arr.sum()


def _by_period(
    panel: SynthData,
    groups: list[tuple[int, np.ndarray]],
    effects: np.ndarray,
    se: np.ndarray,
    level: float,
    bounds: tuple[np.ndarray, np.ndarray] | None,
    conformal_info: dict[str, Any] | None,
) -> pd.DataFrame:
    single = len(groups) == 1
    event = np.arange(effects.size)
    if single:
        start = groups[0][0]
        terms: list[Any] = [panel.time_label(start + int(e)) for e in event]
    else:
        terms = [int(e) for e in event]
    table = tidy_table(terms, effects, se, level)
    if bounds is not None and conformal_info is not None:
        table["conf_low"], table["conf_high"] = bounds
        table["p_value"] = conformal_info["p_values_by_period"]
    table["event_time"] = event
    return table


def _checks(panel: SynthData, main: Result, donors: np.ndarray, method: str) -> list[Check]:
    Y = panel.Y
    fit_check, _ = ck_checks.pre_fit(main, Y, donors, method=method, demean=method == "sdid")
    top = max(main.cohorts, key=lambda c: float(np.max(c.fit.weights)))
    label = panel.unit_label(int(donors[int(np.argmax(top.fit.weights))]))
    return [
        fit_check,
        ck_checks.concentration(main, label),
        ck_checks.donor_range(main, Y, donors, demean=method == "sdid"),
    ]
