"""The two launch shapes without regions to compare: a randomized holdout and a launch to everyone.

* **Holdout** — users were drawn into arms. The headline is :func:`causal_kit.experiment` on
  per-user outcomes over the 30 days from the holdout's first day (the users active in the 28
  days before it), with CUPED on their pre-period revenue and active days, and the ``srm`` check
  against the launch's planned split. Money: users exposed × the per-user effect, per 30 days.
  When the launch was also rolled out by region at different dates, difference-in-differences
  on the regions joins the triangulation (on region-week revenue: shown, not compared).
* **Global** — everyone got it on one date. The headline is :func:`causal_kit.its` on the
  launched product's daily series, with the same metric of every untouched series
  (``launch.controls``) as control series; RD in time on the same series triangulates. Money:
  the effect per day × 365. Every such report carries the forecast-only warning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.estimate import Estimate
from causal_kit.core.launch import Launch
from causal_kit.core.options import TriangulationDesign
from causal_kit.design.experiment import experiment
from causal_kit.design.its import its
from causal_kit.evidence.segments import Segments, by_segment
from causal_kit.evidence.triangulate import Triangulation, triangulate
from causal_kit.metrics import build_panel, user_outcomes

WINDOW_DAYS = 30
EARLY_WINDOW_DAYS = 14  # the window of a holdout read before its 30 days are in


def holdout_cascade(window: int = WINDOW_DAYS) -> dict[str, str]:
    """Return the per-user cascade metrics of a holdout over a ``window``-day window."""
    return {"task": f"task_success_rate_{window}d", "engagement": f"retained_d{window}",
            "business": f"revenue_{window}d"}


HOLDOUT_CASCADE = holdout_cascade()
GLOBAL_CASCADE = {"model": "latency_ms", "task": "task_success_rate",
                  "engagement": "active_users", "business": "revenue"}
CUPED_COVARIATES = ("pre_revenue", "pre_active_days")
ALL_DESIGNS: tuple[TriangulationDesign, ...] = ("experiment", "did", "sc", "rdd", "its")
EVERYONE = "_everyone"

#: ``(outcome, chain, chain estimates, guardrails, triangulation, segments, window, exposed,
#: periods per year, grain)`` handed back to :func:`causal_kit.analysis.launch._finish`.
Parts = tuple[Estimate, dict[str, str], dict[str, Estimate], dict[str, Estimate], Triangulation,
              Segments | None, tuple[dt.date, dt.date], int, float, str]


def holdout_window(launch: Launch, last: dt.date | None) -> int:
    """Return the per-user window of a holdout: 30 days once the data cover them, else 14.

    ``last`` is the last day of the events. A holdout read within its first month (an early
    read) is measured over its first 14 days; fewer than 14 days of data after the launch is an
    error that says when to come back.
    """
    day = launch.date or launch.first_start
    if day is None or last is None:
        return WINDOW_DAYS
    seen = (last - day).days + 1
    if seen >= WINDOW_DAYS:
        return WINDOW_DAYS
    if seen >= EARLY_WINDOW_DAYS:
        return EARLY_WINDOW_DAYS
    ready = day + dt.timedelta(days=EARLY_WINDOW_DAYS - 1)
    raise DataError(
        f"launch {launch.name!r} began on {day} and the events end on {last}: {max(seen, 0)} "
        f"day(s) of a holdout are too few to read; rerun with events through {ready} (14 days)."
    )


def holdout_frame(source: Any, launch: Launch, users: Any,
                  window: int = WINDOW_DAYS) -> pd.DataFrame:
    """Return a holdout's per-user outcomes over its ``window`` days, with the arm column."""
    column = str(dict(launch.arms or {})["column"])
    day = launch.date or launch.first_start
    if users is None:
        raise SpecificationError(
            f"launch {launch.name!r} is a randomized holdout: pass users= with one row per user "
            f"and the arm column {column!r}."
        )
    frame = user_outcomes(source, launch=launch, users=users, date=day, window_days=window,
                          outcomes=("revenue", "retained", "tasks", "task_success_rate",
                                    "sessions", "active_days"))
    if column not in frame.columns:
        raise DataError(
            f"launch {launch.name!r} names the arm column {column!r}, which the users table "
            f"lacks; its columns: {', '.join(map(str, frame.columns))}."
        )
    return frame


