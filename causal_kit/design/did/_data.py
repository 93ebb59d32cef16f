"""Turn the caller's frame into the arrays every DiD estimator shares (panel or cross-sections)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError
from causal_kit.core.frames import to_pandas
from causal_kit.core.panel import (
    _adoption,
    _label,
    _numeric,
    _treatment,
    check_adoption,
    check_varies,
    prepare_panel,
)
from causal_kit.design.did._fastpanel import fast_balanced_panel


@dataclass(frozen=True)
class DidData:
    """Validated DiD data, one entry per row, sorted by unit (or group) and period.

    Attributes
    ----------
    kind
        ``"panel"`` (units followed over time) or ``"rcs"`` (repeated cross-sections).
    y, d
        Outcome and 0/1 treatment of each row.
    t_rows, g_rows, unit_rows, group_rows
        Period index (0-based), adoption period index of the row's unit or group (``inf`` if
        never treated), unit codes (panel) or row numbers (cross-sections), and the codes of the
        level at which treatment is assigned. ``None`` for a balanced panel given by ``g_unit``:
        the properties ``t``, ``g``, ``unit`` and ``group`` then build them on first use.
    X
        Covariates, ``(n, p)``.
    cluster
        Cluster codes given by the caller, or ``None``.
    times
        Period labels; ``times[t]`` is the label of index ``t``.
    names
        Column names of the caller: outcome, unit (or group), time, treatment.
    covariates
        Covariate names.
    balanced
        Panel: every unit observed in every period. Cross-sections: ``False``.
    g_unit
        Adoption period index per unit, when already known (saves a pass over the rows).
    """

    kind: Literal["panel", "rcs"]
    y: np.ndarray
    t_rows: np.ndarray | None
    g_rows: np.ndarray | None
    d: np.ndarray
    unit_rows: np.ndarray | None
    group_rows: np.ndarray | None
    X: np.ndarray
    cluster: np.ndarray | None
    times: np.ndarray
    names: dict[str, str]
    covariates: tuple[str, ...]
    balanced: bool
    g_unit: np.ndarray | None = None
    cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def _rows(self, name: str) -> np.ndarray:
        """Per-row arrays; a balanced panel built from its unit-by-period layout on first use."""
        given = getattr(self, f"{name}_rows")
        if given is not None:
            return given
        if name not in self.cache:
            assert self.g_unit is not None, "row arrays or g_unit must be given"
            n_units, T = len(self.g_unit), len(self.times)
            idx = np.int32 if n_units < 2**31 - 1 else np.int64
            if name == "t":
                self.cache[name] = np.tile(np.arange(T, dtype=idx), n_units)
            elif name in ("unit", "group"):
                self.cache[name] = np.repeat(np.arange(n_units, dtype=idx), T)
            else:
                self.cache[name] = np.repeat(self.g_unit.astype(np.float32), T)
        return self.cache[name]

    @property
    def t(self) -> np.ndarray:
        """Period index of each row."""
        return self._rows("t")

    @property
    def g(self) -> np.ndarray:
        """Adoption period index of each row's unit or group (``inf`` never treated)."""
        return self._rows("g")

    @property
    def unit(self) -> np.ndarray:
        """Unit code (panel) or row number (cross-sections) of each row."""
        return self._rows("unit")

    @property
    def group(self) -> np.ndarray:
        """Unit (panel) or group (cross-sections) code of each row."""
        return self._rows("group")

    @property
    def n_periods(self) -> int:
        """Number of periods."""
        return len(self.times)

    @property
    def n_units(self) -> int:
        """Units (panel) or observations (cross-sections)."""
        if self.g_unit is not None:
            return len(self.g_unit)
        return int(self.unit.max()) + 1

    @property
    def unit_g(self) -> np.ndarray:
        """Adoption period index per unit (or per observation for cross-sections)."""
        if self.g_unit is not None:
            return self.g_unit
        out = np.empty(self.n_units)
        out[self.unit] = self.g
        return out

    @property
    def cohorts(self) -> np.ndarray:
        """Sorted adoption period indices of the treated cohorts."""
        g = self.g if self.g_unit is None else self.g_unit
        return np.unique(g[np.isfinite(g)]).astype(float)

    @property
    def has_never_treated(self) -> bool:
        """Whether some unit or group is never treated."""
        g = self.g if self.g_unit is None else self.g_unit
        return bool(np.isinf(g).any())

    def time_label(self, t: float) -> Any:
        """Label of period index ``t``."""
        return _label(self.times[int(t)])


