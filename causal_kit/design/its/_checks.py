"""The checks of ITS: placebo launches in the pre-period, the pre-period forecast fit, controls.

* ``placebo_in_time`` (identifying): the model is refitted on the data before each of a few fake
  launch dates inside the pre-period and forecasts the window after it, which no launch touched.
  Each placebo's average effect gets a p-value; the check fails when the smallest, Bonferroni
  corrected for the number of placebos, is below 0.05. A failure says the forecast is biased by
  more than its own interval admits (a break, an earlier launch, dynamics the model misses), so
  the real estimate may be too.
* ``pre_fit`` (identifying): the last placebo window (the periods right before the launch) is
  also a hold-out forecast of the whole path. Its standardised errors, with the forecast's own
  covariance, form a chi-square statistic on as many degrees of freedom as periods; a p-value below
  0.05 says the model's forecast errors are larger or more persistent than it claims. The message
  also compares the hold-out error with the series' own one-step noise.
* Measured false alarms (``benchmarks/bench_its.py``, 100 simulated 200-day series without a
  launch): ``placebo_in_time`` 12% ± 3 and ``pre_fit`` 9% ± 3 against a nominal 5%; the
  placebo fits have shorter histories than the real one, and their intervals are still a little
  narrow. A failure is a reason to look, not proof. Power against a launch 25 days before the
  declared date: 87% ± 3.
* ``control_series`` (robustness): whether at least one control series tracks the outcome
  (coefficient two standard errors from zero). Without one the counterfactual rests on the
  outcome's own past alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.core.errors import SpecificationError
from causal_kit.core.estimate import Check
from causal_kit.design.its._data import Series
from causal_kit.design.its._model import Fit, ModelSpec, fit_model, predictive

ALPHA = 0.05


@dataclass(frozen=True)
class Placebos:
    """The placebo windows' results (a table) and the hold-out path of the last one."""

    table: pd.DataFrame
    holdout_error: np.ndarray | None
    holdout_cov: np.ndarray | None


