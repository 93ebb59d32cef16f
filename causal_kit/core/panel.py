"""Validate a long ``unit × time`` panel once, for every panel design (DiD, synthetic control).

The convention: one row per unit and period; ``treatment`` is 0/1 and absorbing (1 for a treated
unit from its first treated period on). Adoption periods, cohorts and never-treated units are
derived from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.frames import to_pandas

NEVER = np.inf  # adoption period of a never-treated unit


@dataclass(frozen=True)
class Panel:
    """A validated panel in a standard layout.

    Attributes
    ----------
    frame
        Columns ``unit``, ``t`` (0-based period index), ``y``, ``d`` (0/1), ``g`` (adoption
        period index, ``inf`` when never treated), then covariates and ``cluster`` if given, sorted
        by unit and period.
    times
        The original period values; ``times[t]`` is the label of period index ``t``.
    units
        The unit labels, in the order of their integer codes.
    names
        The caller's column names: ``outcome``, ``unit``, ``time``, ``treatment``.
    covariates
        Covariate column names (kept under their own names in ``frame``).
    balanced
        Whether every unit is observed in every period.
    """

    frame: pd.DataFrame
    times: np.ndarray
    units: np.ndarray
    names: dict[str, str]
    covariates: tuple[str, ...]
    balanced: bool

    @property
    def n_units(self) -> int:
        """Number of units."""
        return len(self.units)

    @property
    def n_periods(self) -> int:
        """Number of periods."""
        return len(self.times)

    @property
    def adoption(self) -> pd.Series:
        """Adoption period index by unit code (``inf`` for never treated)."""
        return self.frame.groupby("unit", sort=True)["g"].first()

    @property
    def treated_units(self) -> np.ndarray:
        """Unit codes that are ever treated."""
        a = self.adoption
        return a.index[np.isfinite(a.to_numpy())].to_numpy()

    def time_label(self, t: int) -> Any:
        """Return the original label of period index ``t``."""
        return _label(self.times[int(t)])

    def unit_label(self, u: int) -> Any:
        """Return the original label of unit code ``u``."""
        return _label(self.units[int(u)])


def _label(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date().isoformat()
    return value.item() if hasattr(value, "item") else value


def prepare_panel(
    data: Any,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    require_never_treated: bool = False,
) -> Panel:
    """Validate ``data`` as a panel and return it in the standard layout.

    Raises
    ------
    DataError
        Missing columns, empty data, missing ids or periods, a non-numeric or non-finite outcome,
        duplicate ``unit × time`` rows, a treatment that is not 0/1 or switches off, no treated or
        no comparison units, or treated units with no pre-period. The message names the culprit.
    """
    covariates = tuple(covariates)
    _distinct_roles(outcome=outcome, unit=unit, time=time, treatment=treatment)
    cols = [unit, time, outcome, treatment, *covariates] + ([cluster] if cluster else [])
    df = to_pandas(data, cols)
    if df.empty:
        raise DataError("data has no rows; pass a panel with one row per unit and period.")
    for col, role in ((unit, "unit"), (time, "time")):
        bad = df[col].isna()
        if bad.any():
            raise DataError(
                f"{role} column {col!r} has {int(bad.sum())} missing value(s) "
                f"(first at row {df.index[bad.to_numpy()][0]!r}); drop or fill those rows."
            )
        _one_kind(df[col], role)
    y = _numeric(df, outcome, unit, time, "outcome")

    d = _treatment(df, treatment, unit, time)
    for cov in covariates:
        _numeric(df, cov, unit, time, "covariate")
    dup = df.duplicated([unit, time], keep=False)
    if dup.any():
        first = {c: df.loc[dup, c].iloc[0] for c in (unit, time)}
        raise DataError(
            f"duplicate rows for {unit}={_label(first[unit])!r}, {time}={_label(first[time])!r} "
            f"({int(dup.sum())} duplicated rows in all); a panel needs one row per {unit} and "
            f"{time}: aggregate them first."
        )

    times = np.sort(df[time].unique())
    units, ucode = np.unique(df[unit].to_numpy(), return_inverse=True)
    t = np.searchsorted(times, df[time].to_numpy())
    out = pd.DataFrame({"unit": ucode.astype(np.int64), "t": t.astype(np.int64), "y": y, "d": d})
    for cov in covariates:
        out[cov] = df[cov].to_numpy(dtype=float)
    if cluster:
        out["cluster"] = df[cluster].to_numpy()
    out = out.sort_values(["unit", "t"], kind="stable").reset_index(drop=True)
    out["g"] = _adoption(out, units, times, unit, time, treatment)

    check_adoption(out, units, unit=unit, time=time, treatment=treatment, noun="units",
                   require_never_treated=require_never_treated)
    n_obs = out.groupby("unit").size().to_numpy()
    return Panel(
        frame=out,
        times=times,
        units=units,
        names={"outcome": outcome, "unit": unit, "time": time, "treatment": treatment},
        covariates=covariates,
        balanced=bool((n_obs == len(times)).all()),
    )


def check_adoption(
    frame: pd.DataFrame, labels: np.ndarray, *, unit: str, time: str, treatment: str,
    noun: str = "units", require_never_treated: bool = False,
) -> None:
    """Check that the adoption periods (``g`` by ``unit`` code in ``frame``) leave a design.

    Raises
    ------
    DataError
        No treated unit; treated units without a pre-period (named); no never-treated unit when
        ``require_never_treated``; or every unit treated from the same period.
    """
    g_unit = frame.groupby("unit", sort=True)["g"].first().to_numpy()
    first_t = frame.groupby("unit", sort=True)["t"].min().to_numpy()
    treated = np.isfinite(g_unit)
    if not treated.any():
        raise DataError(
            f"no treated units: {treatment!r} is 0 everywhere. Mark the launched {noun}' treated "
            "periods with 1."
        )
    no_pre = treated & (g_unit <= first_t)
    if no_pre.any():
        bad = [_label(labels[i]) for i in np.flatnonzero(no_pre)[:5]]
        raise DataError(
            f"treated {unit}(s) {bad} have no pre-period: treated from their first observed "
            f"{time}. Add earlier periods or drop these {noun}."
        )
    never = ~treated
    if require_never_treated and not never.any():
        raise DataError(
            f"no never-treated {unit}s to compare with: every {unit} is eventually treated. "
            "Use not-yet-treated controls or add comparison units."
        )
    if not never.any() and len(np.unique(g_unit)) < 2:
        raise DataError(
            f"no comparison units: every {unit} is treated from the same {time}. "
            f"Add {noun} that were not launched to."
        )


def check_varies(y: np.ndarray, outcome: str) -> None:
    """Refuse an outcome that takes one value in every row (its effect would read as 0).

    Raises
    ------
    DataError
        Naming the column and its value.
    """
    if len(y) > 1 and np.ptp(y) == 0:
        raise DataError(
            f"outcome column {outcome!r} is constant ({y[0]:g} in every row): there is no "
            "variation to measure an effect by. Check that it is the metric you meant."
        )


def _distinct_roles(**roles: str) -> None:
    """Refuse one column in two roles (e.g. the treatment as the outcome)."""
    seen: dict[str, str] = {}
    for role, col in roles.items():
        if col in seen:
            raise SpecificationError(
                f"{seen[col]} and {role} are both column {col!r}; each role needs its own "
                f"column (the {role} cannot also be the {seen[col]})."
            )
        seen[col] = role


def mixed_kinds(values: Any) -> str | None:
    """Return what is mixed in an id or time column (value types, or zoned and naive), or None.

    Only object columns can mix; the test runs in C (``infer_dtype``) except for time zones.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if series.dtype != object:
        return None
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind.startswith("mixed"):
        examples: dict[str, Any] = {}
        for v in series:
            examples.setdefault(type(v).__name__, v)
        return "value types " + ", ".join(f"{k} (e.g. {examples[k]!r})" for k in sorted(examples))
    if kind == "datetime":
        zones = {getattr(v, "tzinfo", None) is None for v in series if v is not None}
        if len(zones) > 1:
            return "time-zone-aware and naive times"
    return None


