"""A linear-time loader for the common case: a clean, balanced panel.

It runs the same checks as :func:`causal_kit.core.panel.prepare_panel` with hash codes and a
``units × periods`` reshape instead of sorting, duplicate detection and group-bys over the long
frame, and reads pandas columns without copying them. Whenever a check fails (or the panel is
unbalanced) it returns ``None`` and the caller runs ``prepare_panel``, which raises the precise
error or handles the unbalanced layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from causal_kit.core.errors import CausalKitError
from causal_kit.core.frames import to_pandas
from causal_kit.core.panel import mixed_kinds


class BalancedArrays(NamedTuple):
    """A clean balanced panel as arrays in unit-major order (``n_units × T`` rows)."""

    y: np.ndarray
    d: np.ndarray
    X: np.ndarray
    cluster: np.ndarray | None
    times: np.ndarray
    g_unit: np.ndarray


def _column(frame: Any, name: str) -> np.ndarray:
    return frame[name].to_numpy()


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted integer codes and labels, without hashing when the layout allows it."""
    n = len(values)
    if values.dtype.kind in "iu" and n:
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < 4 * n + 1024:  # dense integer labels: a lookup table
            base = 0 if 0 <= lo and hi < 4 * n + 1024 else lo
            shifted = values if base == 0 else values - base
            present = np.zeros(hi - base + 1, dtype=bool)
            present[shifted] = True
            lookup = (np.cumsum(present) - 1).astype(np.int32 if n < 2**31 else np.int64)
            return lookup[shifted], np.flatnonzero(present) + base
    codes, labels = pd.factorize(values, sort=True)
    return codes, np.asarray(labels)


def _finite_numeric(values: np.ndarray) -> np.ndarray | None:
    if values.dtype == bool or not np.issubdtype(values.dtype, np.number):
        return None
    out = values.astype(np.float64, copy=False)
    return out if np.isfinite(out).all() else None


def fast_balanced_panel(
    data: Any,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    covariates: Sequence[str],
    cluster: str | None,
) -> BalancedArrays | None:
    """Return the arrays of a clean balanced panel, or ``None`` to run the full checks."""
    cols = [unit, time, outcome, treatment, *covariates] + ([cluster] if cluster else [])
    if len({unit, time, outcome, treatment}) < 4:
        return None
    if isinstance(data, pd.DataFrame):
        if any(c not in data.columns for c in cols) or data.columns.duplicated().any():
            return None
        frame: Any = data
    else:
        try:
            frame = to_pandas(data, cols)
        except CausalKitError:  # the full path reports the problem precisely
            return None
    n = len(frame)
    if n == 0:
        return None
    if mixed_kinds(frame[unit]) or mixed_kinds(frame[time]):
        return None
    ucode, _ = _codes(_column(frame, unit))
    tcode, times = _codes(_column(frame, time))
    if (ucode < 0).any() or (tcode < 0).any():
        return None
    n_units, T = int(ucode.max()) + 1, len(times)
    if n != n_units * T or T < 2:
        return None
    small = np.int32 if n < 2**31 - 1 else np.int64
    key = ucode.astype(small, copy=False) * T + tcode.astype(small, copy=False)
    del ucode, tcode
    seen = np.zeros(n, dtype=bool)
    seen[key] = True
    if not seen.all():
        return None
    in_order = bool((np.diff(key) == 1).all()) and int(key[0]) == 0
    inv = None if in_order else np.empty(n, dtype=small)
    if inv is not None:
        inv[key] = np.arange(n, dtype=small)
    del key, seen

    def arranged(values: np.ndarray) -> np.ndarray:
        return values if inv is None else values[inv]

    y = _finite_numeric(_column(frame, outcome))
    if y is None or np.ptp(y) == 0:
        return None
    raw_d = _column(frame, treatment)
    if raw_d.dtype != bool:
        if not np.issubdtype(raw_d.dtype, np.number):
            return None
        if not ((raw_d == 0) | (raw_d == 1)).all():
            return None
    D = arranged(raw_d).astype(np.int8).reshape(n_units, T)
    if (D[:, 1:] < D[:, :-1]).any():
        return None
    n_treated_periods = D.sum(axis=1, dtype=np.int64)
    treated = n_treated_periods > 0
    if not treated.any() or (n_treated_periods == T).any():
        return None
    g_unit = np.where(treated, T - n_treated_periods, np.inf).astype(float)
    if treated.all() and len(np.unique(g_unit)) < 2:
        return None
    X = np.empty((n, len(covariates)))
    for j, cov in enumerate(covariates):
        x = _finite_numeric(_column(frame, cov))
        if x is None:
            return None
        X[:, j] = arranged(x)
    cl = None
    if cluster:
        raw = pd.Series(_column(frame, cluster))
        if raw.isna().any():
            return None
        cl = arranged(pd.factorize(raw.to_numpy(), sort=True)[0].astype(np.int64))
    return BalancedArrays(
        y=np.ascontiguousarray(arranged(y), dtype=np.float64),
        d=D.ravel(),
        X=X,
        cluster=cl,
        times=np.asarray(times),
        g_unit=g_unit,
    )
