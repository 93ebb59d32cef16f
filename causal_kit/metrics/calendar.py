"""Periods of a panel: days, ISO weeks (Monday to Sunday) or calendar months.

The same rule everywhere: a period is named by its first day. The panel keeps only *whole*
periods inside the observed dates (a week the data cover from Wednesday is dropped), and a unit
is treated in a period when its launch date is on or before the period's first day. A launch on a
Wednesday therefore treats the unit from that day (day grain), from the following Monday (week
grain) and from the first of the next month (month grain); the partly exposed period before is
coded untreated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from causal_kit.core.options import Grain


def period_expr(column: str, grain: Grain) -> nw.Expr:
    """Return the first day of the period holding ``column`` (a ``Date``), in the engine."""
    col = nw.col(column)
    if grain == "day":
        return col
    if grain == "month":
        return col.dt.truncate("1mo").cast(nw.Date)
    # days since Monday, 0..6. Engines disagree on Sunday: DuckDB and polars number the week
    # 1 = Monday ... 7 = Sunday, narwhals on Spark 0 = Sunday, 1 = Monday ... 6 = Saturday;
    # (weekday + 6) % 7 is right for both (a Sunday read as 0 would otherwise match no branch
    # and its events would silently fall out of the panel).
    since_monday = (col.dt.weekday() + 6) % 7
    expr = nw.when(since_monday == 0).then(col)
    for k in range(1, 7):
        expr = expr.when(since_monday == k).then(col.dt.offset_by(f"-{k}d"))
    return expr.cast(nw.Date)


def with_period(frame: nw.LazyFrame[Any], column: str, grain: Grain,
                name: str = "_period") -> nw.LazyFrame[Any]:  # fmt: skip
    """Return ``frame`` with ``name``: the first day of the period holding ``column`` (a ``Date``).

    Weeks use the engine's own truncation to Monday where it has one (DuckDB and Spark
    ``date_trunc('week', ...)``, polars ``dt.truncate("1w")``): one cheap function per row,
    where the portable :func:`period_expr` needs a seven-way branch. Other engines, and days and
    months, use :func:`period_expr`.
    """
    if grain == "week":
        native = nw.to_native(frame)
        impl = frame.implementation
        if impl is nw.Implementation.DUCKDB:
            col = '"' + column.replace('"', '""') + '"'
            alias = '"' + name.replace('"', '""') + '"'
            projected = native.project(f"*, CAST(date_trunc('week', {col}) AS DATE) AS {alias}")
            return nw.from_native(projected).lazy()
        if impl.is_pyspark() or impl.is_pyspark_connect():
            from pyspark.sql import functions as sf

            truncated = sf.to_date(sf.date_trunc("week", sf.col(column)))
            return nw.from_native(native.withColumn(name, truncated)).lazy()
        if impl is nw.Implementation.POLARS:
            import polars as pl

            expr = pl.col(column).dt.truncate("1w").cast(pl.Date).alias(name)
            return nw.from_native(native.with_columns(expr)).lazy()
    return frame.with_columns(period_expr(column, grain).alias(name))


def period_start(day: dt.date, grain: Grain) -> dt.date:
    """Return the first day of the period holding ``day``."""
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def next_start(first: dt.date, grain: Grain) -> dt.date:
    """Return the first day of the period after the one starting on ``first``."""
    if grain == "week":
        return first + dt.timedelta(days=7)
    if grain == "month":
        return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first + dt.timedelta(days=1)


def whole_periods(lo: dt.date, hi: dt.date, grain: Grain) -> pd.DataFrame:
    """Return the whole periods inside ``[lo, hi]``: columns ``start`` and ``end`` (dates)."""
    first = period_start(lo, grain)
    if first < lo:
        first = next_start(first, grain)
    rows = []
    while True:
        nxt = next_start(first, grain)
        end = nxt - dt.timedelta(days=1)
        if end > hi:
            break
        rows.append((first, end))
        first = nxt
    return pd.DataFrame(rows, columns=["start", "end"])


def treated_flags(
    units: pd.Series, starts: pd.Series, launch_start: Mapping[Any, dt.date]
) -> np.ndarray:
    """Return 1 where the unit's launch date is on or before the period's first day, else 0."""
    launch = units.map(lambda u: launch_start.get(u, pd.NaT))
    launch_ts = pd.to_datetime(launch)
    return (launch_ts.notna() & (pd.to_datetime(starts) >= launch_ts)).to_numpy().astype(np.int64)
