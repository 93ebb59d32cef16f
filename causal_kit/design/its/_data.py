"""Validate an ITS series: one row per date, a regular daily or weekly grid, a launch inside it.

The frame is sorted by date (a copy; the caller's frame is never touched). Everything else that
is wrong is an error naming the column or date at fault: duplicated dates, gaps in the grid,
a frequency other than daily or weekly, a non-numeric or incomplete outcome or control series,
a launch date outside the data or with too little history before it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.frames import to_pandas

DAYS_PER_YEAR = 365.25
WEEKS_PER_YEAR = DAYS_PER_YEAR / 7
STATES_PER_PERIOD = 3  # pre-launch periods needed per model state, at the least
FREQUENCIES = {1: "day", 7: "week"}


@dataclass(frozen=True)
class Series:
    """A validated ITS series.

    Attributes
    ----------
    dates
        The sorted, regular dates.
    y
        Outcome values.
    controls
        ``(n, k)`` control series values.
    control_names
        Their column names.
    n_pre
        Periods before the launch (``dates < launch``).
    frequency
        ``"day"`` or ``"week"``.
    launch
        The launch date.
    """

    dates: pd.DatetimeIndex
    y: np.ndarray
    controls: np.ndarray
    control_names: tuple[str, ...]
    n_pre: int
    frequency: str
    launch: pd.Timestamp

    @property
    def n_post(self) -> int:
        """Periods from the launch on."""
        return len(self.y) - self.n_pre


def control_names(controls: str | Sequence[str] | None) -> tuple[str, ...]:
    """Normalise ``controls=`` into a tuple of column names."""
    if controls is None:
        return ()
    if isinstance(controls, str):
        return (controls,)
    names = tuple(controls)
    if not all(isinstance(c, str) for c in names):
        raise SpecificationError(
            f"controls={controls!r} must be a column name or a list of column names."
        )
    if len(set(names)) != len(names):
        raise SpecificationError(f"controls={list(names)!r} names a column twice; list each once.")
    return names


def load_series(
    data: Any, *, outcome: str, time: str, launch_date: Any, controls: tuple[str, ...]
) -> Series:
    """Validate the frame and return the sorted arrays.

    Raises
    ------
    DataError
        On any of the problems listed in the module docstring.
    """
    if outcome in controls or time in controls or outcome == time:
        raise SpecificationError(
            f"outcome={outcome!r}, time={time!r} and controls={list(controls)!r} must be "
            "different columns."
        )
    frame = to_pandas(data, [time, outcome, *controls], what="ITS data")
    dates = _dates(frame[time], time)
    order = np.argsort(dates.to_numpy(), kind="stable")
    frame = frame.iloc[order]
    dates = dates[order]
    frequency = _frequency(dates, time)
    launch = _launch(launch_date, dates)
    y = _numeric(frame[outcome], outcome, "outcome", dates)
    x = np.column_stack(
        [_numeric(frame[c], c, "control", dates) for c in controls]
    ) if controls else np.zeros((len(y), 0))
    n_pre = int(np.searchsorted(dates.to_numpy(), launch.to_datetime64(), side="left"))
    return Series(dates, y, x, controls, n_pre, frequency, launch)


def _dates(col: pd.Series, time: str) -> pd.DatetimeIndex:
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        raise DataError(
            f"The time column {time!r} must hold dates (one row per day or week); it has dtype "
            f"{col.dtype}. Convert it with pd.to_datetime."
        )
    try:
        dates = pd.DatetimeIndex(pd.to_datetime(col.to_numpy()))
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"The time column {time!r} could not be read as dates ({exc}). Convert it with "
            "pd.to_datetime."
        ) from exc
    if dates.tz is not None:
        dates = dates.tz_localize(None)
    if dates.hasnans:
        raise DataError(f"The time column {time!r} has missing dates; drop or fill those rows.")
    if len(dates) < 3:
        raise DataError(f"The ITS data has {len(dates)} rows; a time series needs many more.")
    return dates


def _frequency(dates: pd.DatetimeIndex, time: str) -> str:
    dup = dates[dates.duplicated()]
    if len(dup):
        shown = ", ".join(str(d.date()) for d in dup.unique()[:5])
        raise DataError(
            f"The time column {time!r} repeats dates ({shown}): ITS needs one row per period. "
            "Aggregate the rows of each date first (e.g. a sum or mean per day)."
        )
    steps = np.diff(dates.to_numpy()).astype("timedelta64[s]").astype(np.int64) / 86400.0
    step = float(np.min(steps))
    if step not in FREQUENCIES:
        raise DataError(
            f"The dates of {time!r} are {step:g} days apart; ITS takes a daily or weekly series. "
            "Aggregate to days or weeks first."
        )
    gaps = np.flatnonzero(steps != step)
    if gaps.size:
        where = dates[gaps[0]]
        unit = FREQUENCIES[int(step)]
        raise DataError(
            f"The {unit}ly series in {time!r} has a gap after {where.date()} (next date "
            f"{dates[gaps[0] + 1].date()}; {gaps.size} gap(s) in all). Add the missing {unit}s "
            "(with their true values, or 0 where nothing happened) so the dates are regular."
        )
    return FREQUENCIES[int(step)]


def _launch(value: Any, dates: pd.DatetimeIndex) -> pd.Timestamp:
    try:
        launch = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(
            f"launch_date={value!r} is not a date; pass e.g. '2026-03-02'."
        ) from exc
    if launch.tz is not None:
        launch = launch.tz_localize(None)
    first, last = dates[0], dates[-1]
    if not first < launch <= last:
        raise DataError(
            f"launch_date={launch.date()} is outside the data's dates ({first.date()} to "
            f"{last.date()}): ITS needs periods both before and after the launch. Pass a launch "
            "date after the first date and no later than the last, or extend the data."
        )
    return launch


def _numeric(col: pd.Series, name: str, role: str, dates: pd.DatetimeIndex) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col):
        col = col.astype(float)
    if not pd.api.types.is_numeric_dtype(col):
        raise DataError(
            f"The {role} column {name!r} must be numeric; it has dtype {col.dtype}. Convert it "
            "(e.g. with pd.to_numeric) or pick another column."
        )
    values = col.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        shown = ", ".join(str(d.date()) for d in dates[bad][:5])
        raise DataError(
            f"The {role} column {name!r} has {int(bad.sum())} missing or infinite value(s) "
            f"(dates {shown}). The forecast needs every period: fill them with the true values "
            f"or drop {name!r}" + (" from controls=." if role == "control" else ".")
        )
    return values


def needed_pre_periods(seasons: tuple[float, ...], k_states: int, frequency: str) -> int:
    """Fewest pre-launch periods: two of the longest cycle and a few periods per model state."""
    cycles = math.ceil(2 * max(seasons)) if seasons else 0
    return max(cycles, STATES_PER_PERIOD * k_states)


def auto_seasons(frequency: str, n_pre: int) -> tuple[float, ...]:
    """Weekly cycle for daily data; a yearly one once the history holds two years."""
    if frequency == "day":
        return (7.0, DAYS_PER_YEAR) if n_pre >= 2 * DAYS_PER_YEAR else (7.0,)
    return (WEEKS_PER_YEAR,)
