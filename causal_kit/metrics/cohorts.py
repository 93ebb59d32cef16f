"""Signup cohorts and their Dn retention, counted in the engine that holds the events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.options import Grain
from causal_kit.metrics.calendar import with_period
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
        frame = _users_table(source, users)
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
    (activity observed up to ``observed_through``, the last day of the events: a day past it
    has no event, so a cohort too young to be observed shows no retention and the caller drops
    its period). With a ``users`` table, cohort sizes and retention come from one query that
    reads the events once: the events of the cohort's users, grouped by user, say on which lags
    the user was active (and, when ``users`` has no unit column, the user's unit).
    """
    keys = [unit, "_period"]
    if users is None:
        return _counts_from_events(source, events, unit, grain, first, last, lags)
    people = _users_table(source, users)
    has_unit = unit in people.collect_schema().names()
    cohort = people.filter(nw.col("signup_date") >= first, nw.col("signup_date") <= last)
    cohort = cohort.select(["user_id", "signup_date", *([unit] if has_unit else [])])
    per_user: dict[str, nw.Expr] = {
        f"_hit{lag}": (nw.col("date") == nw.col("signup_date").dt.offset_by(f"{lag}d")
                       .cast(nw.Date)).cast(nw.Int64).max()
        for lag in lags
    }  # fmt: skip
    if not has_unit:
        per_user["_unit"] = nw.col(unit).min()
    if per_user:
        seen = (events.select(["user_id", "date", *([] if has_unit else [unit])])
                .join(cohort.select("user_id", "signup_date"), on="user_id", how="inner")
                .group_by("user_id").agg(**per_user))  # fmt: skip
        # without a unit column a user needs an event to get a unit
        cohort = cohort.join(seen, on="user_id", how="left" if has_unit else "inner")
        if not has_unit:
            cohort = cohort.rename({"_unit": unit})
    counts = (
        with_period(cohort.filter(~nw.col(unit).is_null()), "signup_date", grain)
        .group_by(keys)
        .agg(signups=nw.len(), **{f"retained_d{lag}": nw.col(f"_hit{lag}").sum() for lag in lags})
        .collect()
        .to_pandas()
    )
    return counts


def _users_table(source: EventSource, users: Any) -> nw.LazyFrame[Any]:
    """Return the users table in the events' engine, checked: one row per user, a signup date."""
    keep = ["user_id", "signup_date"]
    frame = align(users, source, what="users")
    require(frame, keep, "users")
    frame = as_date(frame, "signup_date", what="users")
    counts = frame.select(n=nw.len(), k=nw.col("user_id").n_unique()).collect().to_pandas()
    if int(counts["n"].iloc[0]) != int(counts["k"].iloc[0]):
        raise DataError("users repeats some user_id; pass one row per user.")
    return frame


def _counts_from_events(source: EventSource, events: nw.LazyFrame[Any], unit: str,
                        grain: Grain, first: dt.date, last: dt.date,
                        lags: Sequence[int]) -> pd.DataFrame:  # fmt: skip
    """Cohorts when the events carry ``signup_date`` (no users table)."""
    people = signups(source, events, None, unit)
    cohort = with_period(people.filter(
        nw.col("signup_date") >= first, nw.col("signup_date") <= last, ~nw.col(unit).is_null()
    ), "signup_date", grain)
    keys = [unit, "_period"]
    sizes = cohort.group_by(keys).agg(signups=nw.len()).collect().to_pandas()
    if not lags:
        return sizes
    active = events.filter(nw.col("date") >= first).select("user_id", "date").unique()
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