def holdout_parts(source: Any, launch: Launch, outcome: str, users: Any, time: str,
                  cascade_metrics: Mapping[str, str] | None, segment: str | None,
                  exposed: int | None, level: float, seed: int, panel: pd.DataFrame | None,
                  sc_options: Mapping[str, str], frame: pd.DataFrame | None = None,
                  window: int = WINDOW_DAYS) -> Parts:
    """Analyse a randomized holdout (see the module docstring).

    ``panel`` is the region-week panel when the holdout was also rolled out by region at
    several dates (``None`` otherwise); ``sc_options`` the synthetic-control variant for it;
    ``frame`` the per-user outcomes of :func:`holdout_frame` (built when omitted) over
    ``window`` days.
    """
    arms = dict(launch.arms or {})
    column = str(arms["column"])
    day = launch.date or launch.first_start
    if frame is None:
        frame = holdout_frame(source, launch, users, window)
    covs = [c for c in CUPED_COVARIATES if c in frame.columns and frame[c].std() > 0]

    def run(metric: str, data: pd.DataFrame = frame) -> Estimate:
        return experiment(data.dropna(subset=[metric]), outcome=metric, arm=column,
                          treatment=arms["treatment"], control=arms["control"],
                          covariates=covs or None, expected_split=arms.get("split"),
                          user="user_id", level=level)

    chain = dict(cascade_metrics or holdout_cascade(window))
    chain["business"] = chain.get("business", outcome)
    primary = run(outcome)
    chain_est = {m: (primary if m == outcome else run(m)) for m in chain.values()}
    tri = triangulate(panel, outcome="revenue", unit=launch.unit, time=time, treatment="treated",
                      users=frame, rdd_outcome=outcome, launch=launch, designs=ALL_DESIGNS,
                      estimates={"experiment": primary}, level=level, seed=seed,
                      options={"sc": dict(sc_options)})
    segs = None
    if segment and segment in frame.columns:
        segs = _segments({str(s): g for s, g in frame.groupby(segment)}, outcome, run, primary)
    assert day is not None
    span = (day, day + dt.timedelta(days=window - 1))
    treated = frame[column].astype(str) == str(arms["treatment"])
    n_exposed = exposed if exposed is not None else int(treated.sum())
    return (primary, chain, chain_est, {}, tri, segs, span, n_exposed, 365.0 / window,
            f"user over {window} days")


def global_parts(source: Any, launch: Launch, outcome: str,
                 cascade_metrics: Mapping[str, str] | None, guardrail_metrics: Sequence[str],
                 segment: str | None, exposed: int | None, level: float, seed: int) -> Parts:
    """Analyse a launch to everyone on one date (see the module docstring)."""
    chain = dict(cascade_metrics or GLOBAL_CASCADE)
    chain["business"] = chain.get("business", outcome)
    metrics = list(dict.fromkeys([outcome, *chain.values(), *guardrail_metrics]))
    series, controls = daily_series(source.frame, launch, metrics)

    def run(metric: str, data: pd.DataFrame = series, checks: bool = False) -> Estimate:
        return its(data, outcome=metric, time="day", launch_date=launch.date,
                   controls=[f"{metric}_{c}" for c in controls], checks=checks, level=level,
                   seed=seed)

    primary = run(outcome, checks=True)
    chain_est = {m: (primary if m == outcome else run(m)) for m in chain.values()}
    guards = {m: chain_est.get(m) or run(m) for m in guardrail_metrics}
    tri = triangulate(None, outcome=outcome, launch=launch, designs=ALL_DESIGNS,
                      series=series, series_time="day", estimates={"its": primary},
                      level=level, seed=seed)
    segs = None
    if segment and segment in source.columns:
        segs = _segments(segment_series(source.frame, launch, outcome, segment), outcome, run,
                         primary)
    days = pd.to_datetime(series["day"])
    window = (days.min().date(), days.max().date())
    return (primary, chain, chain_est, guards, tri, segs, window,
            exposed if exposed is not None else 1, 365.0, "day")


