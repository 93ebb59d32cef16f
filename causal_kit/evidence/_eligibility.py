"""Which designs a launch's shape allows: experiment, interrupted time series, RD in time.

Also why the panel designs do not apply to a launch to everyone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError
from causal_kit.core.frames import to_pandas
from causal_kit.core.launch import Launch

MIN_ARM_USERS = 2
MIN_PRE_PERIODS_ITS = 14  # two weekly cycles of daily data
MIN_PER_SIDE_RD_TIME = 10


def experiment_eligible(users: Any, launch: Launch | None, outcome: str) -> tuple[bool, str]:
    """Say whether the launch drew an arm per user and both arms hold users in ``users``."""
    arms = dict(launch.arms or {}) if launch is not None else {}
    if not arms:
        return False, (
            "the launch was not randomized: it has no arms= (only a holdout or A/B test has a "
            "control group drawn at random)."
        )
    if users is None:
        return False, f"needs one row per user with the arm column {arms['column']!r}; not given."
    column = str(arms["column"])
    try:
        frame = to_pandas(users, [column, outcome], what="users")
    except DataError as exc:
        return False, str(exc)
    counts = frame[column].astype(str).value_counts()
    n_t, n_c = (int(counts.get(str(arms[k]), 0)) for k in ("treatment", "control"))
    if min(n_t, n_c) < MIN_ARM_USERS:
        return False, (
            f"needs at least {MIN_ARM_USERS} users per arm; {column!r} has {n_t} in "
            f"{arms['treatment']!r} and {n_c} in {arms['control']!r}."
        )
    return True, (
        f"{n_t:,} users in {arms['treatment']!r} and {n_c:,} in {arms['control']!r}, drawn at "
        "random."
    )


def its_eligible(series: Any, time: str | None, launch: Launch | None,
                 outcome: str) -> tuple[bool, str]:
    """Say whether the launch has one date and a series long enough to forecast from."""
    shape = launch.shape if launch is not None else None
    if series is None or time is None:
        if shape in ("holdout", "regional", "score_gate"):
            return False, (
                "the launch left an untreated comparison group (a control arm, untreated units "
                "or users below the cutoff), so a forecast-only design is not needed."
            )
        return False, "needs a daily series (series= and series_time=) around one launch date."
    day = _launch_day(launch)
    if day is None:
        return False, "the launch has no single date (date= or one start date) to forecast from."
    n_pre = _count_sides(series, time, outcome, day)[0]
    if n_pre < MIN_PRE_PERIODS_ITS:
        return False, (
            f"needs at least {MIN_PRE_PERIODS_ITS} pre-launch periods (two weekly cycles) to "
            f"forecast from; the series has {n_pre} before {day}."
        )
    return True, f"{n_pre} pre-launch periods to forecast the counterfactual from."


def rdd_in_time_eligible(series: Any, time: str | None, launch: Launch | None,
                         outcome: str) -> tuple[bool, str]:
    """Say whether RD in time can compare the days just before the launch with those after."""
    day = _launch_day(launch)
    if series is None or time is None or day is None:
        return False, "needs a daily series around one launch date; not given."
    before, after = _count_sides(series, time, outcome, day)
    if min(before, after) < MIN_PER_SIDE_RD_TIME:
        return False, (
            f"RD in time needs at least {MIN_PER_SIDE_RD_TIME} periods on each side of {day}; the "
            f"series has {before} before and {after} from it on."
        )
    return True, (
        f"RD in time: {before} periods before and {after} from {day} on; it measures the jump at "
        "the launch date, not the average since."
    )


def no_untreated_reason(launch: Launch) -> str:
    """Why difference-in-differences and synthetic control cannot run on a global launch."""
    controls = dict(launch.controls or {})
    who = f"every user of {controls['launched']!r}" if controls else "every user"
    return (
        f"a launch to everyone leaves no untreated {launch.unit} or user: {who} got it on "
        f"{launch.date}; the untouched series serve the forecast as controls instead."
    )


def not_rolled_out_reason(launch: Launch) -> str:
    """Why the panel designs do not run on a holdout that was not rolled out by unit."""
    return (
        f"the holdout was randomized by user on one date, not rolled out {launch.unit} by "
        f"{launch.unit}: no {launch.unit} launched apart from the others to compare."
    )


def _launch_day(launch: Launch | None) -> Any:
    if launch is None:
        return None
    if launch.date is not None:
        return launch.date
    dates = set(launch.start.values())
    return dates.pop() if len(dates) == 1 else None


def _count_sides(series: Any, time: str, outcome: str, day: Any) -> tuple[int, int]:
    try:
        frame = to_pandas(series, [time, outcome], what="series")
    except DataError:
        return 0, 0
    t = pd.to_datetime(frame[time]).to_numpy()
    cut = np.datetime64(pd.Timestamp(day))
    return int(np.sum(t < cut)), int(np.sum(t >= cut))
