"""Signup cohorts and their Dn retention, counted in the engine that holds the events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.options import Grain
from causal_kit.metrics.calendar import period_expr
from causal_kit.metrics.checks import require
from causal_kit.source import EventSource, align, as_date


def signups(source: EventSource, events: nw.LazyFrame[Any], users: Any,
            unit: str | None) -> nw.LazyFrame[Any]:  # fmt: skip
    """Return one row per user: ``user_id``, ``signup_date`` (and ``unit`` when given).

    From ``users`` when given (the unit taken from the events if ``users`` lacks it), else from a
    ``signup_date`` column of the events.

    Raises
    ------
    SpecificationError
        If there is no signup date anywhere.
    DataError
        If ``users`` lacks ``user_id``/``signup_date`` or repeats a user.
    """
    keep = ["user_id", "signup_date"]
    if users is not None:
        frame = align(users, source, what="users")
        require(frame, keep, "users")
        frame = as_date(frame, "signup_date", what="users")
        counts = frame.select(n=nw.len(), k=nw.col("user_id").n_unique()).collect().to_pandas()
        if int(counts["n"].iloc[0]) != int(counts["k"].iloc[0]):
            raise DataError("users repeats some user_id; pass one row per user.")
        if unit is None:
            return frame.select(keep)
        if unit in frame.collect_schema().names():
            return frame.select([*keep, unit])
        units = events.group_by("user_id").agg(nw.col(unit).min())
        return frame.select(keep).join(units, on="user_id", how="inner")
    if "signup_date" in events.collect_schema().names():
        frame = as_date(events, "signup_date", what="events")
        aggs = [nw.col("signup_date").min()] + ([nw.col(unit).min()] if unit else [])
        return frame.group_by("user_id").agg(*aggs)
    raise SpecificationError(
        "retention by signup cohort needs signup dates: pass users=<table with user_id and "
        "signup_date> (e.g. the simulator's users.parquet) or add a signup_date column to the "
        "events."
    )


def cohort_counts(
    source: EventSource,
    events: nw.LazyFrame[Any],
    users: Any,
    unit: str,
    grain: Grain,
    first: dt.date,
    last: dt.date,
    observed_through: dt.date,
    lags: Sequence[int],
) -> pd.DataFrame:
    """Return per ``unit × signup period``: ``signups`` and ``retained_d{n}`` for each lag.

    A user counts as retained at lag n when they have any event on ``signup_date + n`` days
    (activity observed up to ``observed_through``).
    """
    people = signups(source, events, users, unit)
    cohort = people.filter(
        nw.col("signup_date") >= first, nw.col("signup_date") <= last, ~nw.col(unit).is_null()
    ).with_columns(_period=period_expr("signup_date", grain))
    keys = [unit, "_period"]
    sizes = cohort.group_by(keys).agg(signups=nw.len()).collect().to_pandas()
    if not lags:
        return sizes
    active = (
        events.filter(nw.col("date") >= first, nw.col("date") <= observed_through)
        .select("user_id", "date")
        .unique()
    )
    targets = nw.concat(
        [
            cohort.select([*keys, "user_id", "signup_date"]).with_columns(
                _lag=nw.lit(lag, nw.Int64),
                _target=nw.col("signup_date").dt.offset_by(f"{lag}d").cast(nw.Date),
            )
            for lag in lags
        ],
        how="vertical",
    )
    hits = (
        targets.join(active, left_on=["user_id", "_target"], right_on=["user_id", "date"],
                     how="semi")
        .group_by([*keys, "_lag"])
        .agg(n=nw.len())
        .collect()
        .to_pandas()
    )
    for lag in lags:
        part = hits.loc[hits["_lag"] == lag, [*keys, "n"]].rename(columns={"n": f"retained_d{lag}"})
        sizes = sizes.merge(part, on=keys, how="left")
    return sizes