def daily_series(frame: Any, launch: Launch, metrics: Sequence[str]) -> tuple[pd.DataFrame,
                                                                              list[str]]:
    """Return the launched product's daily metrics and those of each untouched series.

    Columns: ``day``, each metric (the launched series) and ``<metric>_<untouched>`` for every
    untouched value of ``launch.controls["column"]``. Without ``controls`` every event counts
    and there is no control series.
    """
    spec = dict(launch.controls or {})
    column = str(spec.get("column", EVERYONE))
    if not spec:
        frame = frame.with_columns(nw.lit("all").alias(EVERYONE))
    panel = build_panel(frame, unit=column, time="day", metrics=list(metrics))
    return _wide(panel, column, launch, metrics)


def segment_series(frame: Any, launch: Launch, outcome: str,
                   segment: str) -> dict[str, pd.DataFrame]:
    """Return :func:`daily_series` of ``outcome`` for every segment, from one aggregation."""
    spec = dict(launch.controls or {})
    column = str(spec.get("column", EVERYONE))
    if not spec:
        frame = frame.with_columns(nw.lit("all").alias(EVERYONE))
    cell = nw.concat_str([nw.col(segment).cast(nw.String), nw.col(column).cast(nw.String)],
                         separator="|")
    panel = build_panel(frame.with_columns(cell.alias("_cell")), unit="_cell", time="day",
                        metrics=[outcome])
    parts = panel["_cell"].astype(str).str.split("|", n=1, expand=True)
    out = {}
    for value in sorted(parts[0].unique()):
        rows = (parts[0] == value).to_numpy()
        sub = panel.loc[rows].assign(**{column: parts.loc[rows, 1].to_numpy()})
        out[value] = _wide(sub, column, launch, [outcome])[0]
    return out


def _wide(panel: pd.DataFrame, column: str, launch: Launch,
          metrics: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    spec = dict(launch.controls or {})
    launched = str(spec.get("launched", "all"))
    untouched = [str(u) for u in spec.get("untouched", [])]
    present = set(panel[column].astype(str))
    missing = [v for v in (launched, *untouched) if v not in present]
    if missing:
        raise DataError(
            f"launch {launch.name!r}: no events with {column}={missing[0]!r}; the column holds "
            f"{sorted(present)}. Fix launch.controls."
        )
    wide = panel.pivot(index="day", columns=column, values=list(metrics))
    out = pd.DataFrame({"day": pd.to_datetime(wide.index)})
    for m in metrics:
        out[m] = wide[(m, launched)].to_numpy(dtype=float)
        for u in untouched:
            out[f"{m}_{u}"] = wide[(m, u)].to_numpy(dtype=float)
    out = out.dropna().reset_index(drop=True)
    if not np.isfinite(out.drop(columns="day").to_numpy()).all():  # pragma: no cover
        raise DataError(f"launch {launch.name!r}: the daily series has non-finite values.")
    return out, untouched


def _segments(parts: Mapping[str, pd.DataFrame], outcome: str, run: Callable[..., Estimate],
              primary: Estimate) -> Segments:
    totals = {k: float(v[outcome].sum()) for k, v in parts.items()}
    whole = sum(totals.values()) or 1.0
    return by_segment({k: run(outcome, v) for k, v in parts.items()},
                      revenue_share={k: t / whole for k, t in totals.items()}, overall=primary)
