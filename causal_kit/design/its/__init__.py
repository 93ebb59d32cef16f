"""Interrupted time series: a launch to everyone, measured against a forecast counterfactual.

When every user gets the launch on one date there is no untreated group. What the outcome would
have done without the launch is then *forecast* from its own pre-launch history and from control
series the launch cannot have touched (another product line, platform or market), in the manner
of Google's CausalImpact (Brodersen et al. 2015, *Annals of Applied Statistics*).

**What is identified, and under what assumption.** The effect in each post-launch period is the
observed outcome minus the forecast. It is the launch's effect if (1) the pre-launch relation
between the outcome, its trend and seasonality and the controls would have continued unchanged
after the launch date, and (2) the launch did not move the controls. Nothing in the data can
prove (1) for the post-period; the placebo launches test it where it can be tested, inside the
pre-period. Any other change on the launch date (a price change, a marketing push, an outage) is
attributed to the launch. It is the weakest design the kit has, and every estimate says so in
``details["warning"]``.

**The model.** A structural time series fitted to the pre-launch periods only (statsmodels'
``UnobservedComponents``), by maximum likelihood:

* a local level (a random walk: level shocks persist, as in CausalImpact) with, by default, a
  fixed drift (``trend="drift"``), since product metrics usually grow; ``trend="level"`` drops the
  drift (CausalImpact's default), ``trend="trend"`` lets the slope wander too (wide forecasts);
* deterministic trigonometric seasonality: the full weekly pattern for daily data, and a smooth
  yearly cycle once the history holds two years (weekly data need two years: their one cycle is
  the year). The seasonal shapes are states, so their estimation error enters the forecast;
* the control series as regressors whose coefficients are states too (``mle_regression=False``),
  so their uncertainty also enters the forecast.

**Inference.** Given the variances the forecast is Gaussian; its mean and its full covariance over
the post-period come from the state-space recursions, so the cumulative and average effects carry
the forecast's joint uncertainty (errors of neighbouring periods are correlated). The variances'
own estimation error is added by importance-sampling them (a flat prior on their square roots)
and averaging the forecast over the draws (law of total covariance); plugged in alone they give
95% intervals that cover about 88–91% on a few months of history. Intervals are
normal on that covariance; ``Estimate.draws`` are seeded draws of the average effect.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import CausalKitWarning, DataError, SpecificationError
from causal_kit.core.estimate import Check, Estimate
from causal_kit.core.options import ItsTrend, check_option
from causal_kit.core.stats import normal_ci, tidy_table, z_crit
from causal_kit.design.its import _checks
from causal_kit.design.its._data import (
    Series,
    auto_seasons,
    control_names,
    load_series,
    needed_pre_periods,
)
from causal_kit.design.its._model import Fit, ModelSpec, fit_model, predictive
from causal_kit.design.its.plots import plot_its

__all__ = ["its", "plot_its"]


def its(
    data: Any,
    *,
    outcome: str,
    time: str,
    launch_date: Any,
    controls: str | Sequence[str] | None = (),
    trend: ItsTrend = "drift",
    seasonality: Sequence[float] | None = None,
    placebos: int = 3,
    placebo_dates: Sequence[Any] | None = None,
    param_draws: int = 40,
    n_draws: int = 2000,
    checks: bool = True,
    level: float = 0.95,
    seed: int | None = 0,
) -> Estimate:
    """Estimate the effect of a launch to everyone with an interrupted time series.

    Parameters
    ----------
    data
        A daily or weekly series (pandas, polars, pyarrow or DuckDB frame), one row per date, in
        any order; the frame is not modified.
    outcome
        Outcome column (numeric), e.g. ``"revenue"``.
    time
        Date column. Dates must be unique and regular (every day, or every week), without gaps.
    launch_date
        First date with the launch; periods from it on are post-launch.
    controls
        Control series columns the launch cannot have touched (another product line, platform,
        market). Every value must be present.
    trend
        ``"drift"`` (local level with a fixed slope, default), ``"level"`` (local level alone,
        CausalImpact's default) or ``"trend"`` (local linear trend: the slope wanders too).
    seasonality
        Cycle lengths in periods, e.g. ``(7,)``; default: weekly for daily data, plus yearly with
        two years of history; yearly for weekly data. ``()`` fits no seasonality.
    placebos
        Number of placebo launches placed at the end of the pre-period for ``placebo_in_time``.
    placebo_dates
        Explicit placebo launch dates instead (each inside the pre-period).
    param_draws
        Importance draws of the model's variances over which the forecast is averaged, so
        their estimation error enters the intervals (0: plug-in, narrower and less honest).
    n_draws
        Draws of the average effect returned in ``Estimate.draws`` (and used for the relative
        effect's interval).
    checks
        Run the checks (placebos refit the model a few times). ``False`` returns the estimate
        with the ``control_series`` check only.
    level
        Confidence level of the intervals.
    seed
        Seed of every random draw; the same seed gives the same result.

    Returns
    -------
    Estimate
        ``method`` ``"its:<trend>"``; ``estimate`` the average effect per post-launch period in
        the outcome's units; ``by_period`` the effect of every post-launch date (``term``) with
        the observed value and the counterfactual with its band; ``details`` the ``warning``
        sentence, the ``cumulative`` and ``relative`` effects with intervals, the model, the
        placebo table and the ``counterfactual_path`` that :func:`plot_its` draws. ``n_units`` is
        the number of periods, ``n_treated`` the post-launch ones.

    Raises
    ------
    DataError
        Missing, duplicated or irregular dates; a non-numeric or incomplete outcome or control;
        a launch date outside the data or with too few pre-launch periods (the message says how
        many there are and how many the model needs).
    SpecificationError
        Unknown options or inconsistent arguments.
    """
    trend = check_option("trend", trend, ItsTrend)
    _check_level(level)
    _check_count("placebos", placebos, minimum=0)
    _check_count("param_draws", param_draws, minimum=0)
    _check_count("n_draws", n_draws, minimum=1)
    names = control_names(controls)
    series = load_series(data, outcome=outcome, time=time, launch_date=launch_date,
                         controls=names)
    _warn_unaligned(series)
    seasons = _seasons(seasonality, series)
    spec = ModelSpec(trend=trend, seasons=seasons, k_controls=len(names))
    needed = needed_pre_periods(seasons, spec.k_states, series.frequency)
    _check_history(series, needed, seasons, spec)
    rng = np.random.default_rng(seed)
    fit = fit_model(series.y[: series.n_pre], series.controls[: series.n_pre], spec)
    post = slice(series.n_pre, None)
    mean, cov = predictive(fit, series.controls[post], series.n_post,
                           n_param_draws=param_draws, rng=rng)
    observed = series.y[post]
    effects = observed - mean
    h = series.n_post
    average = float(effects.mean())
    se = float(np.sqrt(max(cov.sum(), 0.0))) / h
    ci, p = normal_ci(average, se, level)
    draws = _draws(observed, mean, cov, n_draws, rng)
    unit = series.frequency
    check_list: list[Check] = [_checks.control_check(fit, names)]
    placebo_table = None
    if checks:
        starts, length = _checks.placebo_starts(series, needed, placebos, placebo_dates)
        pl = _checks.run_placebos(series, spec, starts, length, n_param_draws=param_draws,
                                  rng=rng)
        placebo_table = pl.table
        check_list = [_checks.placebo_check(pl, needed, unit), _checks.fit_check(pl, fit, unit),
                      *check_list]
    details = {
        "warning": _warning(series, names),
        "cumulative": _interval_dict(float(effects.sum()), se * h, level),
        "relative": _relative(100 * average / float(mean.mean()), draws[1], level),
        "model": _model_details(fit, series, needed),
        "placebos": placebo_table,
        "counterfactual_path": _path(series, fit, mean, cov, level),
    }
    return Estimate(
        method=f"its:{trend}",
        outcome=outcome,
        estimate=average,
        se=se,
        ci=ci,
        level=level,
        p_value=p,
        n_units=len(series.y),
        n_treated=h,
        by_period=_by_period(series, effects, observed, mean, cov, level),
        checks=tuple(check_list),
        details=details,
        params={
            "outcome": outcome, "time": time, "launch_date": series.launch,
            "controls": list(names), "trend": trend, "seasonality": list(seasons),
            "placebos": placebos, "placebo_dates": placebo_dates, "param_draws": param_draws,
            "n_draws": n_draws, "checks": checks, "level": level, "seed": seed,
        },
        draws=draws[0],
    )


def _check_level(level: Any) -> None:
    if not (isinstance(level, float) and 0 < level < 1):
        raise SpecificationError(f"level= must be a number between 0 and 1; got {level!r}.")


def _check_count(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SpecificationError(
            f"{name}= must be an integer of at least {minimum}; got {value!r}."
        )


def _seasons(value: Sequence[float] | None, series: Series) -> tuple[float, ...]:
    if value is None:
        return auto_seasons(series.frequency, series.n_pre)
    try:
        seasons = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        seasons = (float("nan"),)
    if not all(np.isfinite(s) and s >= 2 for s in seasons):
        raise SpecificationError(
            f"seasonality={value!r} must be a list of cycle lengths in periods, each at least 2 "
            "(e.g. (7,) for a weekly cycle in daily data), or () for none."
        )
    return tuple(sorted(set(seasons)))


def _check_history(
    series: Series, needed: int, seasons: tuple[float, ...], spec: ModelSpec
) -> None:
    if series.n_pre >= needed:
        return
    unit = series.frequency
    why = []
    if seasons:
        why.append(f"two full cycles of its {max(seasons):g}-{unit} season to tell the season "
                   "from the launch")
    why.append(f"three {unit}s for each of the model's {spec.k_states} states")
    hint = (" or pass seasonality=() to fit no yearly cycle (then yearly swings count as the "
            "launch's effect)") if unit == "week" else ""
    raise DataError(
        f"launch_date={series.launch.date()} leaves {series.n_pre} pre-launch {unit}s "
        f"(from {series.dates[0].date()}); the forecast needs at least {needed}: "
        f"{' and '.join(why)}. Add earlier data{hint}."
    )


def _warn_unaligned(series: Series) -> None:
    if series.frequency == "week" and series.launch not in series.dates:
        prev = series.dates[series.n_pre - 1]
        warnings.warn(
            f"launch_date={series.launch.date()} falls inside the week of {prev.date()}, which "
            "counts as pre-launch although part of it had the launch; pass the date a week "
            "starts on.", CausalKitWarning, stacklevel=3,
        )


def _draws(
    observed: np.ndarray, mean: np.ndarray, cov: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draws of the average effect, and of the relative effect (per cent of the counterfactual)."""
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    root = vecs * np.sqrt(np.clip(vals, 0, None))
    paths = mean + rng.standard_normal((n, len(mean))) @ root.T
    counterfactual = paths.mean(axis=1)
    effect = observed.mean() - counterfactual
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = 100 * effect / counterfactual
    return effect, relative


def _interval_dict(estimate: float, se: float, level: float) -> dict[str, float]:
    ci, p = normal_ci(estimate, se, level)
    return {"estimate": estimate, "std_error": se, "conf_low": ci[0], "conf_high": ci[1],
            "p_value": p}


def _relative(point: float, draws: np.ndarray, level: float) -> dict[str, float]:
    """Express the average effect in per cent of the counterfactual, percentile interval."""
    finite = draws[np.isfinite(draws)]
    if finite.size == 0 or not np.isfinite(point):
        nan = float("nan")
        return {"estimate_pct": nan, "conf_low_pct": nan, "conf_high_pct": nan}
    lo, hi = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return {"estimate_pct": point, "conf_low_pct": float(lo), "conf_high_pct": float(hi)}


def _warning(series: Series, names: tuple[str, ...]) -> str:
    basis = "the outcome's own pre-launch trend and seasonality"
    if names:
        basis += " and the control series " + ", ".join(repr(n) for n in names)
    return (
        "Everyone got the launch at once, so no untreated group shows what would have happened "
        f"without it. This estimate compares the outcome with a forecast from {basis}; it is "
        "right only if that pattern would have continued unchanged, and anything else that "
        f"changed on {series.launch.date()} is counted as the launch's effect."
    )


def _model_details(fit: Fit, series: Series, needed: int) -> dict[str, Any]:
    coef, coef_se = fit.coefficients()
    return {
        "frequency": series.frequency,
        "trend": fit.spec.trend,
        "seasons": list(fit.spec.seasons),
        "variances": fit.params,
        "controls": {n: {"coefficient": float(c), "std_error": float(s)}
                     for n, c, s in zip(series.control_names, coef, coef_se, strict=True)},
        "n_pre": series.n_pre,
        "n_post": series.n_post,
        "needed_pre_periods": needed,
        "launch_date": series.launch,
        "log_likelihood": float(fit.result.llf),
    }


def _by_period(
    series: Series, effects: np.ndarray, observed: np.ndarray, mean: np.ndarray,
    cov: np.ndarray, level: float,
) -> pd.DataFrame:
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    table = tidy_table(list(series.dates[series.n_pre:]), effects, sd, level)
    z = z_crit(level)
    table["period"] = np.arange(1, series.n_post + 1)
    table["observed"] = observed
    table["counterfactual"] = mean
    table["counterfactual_low"] = mean - z * sd
    table["counterfactual_high"] = mean + z * sd
    table["cumulative"] = np.cumsum(effects)
    return table


def _path(
    series: Series, fit: Fit, mean: np.ndarray, cov: np.ndarray, level: float
) -> pd.DataFrame:
    """Observed and counterfactual over every date: in-sample one-step fit, then the forecast."""
    z = z_crit(level)
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    fitted = np.asarray(fit.result.fittedvalues, dtype=float).copy()
    fitted[: fit.spec.k_states] = np.nan  # the diffuse start says nothing
    nan_pre = np.full(series.n_pre, np.nan)
    return pd.DataFrame({
        "time": series.dates,
        "observed": series.y,
        "counterfactual": np.concatenate([fitted, mean]),
        "conf_low": np.concatenate([nan_pre, mean - z * sd]),
        "conf_high": np.concatenate([nan_pre, mean + z * sd]),
        "post": np.arange(len(series.y)) >= series.n_pre,
    })

