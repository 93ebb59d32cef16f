"""Validate a unit-level RD frame and turn it into sorted numeric arrays.

Handling that users should know about (each one warns with a :class:`CausalKitWarning`):

* rows with a missing running variable are dropped everywhere; rows missing the outcome, take-up,
  covariates or cluster are dropped from the estimate (the density test still uses them);
* covariates that are text, categorical or boolean are one-hot encoded (first level dropped;
  balance covariates keep every level, or one level of a two-level column);
* a date or datetime running variable makes an *RD in time*: it is measured in days from the
  cutoff, which must then be a date.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import CausalKitWarning, DataError, SpecificationError
from causal_kit.core.frames import to_pandas
from causal_kit.design.rdd._locpoly import n_distinct
from causal_kit.design.rdd._sample import Sample

MIN_SIDE_OBS = 20  # observations each side of the cutoff, at the least
MIN_DISTINCT = 5  # distinct running-variable values each side, at the least
DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Prepared:
    """The validated inputs of one RD analysis.

    Attributes
    ----------
    sample
        Outcome (and take-up, covariates) each side, sorted by the centred running variable.
    balance
        Balance covariate name → ``(left, right)`` values aligned with ``sample``.
    x_density
        Every observed running value minus the cutoff, sorted (for the density test).
    cutoff
        The cutoff as given (a number, or a timestamp for RD in time).
    time_origin
        The cutoff as a timestamp when the running variable is a date, else ``None``.
    covariates
        Names of the covariate columns after encoding.
    n_dropped
        Rows dropped for missing values.
    """

    sample: Sample
    balance: dict[str, tuple[np.ndarray, np.ndarray]]
    x_density: np.ndarray
    cutoff: Any
    time_origin: pd.Timestamp | None
    covariates: tuple[str, ...]
    n_dropped: int


def _names(value: str | Sequence[str] | None, arg: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not all(isinstance(v, str) for v in value):
        raise SpecificationError(f"{arg}= must be a column name or a list of column names.")
    return list(value)


def _numeric(col: pd.Series, name: str, role: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(col):
        return col.astype(float).to_numpy()
    if not pd.api.types.is_numeric_dtype(col):
        raise DataError(
            f"The {role} column {name!r} must be numeric (or boolean); it has dtype {col.dtype}. "
            "Convert it, e.g. with pd.to_numeric, or pick another column."
        )
    arr = col.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(arr).any():
        raise DataError(
            f"The {role} column {name!r} has {int(np.isinf(arr).sum())} infinite value(s). "
            "Replace or drop them before estimating."
        )
    return arr


def _running(col: pd.Series, name: str, cutoff: Any) -> tuple[np.ndarray, float, Any]:
    is_date = pd.api.types.is_datetime64_any_dtype(col)
    cut_is_date = isinstance(cutoff, (str, pd.Timestamp, np.datetime64)) or hasattr(
        cutoff, "isoformat"
    )
    if is_date or (cut_is_date and not pd.api.types.is_numeric_dtype(col)):
        if not cut_is_date:
            raise SpecificationError(
                f"The running variable {name!r} holds dates, so cutoff= must be a date "
                f"(e.g. '2026-03-02'); got {cutoff!r}."
            )
        try:
            stamps = pd.to_datetime(col)
            origin = pd.Timestamp(cutoff)
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"Cannot read the running variable {name!r} or the cutoff {cutoff!r} as dates: "
                f"{exc}. Pass a datetime column and a date cutoff."
            ) from exc
        if stamps.dt.tz is not None and origin.tz is None:
            origin = origin.tz_localize(stamps.dt.tz)
        x = ((stamps - origin) / DAY).to_numpy(dtype=float, na_value=np.nan)
        return x, 0.0, origin
    if cut_is_date:
        raise SpecificationError(
            f"cutoff={cutoff!r} is a date but the running variable {name!r} is numeric; pass a "
            "numeric cutoff, or a datetime running column for RD in time."
        )
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float, np.integer, np.floating)):
        raise SpecificationError(f"cutoff= must be a number (or a date); got {cutoff!r}.")
    if not np.isfinite(float(cutoff)):
        raise SpecificationError(f"cutoff= must be finite; got {cutoff!r}.")
    x = _numeric(col, name, "running variable")
    return x, float(cutoff), None


def _encode(frame: pd.DataFrame, names: list[str], role: str, drop_first: bool) -> pd.DataFrame:
    parts = []
    for name in names:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            parts.append(pd.DataFrame({name: _numeric(col, name, role)}, index=frame.index))
        elif pd.api.types.is_bool_dtype(col):
            parts.append(pd.DataFrame({name: col.astype(float)}, index=frame.index))
        else:
            binary = col.nunique(dropna=True) == 2
            dummies = pd.get_dummies(col, prefix=name, prefix_sep="=",
                                     drop_first=drop_first or binary, dtype=float)
            dummies[col.isna().to_numpy()] = np.nan
            if dummies.shape[1] == 0:
                raise DataError(f"The {role} column {name!r} has a single value; drop it.")
            parts.append(dummies)
    if not parts:
        return pd.DataFrame(index=frame.index)
    return pd.concat(parts, axis=1)


def prepare(
    data: Any,
    *,
    outcome: str,
    running: str,
    cutoff: Any,
    treatment: str | None,
    covariates: str | Sequence[str] | None,
    cluster: str | None,
    balance: str | Sequence[str] | None,
    donut: float,
    q: int,
) -> Prepared:
    """Validate ``data`` and return sorted arrays each side of the cutoff.

    Raises
    ------
    DataError
        Missing or non-numeric columns, a cutoff outside the running variable's range, too few
        observations or too few distinct running values on a side.
    SpecificationError
        Inconsistent arguments (a date cutoff with a numeric running variable, negative donut).
    """
    for arg, val in (("outcome", outcome), ("running", running)):
        if not isinstance(val, str):
            raise SpecificationError(f"{arg}= must be a column name; got {val!r}.")
    covs = _names(covariates, "covariates")
    bal = _names(balance, "balance")
    extra = [treatment] if treatment else []
    clus = [cluster] if cluster else []
    if not (isinstance(donut, (int, float)) and donut >= 0):
        raise SpecificationError(f"donut= must be a non-negative number; got {donut!r}.")
    frame = to_pandas(data, [outcome, running, *extra, *covs, *clus, *bal], what="data")
    if len(frame) == 0:
        raise DataError("data has no rows.")
    x, c, origin = _running(frame[running], running, cutoff)
    y = _numeric(frame[outcome], outcome, "outcome")
    cols = [y]
    if treatment:
        cols.append(_numeric(frame[treatment], treatment, "treatment (take-up)"))
    zf = _encode(frame, covs, "covariate", drop_first=True)
    cols += [zf[n].to_numpy(dtype=float) for n in zf.columns]
    d = np.column_stack(cols)
    codes = None
    if cluster:
        codes, _ = pd.factorize(frame[cluster], use_na_sentinel=True)
    has_x = ~np.isnan(x)
    ok = has_x & ~np.isnan(d).any(axis=1)
    if codes is not None:
        ok &= codes >= 0
    dropped = int(len(x) - ok.sum())
    if dropped:
        warnings.warn(
            f"Dropped {dropped} of {len(x)} rows with missing values "
            f"({int((~has_x).sum())} missing {running!r}); the density test uses every row "
            "with a running value.", CausalKitWarning, stacklevel=3,
        )
    idx = np.flatnonzero(ok) if dropped else None
    xs = x - c if idx is None else x[idx] - c
    order = np.argsort(xs)
    xs = xs[order]
    idx = order if idx is None else idx[order]
    d = d[idx]
    codes_s = None if codes is None else codes[idx]
    x_density = xs if not dropped else np.sort(x[has_x] - c)
    bf = _encode(frame, bal, "balance covariate", drop_first=False)
    bal_arr = {n: bf[n].to_numpy(dtype=float)[idx] for n in bf.columns}
    _check_range(xs, cutoff, running)
    lo, hi = int(np.searchsorted(xs, -donut, side="right")), int(
        np.searchsorted(xs, donut, side="left"))
    if donut > 0:
        keep = np.r_[0:lo, hi:len(xs)]
        xs, d = xs[keep], d[keep]
        codes_s = None if codes_s is None else codes_s[keep]
        bal_arr = {k: v[keep] for k, v in bal_arr.items()}
    cut = int(np.searchsorted(xs, 0.0, side="left"))
    _check_sides(xs, cut, running, cutoff, donut, q)
    sample = Sample(
        xs[:cut], xs[cut:], d[:cut], d[cut:],
        None if codes_s is None else codes_s[:cut], None if codes_s is None else codes_s[cut:],
        fuzzy=bool(treatment), n_covs=zf.shape[1],
    )
    return Prepared(
        sample=sample,
        balance={k: (v[:cut], v[cut:]) for k, v in bal_arr.items()},
        x_density=x_density,
        cutoff=origin if origin is not None else c,
        time_origin=origin,
        covariates=tuple(zf.columns),
        n_dropped=dropped,
    )


def _check_range(xs: np.ndarray, cutoff: Any, running: str) -> None:
    if len(xs) == 0:
        raise DataError("No complete rows are left after dropping missing values.")
    if xs[0] >= 0 or xs[-1] <= 0:
        side = "above" if xs[0] >= 0 else "below"
        raise DataError(
            f"cutoff={cutoff!r} lies outside the observed range of {running!r} (every value is "
            f"{side} it, from {xs[0]:+.6g} to {xs[-1]:+.6g} relative to the cutoff). The cutoff "
            "must have observations on both sides; check the value and the units."
        )


def _check_sides(xs: np.ndarray, cut: int, running: str, cutoff: Any, donut: float, q: int) -> None:
    n_l, n_r = cut, len(xs) - cut
    hole = f" after removing the donut of {donut:g}" if donut > 0 else ""
    if min(n_l, n_r) < MIN_SIDE_OBS:
        raise DataError(
            f"Only {n_l} observations below and {n_r} at or above cutoff={cutoff!r}{hole}; "
            f"RD needs at least {MIN_SIDE_OBS} on each side. Collect more data, move the cutoff "
            "or shrink the donut."
        )
    m_l, m_r = n_distinct(xs[:cut]), n_distinct(xs[cut:])
    need = max(MIN_DISTINCT, q + 1)
    if min(m_l, m_r) < need:
        raise DataError(
            f"The running variable {running!r} takes only {m_l} distinct values below and {m_r} "
            f"at or above the cutoff{hole} (mass points); a local polynomial RD needs at least "
            f"{need} on each side. Use a finer running variable, or compare means in a narrow "
            "window around the cutoff (local randomisation) instead."
        )