def placebo_starts(
    series: Series, needed: int, n_placebos: int, dates: Sequence[Any] | None
) -> tuple[list[int], int]:
    """Index of each placebo launch and the window length.

    Automatic placebos tile the end of the pre-period with back-to-back windows as long as the
    real post-period (at most a quarter of the history), each leaving ``needed`` periods before it.
    """
    n_pre = series.n_pre
    if dates is not None:
        idx = sorted({_placebo_index(series, d, needed) for d in dates})
        gaps = [b - a for a, b in zip(idx, [*idx[1:], n_pre], strict=True)]
        return idx, min(series.n_post, *gaps) if gaps else 0
    room = n_pre - needed
    length = min(series.n_post, max(room // max(n_placebos, 1), 0), max(n_pre // 4, 1))
    if length < 1:
        return [], 0
    k = min(n_placebos, room // length)
    return [n_pre - (j + 1) * length for j in range(k)], length


def _placebo_index(series: Series, value: Any, needed: int) -> int:
    try:
        date = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(f"placebo_dates holds {value!r}, which is not a date.") from exc
    i = int(np.searchsorted(series.dates.to_numpy(), date.to_datetime64()))
    if not needed <= i < series.n_pre:
        first = series.dates[min(needed, len(series.dates) - 1)].date()
        raise SpecificationError(
            f"placebo date {date.date()} must fall inside the pre-period with {needed} periods "
            f"before it: between {first} and the day before the launch "
            f"({series.launch.date()}). Move or drop it."
        )
    return i


def run_placebos(
    series: Series, spec: ModelSpec, starts: list[int], length: int, *, n_param_draws: int,
    rng: np.random.Generator,
) -> Placebos:
    """Refit before each placebo date and measure the effect over the window after it."""
    rows = []
    holdout_error = holdout_cov = None
    for start in starts:
        fit = fit_model(series.y[:start], series.controls[:start], spec)
        stop = start + length
        mean, cov = predictive(fit, series.controls[start:stop], length,
                               n_param_draws=n_param_draws, rng=rng)
        error = series.y[start:stop] - mean
        effect = float(error.mean())
        se = float(np.sqrt(cov.sum())) / length
        p = float(2 * stats.norm.sf(abs(effect / se))) if se > 0 else float("nan")
        rows.append({"placebo_date": series.dates[start], "periods": length, "effect": effect,
                     "std_error": se, "p_value": p})
        if stop == series.n_pre:
            holdout_error, holdout_cov = error, cov
    table = pd.DataFrame(rows, columns=["placebo_date", "periods", "effect", "std_error",
                                        "p_value"])
    return Placebos(table, holdout_error, holdout_cov)


def placebo_check(placebos: Placebos, needed: int, unit: str) -> Check:
    """``placebo_in_time``: no placebo window shows an effect, Bonferroni-corrected."""
    table = placebos.table
    if table.empty:
        return Check(
            name="placebo_in_time", passed=False,
            message=(
                f"No placebo launch fits in the pre-period: each needs {needed} {unit}s of "
                "history before it. The forecast cannot be tested on periods without a launch; "
                "add earlier data."
            ),
        )
    k = len(table)
    p_adj = float(min(1.0, k * table["p_value"].min()))
    passed = bool(p_adj >= ALPHA)
    worst = table.iloc[int(np.argmin(table["p_value"].to_numpy()))]
    verdict = (
        "no placebo shows an effect, so the forecast held where nothing was launched"
        if passed else
        f"the placebo at {pd.Timestamp(worst['placebo_date']).date()} shows an 'effect' of "
        f"{worst['effect']:.4g} per {unit} where nothing was launched: the forecast is biased "
        "there (a break, an earlier change or dynamics the model misses), so the launch estimate "
        "may be too; look at the series around that date"
    )
    return Check(
        name="placebo_in_time", passed=passed, statistic=float(worst["effect"]), p_value=p_adj,
        message=(
            f"{k} placebo launch(es) in the pre-period, each refitted on the data before it and "
            f"forecast over {int(table['periods'].iloc[0])} {unit}s; smallest Bonferroni-"
            f"corrected p={p_adj:.3g}: {verdict}."
        ),
    )


def fit_check(placebos: Placebos, fit: Fit, unit: str) -> Check:
    """``pre_fit``: the hold-out path right before the launch against the forecast's covariance."""
    error, cov = placebos.holdout_error, placebos.holdout_cov
    if error is None or cov is None:
        return Check(
            name="pre_fit", passed=False,
            message=(
                "The pre-period is too short to hold out its last periods and test the "
                "forecast's accuracy; the fit is untested. Add earlier data."
            ),
        )
    stat = float(error @ np.linalg.solve(cov, error))
    df = len(error)
    p = float(stats.chi2.sf(stat, df))
    passed = bool(p >= ALPHA)
    rmse = float(np.sqrt(np.mean(error**2)))
    noise = float(np.sqrt(fit.params.get("sigma2.irregular", float("nan"))))
    claimed = float(np.sqrt(np.mean(np.diag(cov))))
    verdict = (
        "the forecast was as accurate as it claims" if passed else
        "the forecast errors are larger or more persistent than the model admits, so its "
        "intervals are too narrow; consider control series, another trend= or a longer history"
    )
    return Check(
        name="pre_fit", passed=passed, statistic=stat, p_value=p,
        message=(
            f"Hold-out forecast of the last {df} pre-launch {unit}s: error {rmse:.4g} (root mean "
            f"square) against {claimed:.4g} claimed and {noise:.4g} of one-{unit} noise; "
            f"chi2={stat:.3g} on {df} df, p={p:.3g}: {verdict}."
        ),
    )


def control_check(fit: Fit, names: tuple[str, ...]) -> Check:
    """``control_series``: whether a control series carries information about the outcome."""
    if not names:
        return Check(
            name="control_series", passed=False, kind="robustness",
            message=(
                "No control series: the counterfactual is the outcome's own pre-launch pattern "
                "projected forward, so anything else that changed at the launch date is "
                "attributed to the launch. Add a series the launch cannot touch (another "
                "product line, platform or market) with controls=."
            ),
        )
    coef, se = fit.coefficients()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, coef / se, 0.0)
    passed = bool(np.any(np.abs(z) >= 2))
    listed = ", ".join(f"{n} {c:.3g} (z={t:.2g})" for n, c, t in zip(names, coef, z, strict=True))
    verdict = (
        "the counterfactual also follows what the controls did after the launch; it holds if "
        "the launch did not touch them" if passed else
        "no control tracks the outcome, so the counterfactual rests on the outcome's own past "
        "alone; look for a better control series"
    )
    return Check(
        name="control_series", passed=passed, kind="robustness",
        statistic=float(np.max(np.abs(z))) if len(z) else None,
        message=f"Control coefficients at the launch: {listed}: {verdict}.",
    )
