"""``user_outcomes``: one row per user with outcomes in a window after a launch (for RD)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.launch import Launch
from causal_kit.metrics.checks import check_types, require
from causal_kit.source import EventSource, align, as_date, date_bounds, open_events, parse_day

#: User-level outcomes: name -> (event columns needed, description).
USER_OUTCOMES: dict[str, tuple[tuple[str, ...], str]] = {
    "revenue": (("revenue",), "revenue in the window (USD)"),
    "purchases": (("event",), "purchase rows in the window"),
    "sessions": (("event",), "session rows in the window"),
    "tasks": (("event",), "task attempts in the window"),
    "task_success_rate": (("event", "task_success"),
                          "successful / attempted tasks in the window (NaN without a task)"),
    "active_days": ((), "days with any event in the window"),
    "retained": ((), "1 if the user has any event in the window's last 7 days, else 0"),
}  # fmt: skip
DEFAULT_OUTCOMES = ("revenue", "retained", "tasks", "task_success_rate")


def outcome_column(name: str, window_days: int) -> str:
    """Return the output column of outcome ``name`` (``revenue_30d``, ``retained_d30``...)."""
    return f"retained_d{window_days}" if name == "retained" else f"{name}_{window_days}d"


def user_outcomes(
    events: Any,
    *,
    launch: Launch,
    outcomes: Sequence[str] | str = DEFAULT_OUTCOMES,
    window_days: int = 30,
    users: Any = None,
    date: Any = None,
    lookback_days: int | None = 28,
) -> pd.DataFrame:
    """Return one row per user: attributes, treatment by the launch's gate, and outcomes after it.

    Parameters
    ----------
    events
        Events, as for :func:`causal_kit.build_panel`.
    launch
        The launch; its date is ``date`` or its (single) start date. With a ``gate`` such as
        ``{"column": "score", "cutoff": 0.7}``, ``treated`` is 1 when the user's gate column is
        at or above the cutoff.
    outcomes
        Any of ``revenue``, ``purchases``, ``sessions``, ``tasks``, ``task_success_rate``,
        ``active_days``, ``retained``; columns are named ``<outcome>_<window>d`` except
        ``retained_d<window>`` (any event in the window's last 7 days).
    window_days
        Outcomes count events on ``[date, date + window_days)``; the data must cover the window.
    users
        One row per user with ``user_id`` and attributes (e.g. ``score``, ``region``,
        ``signup_date``); every attribute is carried into the result. Without it, users and the
        launch's unit and gate columns come from the events.
    date
        Launch date; default the launch's start date.
    lookback_days
        Keep users with an event in the ``lookback_days`` before the launch (the users the launch
        could reach), and add ``pre_revenue`` and ``pre_active_days`` over that span for balance
        checks. ``None`` keeps every user who signed up before the launch.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``user_id``; counts and sums are 0 for a user without events in the window.

    Raises
    ------
    SpecificationError
        Unknown outcome, no single launch date, or a bad window.
    DataError
        Missing columns (listed with the available ones), empty events, a window the data do not
        cover, or a gate column that does not exist.
    """
    names = [outcomes] if isinstance(outcomes, str) else list(dict.fromkeys(outcomes))
    unknown = [n for n in names if n not in USER_OUTCOMES]
    if unknown or not names:
        raise SpecificationError(
            f"unknown outcome(s) {unknown or names}; valid: {', '.join(USER_OUTCOMES)}."
        )
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 7:
        raise SpecificationError(f"window_days={window_days!r} must be an integer >= 7.")
    if not isinstance(launch, Launch):
        raise SpecificationError(f"launch must be a ck.Launch; got {type(launch).__name__}.")
    t0 = _launch_date(launch, date)
    src = open_events(events)
    needed = ["user_id", *(c for n in names for c in USER_OUTCOMES[n][0])]
    if lookback_days is not None:
        needed.append("revenue")
    require(src.frame, needed, "events")
    check_types(src.frame, needed, "events")
    frame = as_date(src.frame, "date", what="events", fallback="ts")
    lo, hi = date_bounds(frame, "date")
    if lo is None or hi is None:
        raise DataError(f"events are empty ({src.description}).")
    t1 = t0 + dt.timedelta(days=window_days)
    if t1 - dt.timedelta(days=1) > hi or t0 < lo:
        raise DataError(
            f"the {window_days}-day window from {t0} needs events through "
            f"{t1 - dt.timedelta(days=1)}; the events cover {lo} to {hi}."
        )

    people = _population(src, frame, users, launch, t0, lookback_days)
    inside = frame.filter(nw.col("date") >= t0, nw.col("date") < t1)
    aggs = _outcome_exprs(names, t1)
    per_user = inside.group_by("user_id").agg(**aggs)
    table = people.join(per_user, on="user_id", how="left")
    if lookback_days is not None:
        before = frame.filter(nw.col("date") >= t0 - dt.timedelta(days=lookback_days),
                              nw.col("date") < t0)  # fmt: skip
        pre = before.group_by("user_id").agg(
            pre_revenue=nw.col("revenue").sum(), pre_active_days=nw.col("date").n_unique()
        )
        table = table.join(pre, on="user_id", how="left")
    out = table.collect().to_pandas()
    return _finish(out, names, window_days, launch, lookback_days)


def _launch_date(launch: Launch, date: Any) -> dt.date:
    day = parse_day(date, "date")
    if day is not None:
        return day
    dates = set(launch.start.values())
    if len(dates) != 1:
        raise SpecificationError(
            f"launch {launch.name!r} has {len(dates)} start dates; pass date='YYYY-MM-DD' to say "
            "which one the user-level window starts from."
        )
    return dates.pop()


def _population(src: EventSource, frame: nw.LazyFrame[Any], users: Any, launch: Launch,
                t0: dt.date, lookback_days: int | None) -> nw.LazyFrame[Any]:  # fmt: skip
    wanted = [launch.unit] + ([str(launch.gate["column"])] if launch.gate else [])
    if users is not None:
        people = align(users, src, what="users")
        require(people, ["user_id"], "users")
        schema = people.collect_schema().names()
        if "signup_date" in schema:
            people = as_date(people, "signup_date", what="users")
            people = people.filter(nw.col("signup_date") < t0)
    else:
        cols = frame.collect_schema().names()
        attrs = [c for c in wanted if c in cols]
        people = frame.filter(nw.col("date") < t0).group_by("user_id").agg(
            *[nw.col(c).min() for c in attrs]
        )
    if launch.gate:
        require(people, [str(launch.gate["column"])], "users" if users is not None else "events")
    if lookback_days is not None:
        recent = frame.filter(nw.col("date") >= t0 - dt.timedelta(days=lookback_days),
                              nw.col("date") < t0).select("user_id").unique()  # fmt: skip
        people = people.join(recent, on="user_id", how="semi")
    return people


def _outcome_exprs(names: Sequence[str], t1: dt.date) -> dict[str, nw.Expr]:
    ev = nw.col("event")
    exprs: dict[str, nw.Expr] = {}
    for n in names:
        if n == "revenue":
            exprs["_revenue"] = nw.col("revenue").sum()
        elif n in ("purchases", "sessions", "tasks"):
            exprs[f"_{n}"] = (ev == n.rstrip("s")).cast(nw.Int64).sum()
        elif n == "task_success_rate":
            exprs["_tasks_n"] = (ev == "task").cast(nw.Int64).sum()
            exprs["_successes"] = ((ev == "task") & nw.col("task_success")).cast(nw.Int64).sum()
        elif n == "active_days":
            exprs["_active_days"] = nw.col("date").n_unique()
        elif n == "retained":
            last_week = nw.col("date") >= t1 - dt.timedelta(days=7)
            exprs["_retained"] = last_week.cast(nw.Int64).max()
    return exprs


def _finish(out: pd.DataFrame, names: Sequence[str], window: int, launch: Launch,
            lookback_days: int | None) -> pd.DataFrame:  # fmt: skip
    out = out.sort_values("user_id", kind="stable", ignore_index=True)
    result = out[[c for c in out.columns if not c.startswith("_") and not c.startswith("pre_")]]
    result = result.copy()
    for c in result.columns:  # dates arrive as datetime.date from some engines
        sample = result[c].dropna().head(1).tolist()
        if result[c].dtype == object and sample and isinstance(sample[0], dt.date):
            result[c] = pd.to_datetime(result[c]).astype("datetime64[ns]")
    if launch.gate:
        gate = result[str(launch.gate["column"])].astype(float)
        result["treated"] = (gate >= float(launch.gate["cutoff"])).astype(np.int64)
    for n in names:
        col = outcome_column(n, window)
        if n == "task_success_rate":
            tasks = out["_tasks_n"].fillna(0).astype(float)
            result[col] = out["_successes"].fillna(0).astype(float) / tasks.where(tasks > 0)
        elif n == "revenue":
            result[col] = out["_revenue"].fillna(0.0).astype(float)
        else:
            result[col] = out[f"_{n}"].fillna(0).astype(np.int64)
    if lookback_days is not None:
        result["pre_revenue"] = out["pre_revenue"].fillna(0.0).astype(float)
        result["pre_active_days"] = out["pre_active_days"].fillna(0).astype(np.int64)
    result.attrs = {"outcomes": [outcome_column(n, window) for n in names],
                    "window_days": window, "lookback_days": lookback_days,
                    "launch": launch.name}  # fmt: skip
    return result
