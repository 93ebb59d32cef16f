"""``build_panel``: events → a long ``unit × period`` panel of named metrics plus ``treated``.

The aggregation runs in the engine that holds the events (DuckDB by default); only the
aggregated panel — one row per unit and period — is brought into pandas.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import pandas as pd

from causal_kit.core.errors import CausalKitWarning, DataError, SpecificationError
from causal_kit.core.launch import Launch
from causal_kit.core.options import Grain, check_option
from causal_kit.metrics.calendar import treated_flags, whole_periods, with_period
from causal_kit.metrics.checks import check_types, require
from causal_kit.metrics.cohorts import cohort_counts
from causal_kit.metrics.registry import COMPONENTS, Metric, resolve
from causal_kit.source import as_date, open_events, parse_day

DEFAULT_METRICS = ("active_users", "revenue", "revenue_per_active_user", "task_success_rate")


def build_panel(
    events: Any,
    unit: str = "region",
    time: Grain = "week",
    metrics: Sequence[str] | str = DEFAULT_METRICS,
    launch: Launch | None = None,
    start: Any = None,
    end: Any = None,
    users: Any = None,
) -> pd.DataFrame:
    """Aggregate events into a long ``unit × period`` panel of metrics, with a ``treated`` column.

    Parameters
    ----------
    events
        Events anywhere :func:`causal_kit.open_events` can open them: a parquet/CSV path, folder
        or glob, a DuckDB database (with ``table=`` via ``open_events``), a DuckDB relation, a
        pandas / polars / pyarrow frame, or a Spark DataFrame. Never modified, never read into
        pandas.
    unit
        The column that holds the units (e.g. ``"region"``).
    time
        Period grain: ``"day"``, ``"week"`` (ISO, Monday to Sunday) or ``"month"``.
    metrics
        Metric names (see :func:`causal_kit.list_metrics`).
    launch
        The launch; adds ``treated``: 1 for a launched unit in every period whose first day is on
        or after its launch date (a launch mid-period treats the unit from the next period on),
        else 0. Units in ``launch.start`` must exist in the events.
    start, end
        Keep only events on these dates (inclusive); default: all.
    users
        One row per user with ``user_id`` and ``signup_date`` (and optionally the unit column),
        needed for retention metrics unless the events carry ``signup_date``. Same kinds of input
        as ``events``.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit``, ``time`` (first day of the period, ``datetime64``), one column per
        metric, and ``treated`` (with a launch); sorted by unit and period; every unit appears in
        every period. ``attrs`` records the source, the periods and anything dropped.

    Notes
    -----
    * Only whole periods inside the observed dates (and ``start``/``end``) are kept.
    * Retention (``dN_retention``): the cohort of a ``unit × period`` is the users who signed up
      in it; Dn retention is the share of them with any event exactly n days after signup.
      Periods whose cohorts cannot yet be observed for n days (period end + n after the last
      date) are dropped for every unit, with a :class:`~causal_kit.CausalKitWarning`. A cohort
      that signed up less than n days before its unit's launch is partly exposed by day n yet
      coded untreated (its period starts before the launch): treat those periods as
      anticipation, or leave them out, when estimating effects on Dn retention.
    * A ratio whose denominator is zero (e.g. revenue per active user with no active user) is
      NaN, and a :class:`~causal_kit.CausalKitWarning` names the cells.

    Raises
    ------
    SpecificationError
        Unknown metric or grain, a launch on another unit column, bad ``start``/``end``, or
        retention without signup dates.
    DataError
        Missing columns (the available ones are listed), wrong column types, no events, events
        without a unit, unparseable dates, or launch units absent from the data.
    """
    grain: Grain = check_option("time", time, Grain)
    specs = resolve(metrics)
    if not isinstance(unit, str) or not unit:
        raise SpecificationError(f"unit={unit!r} must be the name of a column, e.g. 'region'.")
    if launch is not None:
        if not isinstance(launch, Launch):
            raise SpecificationError(f"launch must be a ck.Launch; got {type(launch).__name__}.")
        if launch.unit != unit:
            raise SpecificationError(
                f"launch {launch.name!r} is defined on unit column {launch.unit!r}, but the panel "
                f"is built on unit={unit!r}; use unit={launch.unit!r}."
            )
    src = open_events(events)
    event_specs = [m for m in specs if m.cohort_lag is None]
    cohort_specs = [m for m in specs if m.cohort_lag is not None]
    needed = ["user_id", unit, *(c for m in event_specs for c in m.needs)]
    frame = src.frame
    require(frame, needed, "events")
    check_types(frame, needed, "events")
    frame = as_date(frame, "date", what="events", fallback="ts")

    comps = list(dict.fromkeys(c for m in event_specs for c in m.components))
    agg = _aggregate(frame, unit, grain, comps)  # the one pass over the events
    lo_day, hi_day = (agg["_lo"].min(), agg["_hi"].max()) if len(agg) else (pd.NaT, pd.NaT)
    if pd.isna(lo_day) or pd.isna(hi_day):
        raise DataError(f"events are empty ({src.description}); there is nothing to aggregate.")
    lo, hi = lo_day.date(), hi_day.date()
    if end is None:
        hi = _drop_future_strays(agg, hi)
    lo, hi = _clip(lo, hi, parse_day(start, "start"), parse_day(end, "end"))
    periods = whole_periods(lo, hi, grain)
    if periods.empty:
        raise DataError(
            f"no whole {grain} between {lo} and {hi} (the dates the events cover); "
            "widen start/end or use a finer time grain."
        )
    first, last = periods["start"].iloc[0], periods["end"].iloc[-1]
    starts = pd.to_datetime(periods["start"]).astype("datetime64[ns]")
    # whole periods inside [first, last] hold exactly the events between those dates
    agg = agg.loc[agg["_period"].isin(starts)]
    if agg.empty:
        raise DataError(f"events have no rows between {first} and {last}.")
    if agg[unit].isna().any():
        n_bad = int(agg.loc[agg[unit].isna(), "_rows"].sum())
        raise DataError(
            f"{n_bad} events have no {unit!r}; fill the column or filter those rows out first."
        )
    units = _sorted_units(agg[unit])
    if launch is not None:
        _check_launch_units(launch, units, unit)

    grid = pd.MultiIndex.from_product([units, starts], names=[unit, "_period"])
    table = agg.drop(columns=["_lo", "_hi"]).set_index([unit, "_period"]).reindex(grid)
    for c in comps:
        table[c] = table[c].astype(float).fillna(COMPONENTS[c].empty)
    if cohort_specs:
        lags = sorted({m.cohort_lag for m in cohort_specs if m.cohort_lag})
        counts = cohort_counts(src, frame, users, unit, grain, first, last, hi, lags)
        counts["_period"] = pd.to_datetime(counts["_period"]).astype("datetime64[ns]")
        counts = counts.set_index([unit, "_period"]).reindex(grid)
        for col in counts.columns:
            table[col] = counts[col].astype(float).fillna(0.0)
    table = table.reset_index()

    out = pd.DataFrame({unit: table[unit].to_numpy(), time: table["_period"].to_numpy()})
    out[unit] = pd.Series(list(table[unit]), dtype=agg[unit].dtype)
    for m in specs:
        out[m.name] = m.formula(table).to_numpy(dtype=float)
    dropped = _drop_unobservable(out, periods, cohort_specs, hi, time)
    out = out[~out[time].isin(dropped)].reset_index(drop=True) if dropped else out
    if launch is not None:
        out["treated"] = treated_flags(out[unit], out[time], launch.start)
    undefined = _flag_undefined(out, specs, unit, time)
    out.attrs = {
        "source": src.description,
        "unit": unit,
        "time": time,
        "metrics": [m.name for m in specs],
        "first_day": str(first),
        "last_day": str(_last_kept(periods, dropped)),
        "observed_through": str(hi),
        "dropped_periods": [str(pd.Timestamp(d).date()) for d in dropped],
        "launch": launch.name if launch is not None else None,
        "treated_rule": "1 from the first period whose first day is on or after the launch date",
        "undefined_cells": undefined,
    }
    return out


def _drop_future_strays(agg: pd.DataFrame, hi: dt.date) -> dt.date:
    """Return the last date to keep: the last event up to today, when a few are dated later.

    A handful of events dated after today (a clock bug, a typo'd year) would otherwise stretch
    the panel with empty periods that read as zeros. When under 1% of events are in the
    future they are left out with a warning; when more are (simulated or re-dated data), the
    dates are taken as they are. Read from the one aggregate: a period whose first event is
    after today holds only future events.
    """
    today = dt.date.today()
    if hi <= today:
        return hi
    ahead_rows = agg["_lo"].dt.date > today
    n, ahead = int(agg["_rows"].sum()), int(agg.loc[ahead_rows, "_rows"].sum())
    if ahead == 0 or ahead >= 0.01 * n or ahead_rows.all():
        return hi
    kept = min(agg.loc[~ahead_rows, "_hi"].max().date(), today)
    warnings.warn(
        f"{ahead} of {n} events are dated after today ({today}), the latest on {hi}; they are "
        "left out so they do not stretch the panel with empty periods. Fix their dates, or pass "
        "end= to choose the last day yourself.",
        CausalKitWarning, stacklevel=3,
    )
    return kept


def _aggregate(frame: nw.LazyFrame[Any], unit: str, grain: Grain,
               comps: Sequence[str]) -> pd.DataFrame:  # fmt: skip
    """Return every ``unit × period`` of the events: row count, first and last day, components.

    One query, one pass over the events: the dates the events cover come out of the same
    aggregate (the smallest first day and the largest last day), so no separate scan is needed
    to find them, and no date filter either — the panel keeps whole periods only, and a whole
    period's events are all inside the kept dates.
    """
    agg = (
        with_period(frame, "date", grain)
        .group_by(unit, "_period")
        .agg(
            _rows=nw.len(),
            _lo=nw.col("date").min(),
            _hi=nw.col("date").max(),
            **{c: COMPONENTS[c].expr() for c in comps},
        )
        .collect()
        .to_pandas()
    )
    for c in ("_period", "_lo", "_hi"):
        agg[c] = pd.to_datetime(agg[c]).astype("datetime64[ns]")
    return agg


def _clip(lo: dt.date, hi: dt.date, start: dt.date | None,
          end: dt.date | None) -> tuple[dt.date, dt.date]:  # fmt: skip
    if start is not None and end is not None and start > end:
        raise SpecificationError(f"start={start} is after end={end}.")
    lo2 = max(lo, start) if start is not None else lo
    hi2 = min(hi, end) if end is not None else hi
    if lo2 > hi2:
        raise DataError(f"the events cover {lo} to {hi}, nothing between start and end.")
    return lo2, hi2


def _last_kept(periods: pd.DataFrame, dropped: list[Any]) -> dt.date:
    starts = pd.to_datetime(periods["start"])
    kept = periods.loc[~starts.isin(pd.to_datetime(pd.Series(dropped, dtype="datetime64[ns]")))]
    return kept["end"].iloc[-1]


def _sorted_units(values: pd.Series) -> list[Any]:
    uniq = list(pd.unique(values))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def _check_launch_units(launch: Launch, units: list[Any], unit: str) -> None:
    present = set(units)
    missing = [u for u in launch.start if u not in present]
    if missing:
        shown = ", ".join(repr(u) for u in units[:12]) + (" ..." if len(units) > 12 else "")
        raise DataError(
            f"launch {launch.name!r} names {unit} {', '.join(map(repr, missing))} with no events "
            f"in the panel's dates. {unit} values in the data: {shown}. Fix the launch's units "
            "or the data."
        )


def _drop_unobservable(out: pd.DataFrame, periods: pd.DataFrame, cohort_specs: list[Metric],
                       hi: dt.date, time: str) -> list[Any]:  # fmt: skip
    lags = [m.cohort_lag for m in cohort_specs if m.cohort_lag]
    if not lags:
        return []
    lag = max(lags)
    ends = pd.to_datetime(periods["end"])
    late = ends + pd.Timedelta(days=lag) > pd.Timestamp(hi)
    dropped = list(pd.to_datetime(periods.loc[late, "start"]).astype("datetime64[ns]"))
    if dropped:
        warnings.warn(
            f"d{lag}_retention: the signup cohorts of the last {len(dropped)} period(s) "
            f"(from {pd.Timestamp(dropped[0]).date()}) cannot be observed for {lag} days before "
            f"the data end ({hi}); those periods are dropped from the panel for every unit.",
            CausalKitWarning,
            stacklevel=3,
        )
    if len(dropped) == len(periods):
        raise DataError(
            f"no period's signup cohort can be observed for {lag} days before the data end "
            f"({hi}); use a shorter retention or more data."
        )
    return dropped


def _flag_undefined(out: pd.DataFrame, specs: list[Metric], unit: str,
                    time: str) -> dict[str, int]:  # fmt: skip
    bad = {m.name: int(out[m.name].isna().sum()) for m in specs if out[m.name].isna().any()}
    if not bad:
        return bad
    first = {}
    for name in bad:
        row = out.loc[out[name].isna()].iloc[0]
        first[name] = f"{row[unit]} / {pd.Timestamp(row[time]).date()}"
    detail = "; ".join(f"{n}: {k} cell(s), e.g. {first[n]}" for n, k in bad.items())
    warnings.warn(
        f"undefined values (zero denominator) left as NaN — {detail}. Use a coarser grain or "
        "drop these units before estimating.",
        CausalKitWarning,
        stacklevel=3,
    )
    return bad
