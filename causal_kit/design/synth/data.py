"""Turn a long panel into the matrices the synthetic control family works on, or say why not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from causal_kit.core.errors import DataError
from causal_kit.core.frames import to_pandas
from causal_kit.core.panel import Panel, prepare_panel

MIN_PRE_PERIODS = 3  # fewest pre-launch periods a weight problem is fitted on
MIN_DONORS = 2


@dataclass(frozen=True)
class Cohort:
    """Units first treated in the same period.

    Attributes
    ----------
    start
        Period index of the first treated period.
    units
        Row indices (into :attr:`SynthData.Y`) of the cohort's units.
    """

    start: int
    units: np.ndarray


@dataclass(frozen=True)
class SynthData:
    """A balanced panel as a ``units × periods`` outcome matrix.

    Attributes
    ----------
    Y
        Outcomes, shape ``(n_units, n_periods)``, rows in unit-code order.
    donors
        Row indices of never-treated units (the donor pool).
    cohorts
        Treated cohorts, by first treated period.
    panel
        The validated panel (labels, names).
    covariates
        Covariate matrices by name, each ``(n_units, n_periods)``.
    """

    Y: np.ndarray
    donors: np.ndarray
    cohorts: tuple[Cohort, ...]
    panel: Panel
    covariates: dict[str, np.ndarray]

    @property
    def n_periods(self) -> int:
        """Number of periods."""
        return int(self.Y.shape[1])

    def n_post(self, cohort: Cohort) -> int:
        """Return the number of post-launch periods of ``cohort``."""
        return self.n_periods - cohort.start

    def unit_label(self, row: int) -> Any:
        """Original label of unit row ``row``."""
        return self.panel.unit_label(row)

    def time_label(self, t: int) -> Any:
        """Original label of period index ``t``."""
        return self.panel.time_label(t)


def load_panel(
    data: Any,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    covariates: Sequence[str] = (),
) -> SynthData:
    """Validate a long panel for synthetic control and return its matrices.

    Raises
    ------
    DataError
        Everything :func:`~causal_kit.core.panel.prepare_panel` rejects, plus: a treated unit
        missing pre-launch outcomes, donors with gaps, an unbalanced panel, fewer than
        :data:`MIN_DONORS` never-treated donors, fewer than :data:`MIN_PRE_PERIODS` pre-launch
        periods, and outcomes that are constant over the pre-launch periods. Each message names
        the unit and period at fault.
    """
    covariates = tuple(covariates)
    frame = to_pandas(data, [unit, time, outcome, treatment, *covariates])
    _missing_outcomes(frame, outcome=outcome, unit=unit, time=time, treatment=treatment)
    panel = prepare_panel(
        frame, outcome=outcome, unit=unit, time=time, treatment=treatment, covariates=covariates
    )
    f = panel.frame
    n_units, n_periods = panel.n_units, panel.n_periods
    adoption = panel.adoption.to_numpy()
    if not panel.balanced:
        _gaps(panel, adoption, unit=unit, time=time)
    u = f["unit"].to_numpy()
    t = f["t"].to_numpy()
    Y = np.empty((n_units, n_periods))
    Y[u, t] = f["y"].to_numpy()
    covs = {}
    for name in covariates:
        m = np.empty((n_units, n_periods))
        m[u, t] = f[name].to_numpy()
        covs[name] = m

    donors = np.flatnonzero(~np.isfinite(adoption))
    if donors.size < MIN_DONORS:
        have = [panel.unit_label(int(i)) for i in donors]
        raise DataError(
            f"synthetic control needs at least {MIN_DONORS} never-treated {unit}s as donors; "
            f"found {donors.size} ({have}). Add comparison {unit}s that were never launched to."
        )
    starts = np.unique(adoption[np.isfinite(adoption)]).astype(int)
    cohorts = tuple(Cohort(start=int(g), units=np.flatnonzero(adoption == g)) for g in starts)
    for c in cohorts:
        if c.start < MIN_PRE_PERIODS:
            names = [panel.unit_label(i) for i in c.units]
            raise DataError(
                f"treated {unit}(s) {names} start at {time}={panel.time_label(c.start)!r} with "
                "only "
                f"{c.start} pre-launch period(s); synthetic control needs at least "
                f"{MIN_PRE_PERIODS} to fit weights. Add earlier periods or drop these units."
            )
    first = cohorts[0]
    pre = Y[np.concatenate([donors, first.units]), : first.start]
    if np.ptp(pre) == 0.0:
        raise DataError(
            f"outcome {outcome!r} is constant ({float(pre.flat[0])!r}) for every {unit} over the "
            f"pre-launch periods {panel.time_label(0)!r}…{panel.time_label(first.start - 1)!r}; "
            "there is nothing to match. Check the outcome column."
        )
    return SynthData(Y=Y, donors=donors, cohorts=cohorts, panel=panel, covariates=covs)


def _missing_outcomes(
    frame: pd.DataFrame, *, outcome: str, unit: str, time: str, treatment: str
) -> None:
    """Raise a synthetic-control-specific error for missing outcome values."""
    y = frame[outcome]
    if not pd.api.types.is_numeric_dtype(y) or y.dtype == bool:
        return  # prepare_panel explains the dtype problem
    bad = ~np.isfinite(y.to_numpy(dtype=float, na_value=np.nan))
    if not bad.any():
        return
    d = pd.to_numeric(frame[treatment], errors="coerce").fillna(0).to_numpy()
    ever = pd.Series(d, index=frame.index).groupby(frame[unit]).transform("max").to_numpy() > 0
    rows = frame.loc[bad]
    treated_rows = rows.loc[ever[bad]]
    if not treated_rows.empty:
        who = treated_rows[unit].iloc[0]
        sel = treated_rows[treated_rows[unit] == who]
        pre = sel[pd.to_numeric(sel[treatment], errors="coerce").fillna(0).to_numpy() == 0]
        when = list(pre[time].head(5)) if not pre.empty else list(sel[time].head(5))
        phase = "pre-launch" if not pre.empty else "post-launch"
        raise DataError(
            f"treated {unit}={_item(who)!r} has a missing {outcome!r} in {phase} {time}(s) "
            f"{[_item(v) for v in when]}; synthetic control needs every outcome of a treated "
            f"{unit}. Fill those periods or drop the unit."
        )
    who = rows[unit].iloc[0]
    when = list(rows.loc[rows[unit] == who, time].head(5))
    raise DataError(
        f"donor {unit}={_item(who)!r} has gaps: {outcome!r} is missing at {time}(s) "
        f"{[_item(v) for v in when]} ({int(bad.sum())} missing value(s) in all). Donors need a "
        "complete outcome path: impute the gaps or drop the donor."
    )


def _gaps(panel: Panel, adoption: np.ndarray, *, unit: str, time: str) -> None:
    """Raise for the first unit that lacks a row for some period."""
    f = panel.frame
    counts = f.groupby("unit").size().reindex(range(panel.n_units), fill_value=0).to_numpy()
    row = int(np.flatnonzero(counts < panel.n_periods)[0])
    seen = f.loc[f["unit"] == row, "t"].to_numpy()
    missing = np.setdiff1d(np.arange(panel.n_periods), seen)
    when = [panel.time_label(t) for t in missing[:5]]
    who = panel.unit_label(row)
    if np.isfinite(adoption[row]):
        pre = missing[missing < adoption[row]]
        phase = "pre-launch " if pre.size else ""
        raise DataError(
            f"treated {unit}={who!r} has no row for {phase}{time}(s) {when}; synthetic control "
            f"needs every outcome of a treated {unit}. Fill those periods or drop the unit."
        )
    raise DataError(
        f"donor {unit}={who!r} has gaps: no row for {time}(s) {when} ({missing.size} missing "
        "period(s)). Synthetic control needs a balanced panel: impute the gaps or drop the donor."
    )


def _item(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value.item() if hasattr(value, "item") else value