def _one_kind(values: pd.Series, role: str) -> None:
    """Refuse ids or times that mix kinds: ``1`` with ``'1'``, or zoned with naive times."""
    mixed = mixed_kinds(values)
    if mixed is None:
        return
    if mixed.startswith("time-zone"):
        raise DataError(
            f"{role} column {values.name!r} mixes time-zone-aware and naive times; convert it "
            "with pd.to_datetime(column, utc=True) (or drop the zones) first."
        )
    raise DataError(
        f"{role} column {values.name!r} mixes {mixed}, so 1 and '1' would count as two "
        f"different {role}s. Convert the column to one type first (e.g. .astype(str))."
    )


def _numeric(df: pd.DataFrame, col: str, unit: str, time: str, role: str) -> np.ndarray:
    s = df[col]
    if s.dtype == bool or not pd.api.types.is_numeric_dtype(s):
        raise DataError(
            f"{role} column {col!r} must be numeric; it has dtype {s.dtype}. "
            "Convert it (e.g. with pd.to_numeric) first."
        )
    values = s.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = {c: df[c].iloc[i] for c in (unit, time)}
        raise DataError(
            f"{role} column {col!r} has {int(bad.sum())} missing or infinite value(s), e.g. "
            f"{values[i]} at {unit}={_label(row[unit])!r}, {time}={_label(row[time])!r}; "
            "drop or impute them first."
        )
    return values


def _treatment(df: pd.DataFrame, col: str, unit: str, time: str) -> np.ndarray:
    s = df[col]
    if s.isna().any():
        row = {c: df.loc[s.isna(), c].iloc[0] for c in (unit, time)}
        raise DataError(
            f"treatment column {col!r} is missing at {unit}={_label(row[unit])!r}, "
            f"{time}={_label(row[time])!r}; it must be 0 or 1 in every row."
        )
    values = s.to_numpy()
    if s.dtype != bool:
        try:
            numeric = values.astype(float)
        except (TypeError, ValueError):
            numeric = np.full(len(values), np.nan)
        ok = np.isin(numeric, (0.0, 1.0))
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise DataError(
                f"treatment column {col!r} must be 0/1; found {_label(values[i])!r} at "
                f"{unit}={_label(df[unit].iloc[i])!r}, {time}={_label(df[time].iloc[i])!r}."
            )
        values = numeric
    return values.astype(np.int8)


def _adoption(
    out: pd.DataFrame, units: np.ndarray, times: np.ndarray, unit: str, time: str, treatment: str
) -> np.ndarray:
    d = out["d"].to_numpy()
    u = out["unit"].to_numpy()
    t = out["t"].to_numpy()
    first = pd.Series(np.where(d == 1, t, np.iinfo(np.int64).max)).groupby(u).transform("min")
    first_arr = first.to_numpy()
    switched_off = (d == 0) & (t > first_arr)
    if switched_off.any():
        i = int(np.flatnonzero(switched_off)[0])
        raise DataError(
            f"treatment {treatment!r} switches off for {unit}={_label(units[u[i]])!r} at "
            f"{time}={_label(times[t[i]])!r} after starting at {_label(times[first_arr[i]])!r}; "
            "treatment must be absorbing (1 from the first treated period on)."
        )
    g = first_arr.astype(float)
    g[first_arr == np.iinfo(np.int64).max] = NEVER
    return g