def load_panel(
    data: Any,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    covariates: Sequence[str],
    cluster: str | None,
) -> DidData:
    """Validate a long panel and return :class:`DidData`.

    A clean balanced panel takes a linear-time route; anything else goes through
    :func:`prepare_panel`, which raises the precise error or handles unbalanced panels.
    """
    fast = fast_balanced_panel(
        data,
        outcome=outcome,
        unit=unit,
        time=time,
        treatment=treatment,
        covariates=covariates,
        cluster=cluster,
    )
    if fast is not None:
        return DidData(
            kind="panel",
            y=fast.y,
            t_rows=None,
            g_rows=None,
            d=fast.d,
            unit_rows=None,
            group_rows=None,
            X=fast.X,
            cluster=fast.cluster,
            times=fast.times,
            names={"outcome": outcome, "unit": unit, "time": time, "treatment": treatment},
            covariates=tuple(covariates),
            balanced=True,
            g_unit=fast.g_unit,
        )
    panel = prepare_panel(
        data,
        outcome=outcome,
        unit=unit,
        time=time,
        treatment=treatment,
        covariates=covariates,
        cluster=cluster,
    )
    f = panel.frame
    check_varies(f["y"].to_numpy(), outcome)
    u = f["unit"].to_numpy()
    return DidData(
        kind="panel",
        y=f["y"].to_numpy(dtype=float),
        t_rows=f["t"].to_numpy(),
        g_rows=f["g"].to_numpy(dtype=float),
        d=f["d"].to_numpy(),
        unit_rows=u,
        group_rows=u,
        X=_matrix(f, panel.covariates),
        cluster=_codes(f["cluster"]) if cluster else None,
        times=panel.times,
        names=dict(panel.names),
        covariates=panel.covariates,
        balanced=panel.balanced,
    )


def load_cross_sections(
    data: Any,
    *,
    outcome: str,
    group: str,
    time: str,
    treatment: str,
    covariates: Sequence[str],
    cluster: str | None,
) -> DidData:
    """Validate repeated cross-sections and return :class:`DidData`.

    Each row is an observation; ``group`` is the level at which treatment is assigned (a 0/1
    treated-group flag, or e.g. a region). Within a group and period the treatment must be the same
    for every row, and absorbing over periods; the group's adoption period is derived from it.
    """
    covariates = tuple(covariates)
    cols = [group, time, outcome, treatment, *covariates] + ([cluster] if cluster else [])
    df = to_pandas(data, cols)
    if df.empty:
        raise DataError("data has no rows; pass one row per observation with its group and period.")
    for col, role in ((group, "group"), (time, "time")):
        bad = df[col].isna()
        if bad.any():
            raise DataError(
                f"{role} column {col!r} has {int(bad.sum())} missing value(s) "
                f"(first at row {df.index[bad.to_numpy()][0]!r}); drop or fill those rows."
            )
    if cluster and df[cluster].isna().any():
        raise DataError(f"cluster column {cluster!r} has missing values; fill or drop those rows.")
    y = _numeric(df, outcome, group, time, "outcome")
    d = _treatment(df, treatment, group, time)
    for cov in covariates:
        _numeric(df, cov, group, time, "covariate")
    times = np.sort(df[time].unique())
    if len(times) < 2:
        raise DataError(
            f"{time!r} has a single value {_label(times[0])!r}; DiD needs periods before and "
            "after the launch."
        )
    groups, gcode = np.unique(df[group].to_numpy(), return_inverse=True)
    t = np.searchsorted(times, df[time].to_numpy())
    cell = pd.DataFrame({"unit": gcode, "t": t, "d": d})
    spread = cell.groupby(["unit", "t"], sort=True)["d"].agg(["min", "max"])
    mixed = spread["min"] != spread["max"]
    if mixed.any():
        gi, ti = mixed.index[mixed.to_numpy()][0]
        raise DataError(
            f"treatment {treatment!r} differs between rows of {group}={_label(groups[gi])!r} at "
            f"{time}={_label(times[ti])!r}; in repeated cross-sections treatment is assigned by "
            "group and period, so it must be the same for every row of a group-period."
        )
    gt = spread.reset_index()[["unit", "t", "min"]].rename(columns={"min": "d"})
    gt["g"] = _adoption(gt, groups, times, group, time, treatment)
    check_adoption(gt, groups, unit=group, time=time, treatment=treatment, noun="groups")
    g_group = gt.groupby("unit", sort=True)["g"].first().to_numpy()
    order = np.lexsort((t, gcode))
    frame = df.iloc[order]
    X = frame[list(covariates)].to_numpy(dtype=float) if covariates else np.empty((len(df), 0))
    return DidData(
        kind="rcs",
        y=y[order],
        t_rows=t[order].astype(np.int64),
        g_rows=g_group[gcode[order]],
        d=d[order],
        unit_rows=np.arange(len(df)),
        group_rows=gcode[order].astype(np.int64),
        X=X,
        cluster=_codes(frame[cluster]) if cluster else None,
        times=times,
        names={"outcome": outcome, "unit": group, "time": time, "treatment": treatment},
        covariates=covariates,
        balanced=False,
    )


def _matrix(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    if not columns:
        return np.empty((len(frame), 0))
    return frame[list(columns)].to_numpy(dtype=float)


def _codes(values: pd.Series) -> np.ndarray:
    if values.isna().any():
        n_bad = int(values.isna().sum())
        raise DataError(f"cluster column has {n_bad} missing value(s); fill or drop those rows.")
    return np.unique(values.to_numpy(), return_inverse=True)[1].astype(np.int64)
