"""Validate user-level experiment data and turn it into numpy arrays.

Nothing is dropped silently: a missing outcome, covariate or denominator, an arm value that is
neither arm, a user in two arms or twice in one arm each stop the analysis with a
:class:`DataError` that names the column, the values and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.frames import _require, to_pandas

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class ExperimentData:
    """The arrays of one experiment.

    Attributes
    ----------
    arm
        1 for a treatment user, 0 for a control user (int8).
    values
        Column name → float array (outcomes, covariates, denominators).
    exposed
        Whether each user was exposed, when an exposure column is given.
    day
        Day index of first exposure (``-1`` if never exposed), when exposure holds times.
    first_day
        Calendar day of ``day == 0``.
    """

    arm: np.ndarray
    values: dict[str, np.ndarray]
    exposed: np.ndarray | None = None
    day: np.ndarray | None = None
    first_day: pd.Timestamp | None = None

    @property
    def n_days(self) -> int:
        """Number of calendar days from the first to the last exposure."""
        return 0 if self.day is None else int(self.day.max()) + 1


def frame(data: Any, columns: Sequence[str]) -> pd.DataFrame:
    """Return a frame holding ``columns``; a pandas input is read in place, never copied."""
    if isinstance(data, pd.DataFrame):
        _require(list(data.columns), columns, "data")
        return data
    return to_pandas(data, columns)


def load(
    data: Any,
    *,
    arm: str,
    treatment: Any,
    control: Any,
    numeric: Mapping[str, str],
    user: str | None,
    exposure: str | None,
    measured_at: Mapping[str, Any],
) -> ExperimentData:
    """Validate ``data`` and return its arrays (``numeric`` maps column → its role)."""
    names = [arm, *numeric, *([user] if user else []), *([exposure] if exposure else [])]
    names += [v for v in measured_at.values() if isinstance(v, str) and _is_col(data, v)]
    df = frame(data, list(dict.fromkeys(names)))
    arms = arm_codes(df[arm], arm, treatment, control)
    if user is not None:
        _one_arm_per_user(df[user], arms, user)
    values = {c: as_float(df[c], c, role) for c, role in numeric.items()}
    out = ExperimentData(arms, values)
    if exposure is not None:
        out = _with_exposure(out, df[exposure], exposure)
    for cov, when in measured_at.items():
        _measured_before_exposure(df, cov, when, out, exposure)
    return out


def arm_codes(col: pd.Series, name: str, treatment: Any, control: Any) -> np.ndarray:
    """Return 1/0 per row for treatment/control; any other value is an error naming it."""
    if treatment == control:
        raise SpecificationError(
            f"treatment= and control= are both {treatment!r}; name two different arms of {name!r}."
        )
    is_t = (col == treatment).to_numpy(dtype=bool, na_value=False)
    is_c = (col == control).to_numpy(dtype=bool, na_value=False)
    other = ~(is_t | is_c)
    if other.any():
        counts = col[other].value_counts(dropna=False)
        shown = ", ".join(
            f"{'missing' if pd.isna(v) else repr(v)} ({k:,} rows)" for v, k in counts[:5].items()
        )
        more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
        raise DataError(
            f"The arm column {name!r} has values that are neither treatment={treatment!r} nor "
            f"control={control!r}: {shown}{more}. Declare the arms' real values, or keep only "
            "the two arms' users (one experiment comparison per call)."
        )
    for label, value, mask in (("treatment", treatment, is_t), ("control", control, is_c)):
        if mask.sum() < 2:
            present = ", ".join(repr(v) for v in pd.unique(col)[:5])
            raise DataError(
                f"The {label} arm {value!r} has {int(mask.sum())} user(s) in column {name!r} "
                f"(values present: {present}); each arm needs at least 2. Check the arm's "
                "spelling and that the data cover the experiment's users."
            )
    return is_t.astype(np.int8)


def _one_arm_per_user(col: pd.Series, arms: np.ndarray, name: str) -> None:
    codes, uniques = pd.factorize(col)
    if (codes < 0).any():
        raise DataError(
            f"The user column {name!r} has {int((codes < 0).sum()):,} missing ids; every row "
            "needs its user id."
        )
    rows = np.bincount(codes)
    treated = np.bincount(codes, weights=arms)
    both = np.flatnonzero((treated > 0) & (treated < rows))
    if both.size:
        ids = ", ".join(repr(v) for v in uniques[both[:3]])
        raise DataError(
            f"{both.size:,} user(s) of {name!r} appear in both arms (e.g. {ids}). A user must "
            "stay in one arm: drop these users (their exposure is contaminated) or fix the "
            "assignment log."
        )
    twice = np.flatnonzero(rows > 1)
    if twice.size:
        ids = ", ".join(repr(v) for v in uniques[twice[:3]])
        raise DataError(
            f"{twice.size:,} user(s) of {name!r} have more than one row (e.g. {ids}); the "
            "experiment needs one row per user. Aggregate the rows first (e.g. "
            "ck.user_outcomes, or a group-by sum per user)."
        )


def as_float(col: pd.Series, name: str, role: str) -> np.ndarray:
    """Return ``col`` as a float array; non-numeric, missing or infinite values are errors."""
    if pd.api.types.is_bool_dtype(col):
        return col.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(col):
        raise DataError(
            f"The {role} column {name!r} must be numeric (or boolean); it has dtype {col.dtype}. "
            "Convert it (e.g. pd.to_numeric) or pick another column."
        )
    arr = col.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(arr)
    if bad.any():
        n_nan = int(np.isnan(arr).sum())
        raise DataError(
            f"The {role} column {name!r} has {n_nan:,} missing and {int(bad.sum()) - n_nan:,} "
            "infinite value(s). Fill them (a user with no activity has 0 revenue or sessions) "
            "or drop those users from both arms before estimating; dropping them silently could "
            "bias the comparison."
        )
    return arr


def _with_exposure(out: ExperimentData, col: pd.Series, name: str) -> ExperimentData:
    if pd.api.types.is_bool_dtype(col):
        return ExperimentData(out.arm, out.values, col.to_numpy(dtype=bool))
    if not pd.api.types.is_datetime64_any_dtype(col):
        raise DataError(
            f"The exposure column {name!r} must hold first-exposure times (datetime; missing = "
            f"never exposed) or a boolean exposed flag; it has dtype {col.dtype}. Convert it "
            "with pd.to_datetime."
        )
    exposed = col.notna().to_numpy()
    if not exposed.any():
        raise DataError(f"The exposure column {name!r} is empty: no user was ever exposed.")
    days = col.dt.floor("D")
    first = days.min()
    day = ((days - first) / DAY).to_numpy(dtype=float, na_value=-1.0).astype(np.int64)
    return ExperimentData(out.arm, out.values, exposed, day, first)


def _is_col(data: Any, name: str) -> bool:
    try:
        return name in list(data.columns)
    except (AttributeError, TypeError):
        return False


def _measured_before_exposure(
    df: pd.DataFrame, cov: str, when: Any, out: ExperimentData, exposure: str | None
) -> None:
    if exposure is None or out.day is None:
        raise SpecificationError(
            "covariates_measured_at= needs exposure= with each user's first-exposure time, to "
            "check that the covariates were measured before exposure."
        )
    first_seen = df[exposure]
    try:
        col = isinstance(when, str) and when in df
        at = pd.to_datetime(df[when]) if col else pd.Timestamp(when)
    except (ValueError, TypeError) as exc:
        raise SpecificationError(
            f"covariates_measured_at for {cov!r} must be a date or a datetime column; got "
            f"{when!r}."
        ) from exc
    late = (first_seen.notna() & (at > first_seen)).to_numpy(dtype=bool)
    if late.any():
        shown = at if isinstance(at, pd.Timestamp) else at[late].max()
        raise DataError(
            f"The covariate {cov!r} is measured up to {shown} but {int(late.sum()):,} user(s) "
            f"were exposed before that (earliest exposure {first_seen.min()}). A pre-period "
            "covariate measured after exposure can absorb part of the effect; use a window that "
            "ends before each user's first exposure, or drop the covariate."
        )
