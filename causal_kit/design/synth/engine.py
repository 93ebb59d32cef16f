"""Fit the chosen estimator on any assignment of donors and treated cohorts, reusing work.

Every refit (placebos, bootstrap draws, leave-one-donor-out) is the same computation with
different donor rows and treated rows. The pre-launch Gram matrices of all units are computed
once per adoption period; a refit only slices them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from causal_kit.design.synth.data import SynthData
from causal_kit.design.synth.estimators import (
    Fit,
    Moments,
    Predictors,
    fit_asc,
    fit_sc,
    fit_sdid,
)

Groups = Sequence[tuple[int, np.ndarray]]  # (first treated period index, treated rows)


@dataclass(frozen=True)
class Settings:
    """What to fit: the method and its tuning."""

    method: str
    intercept: bool = False
    ridge_penalty: float | None = None
    covariates: tuple[str, ...] = ()
    outcome_lags: tuple[int, ...] = ()
    predictor_weights: np.ndarray | None = None

    @property
    def uses_predictors(self) -> bool:
        """Whether ``sc`` matches on predictors rather than the whole pre-launch path."""
        return bool(self.covariates or self.outcome_lags)


@dataclass(frozen=True)
class CohortFit:
    """The fit of one cohort."""

    start: int
    rows: np.ndarray
    fit: Fit

    @property
    def n_units(self) -> int:
        """Treated units in the cohort."""
        return int(self.rows.size)

    @property
    def n_post(self) -> int:
        """Post-launch periods."""
        return int(self.fit.gap.size - self.start)

    @property
    def unit_periods(self) -> int:
        """Treated unit-periods (the cohort's weight in the overall effect)."""
        return self.n_units * self.n_post


@dataclass(frozen=True)
class Result:
    """Fits of all cohorts and their aggregate."""

    cohorts: tuple[CohortFit, ...]

    @property
    def att(self) -> float:
        """ATT: cohort effects weighted by treated unit-periods."""
        w = np.array([c.unit_periods for c in self.cohorts], dtype=float)
        a = np.array([c.fit.att for c in self.cohorts])
        return float(w @ a / w.sum())

    def _ms(self, post: bool) -> float:
        num = den = 0.0
        for c in self.cohorts:
            g = c.fit.gap[c.start :] if post else c.fit.gap[: c.start]
            num += c.n_units * float(np.sum(g**2))
            den += c.n_units * g.size
        return num / den

    @property
    def pre_rmspe(self) -> float:
        """Pre-launch RMSPE pooled over cohorts (weighted by units)."""
        return float(np.sqrt(self._ms(False)))

    @property
    def post_rmspe(self) -> float:
        """Post-launch RMSPE pooled over cohorts (weighted by units)."""
        return float(np.sqrt(self._ms(True)))

    @property
    def ratio(self) -> float:
        """Post/pre RMSPE ratio."""
        pre = self.pre_rmspe
        return self.post_rmspe / pre if pre > 0 else np.inf

    def effects(self, single: bool) -> np.ndarray:
        """Per-term effects: post-launch gaps by period (one cohort) or by event time."""
        if single:
            c = self.cohorts[0]
            return c.fit.gap[c.start :].copy()
        horizon = max(c.n_post for c in self.cohorts)
        num = np.zeros(horizon)
        den = np.zeros(horizon)
        for c in self.cohorts:
            num[: c.n_post] += c.n_units * c.fit.gap[c.start :]
            den[: c.n_post] += c.n_units
        return num / den

    def gap_path(self, single: bool) -> np.ndarray:
        """Gaps over all periods (one cohort) or over event time ``−max_pre…`` (several)."""
        if single:
            return self.cohorts[0].fit.gap.copy()
        lead = max(c.start for c in self.cohorts)
        horizon = max(c.n_post for c in self.cohorts)
        num = np.zeros(lead + horizon)
        den = np.zeros(lead + horizon)
        for c in self.cohorts:
            lo = lead - c.start
            num[lo : lo + c.fit.gap.size] += c.n_units * c.fit.gap
            den[lo : lo + c.fit.gap.size] += c.n_units
        with np.errstate(invalid="ignore"):
            return num / den


def _qp_slice(G: np.ndarray, donors: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the donors' block of a Gram matrix and its mean column over the treated rows.

    ``take`` along each axis in turn copies the block three times faster than ``G[np.ix_]``.
    """
    Gd = G.take(donors, 0)
    return Gd.take(donors, 1), Gd.take(rows, 1).mean(axis=1)


@dataclass
class Engine:
    """Fits on a panel with shared pre-launch Gram matrices."""

    data: SynthData
    settings: Settings
    _grams: dict[tuple[int, bool], np.ndarray] = field(default_factory=dict)
    _totals: dict[int, tuple[np.ndarray, ...]] = field(default_factory=dict)
    fixed: dict[tuple[str, int], Any] = field(default_factory=dict)

    def gram(self, start: int, centred: bool) -> np.ndarray:
        """Gram matrix of all units' outcomes over periods ``< start`` (unit-demeaned if asked)."""
        key = (start, centred)
        if key not in self._grams:
            pre = self.data.Y[:, :start]
            if centred:
                pre = pre - pre.mean(axis=1, keepdims=True)
            self._grams[key] = pre @ pre.T
        return self._grams[key]

    def moments(self, start: int, donors: np.ndarray) -> Moments:
        """SDID's pre-launch moments of ``donors`` (rows may repeat), from panel-wide totals.

        The totals over all units are computed once per adoption period; a donor set differs
        from "every unit once" in a few units (the treated ones and a placebo's stand-in), whose
        shares are added or removed. Far-off sets are summed directly.
        """
        if start not in self._totals:
            pre = self.data.Y[:, :start]
            diffs = np.diff(pre, axis=1)
            shift = pre.mean(axis=0)
            centred = pre - shift
            self._totals[start] = (centred, centred.T @ centred, shift, diffs.sum(axis=1),
                                   (diffs**2).sum(axis=1))
        centred, gram, shift, d1, d2 = self._totals[start]
        delta = np.bincount(donors, minlength=d1.size) - 1
        changed = np.flatnonzero(delta)
        if changed.size * 2 > donors.size:
            return Moments.of(self.data.Y[donors, :start])
        rows = centred[changed]
        gram = gram + rows.T @ (delta[changed, None] * rows)
        counts = delta + 1
        return Moments(gram, shift, float(counts @ d1), float(counts @ d2),
                       int(donors.size * max(start - 1, 0)))

    def fit(self, donors: np.ndarray, groups: Groups, end: Sequence[int] | None = None) -> Result:
        """Fit every cohort in ``groups`` against ``donors`` (rows may repeat).

        ``end`` optionally truncates each cohort's periods (exclusive), for fake launch dates.
        """
        out = []
        for i, (start, rows) in enumerate(groups):
            stop = self.data.n_periods if end is None else int(end[i])
            fit = self._fit_one(donors, start, rows, stop)
            out.append(CohortFit(start=start, rows=rows, fit=fit))
        return Result(cohorts=tuple(out))

    def _fit_one(self, donors: np.ndarray, start: int, rows: np.ndarray, stop: int) -> Fit:
        s = self.settings
        Y = self.data.Y[:, :stop]
        Yd = Y[donors]
        y1 = Y[rows].mean(axis=0)
        if s.method == "sdid":
            G = self.gram(start, True)
            qp = _qp_slice(G, donors, rows)
            support = self.fixed.get(("omega_support", start))
            omega_start = None
            if support is not None:
                # A refit of the same treated units starts from the main fit's support; a placebo
                # or bootstrap draw, about which that support says little, starts at a vertex
                # (the exact solver adds donors in growing blocks).
                same = np.array_equal(rows, self.fixed[("rows", start)])
                omega_start = np.flatnonzero(np.isin(donors, support)) if same else np.arange(0)
            lam_start = self.fixed.get(("lambda_support", start))
            if lam_start is not None and lam_start.size and lam_start.max() >= start:
                lam_start = None  # a fake launch date: fewer pre-launch periods
            return fit_sdid(
                Yd,
                y1,
                start,
                rows.size,
                qp_omega=qp,
                omega_start=omega_start,
                lambda_start=lam_start,
                moments=self.moments(start, donors),
            )
        if s.method == "asc":
            G = self.gram(start, False)
            qp = _qp_slice(G, donors, rows)
            lam = self.fixed.get(("lambda", start), s.ridge_penalty)
            return fit_asc(Yd, y1, start, lam=lam, qp=qp)
        if s.uses_predictors:
            return fit_sc(
                Yd,
                y1,
                start,
                intercept=s.intercept,
                predictors=self.predictors(donors, start, rows),
            )
        G = self.gram(start, s.intercept)
        qp = _qp_slice(G, donors, rows)
        return fit_sc(Yd, y1, start, intercept=s.intercept, qp=qp)

    def predictor_matrix(self, start: int) -> tuple[np.ndarray, tuple[str, ...]]:
        """Predictors of every unit ``(k, n_units)``: covariate pre-launch means, outcome lags."""
        rows, names = [], []
        for name in self.settings.covariates:
            rows.append(self.data.covariates[name][:, :start].mean(axis=1))
            names.append(f"{name} (pre-launch mean)")
        for t in self.settings.outcome_lags:
            rows.append(self.data.Y[:, t])
            names.append(f"outcome at {self.data.time_label(t)}")
        return np.vstack(rows), tuple(names)

    def predictors(self, donors: np.ndarray, start: int, rows: np.ndarray) -> Predictors:
        """Predictor problem for one cohort.

        Refits of the same treated units (leave-one-donor-out, fake launch dates, conformal)
        keep the ``V`` the main fit chose. A placebo unit gets its own nested ``V`` search, as
        in the placebo studies of Abadie, Diamond & Hainmueller (2010, 2015): reusing the
        treated unit's ``V`` would give placebos a worse fit than the treated unit by
        construction, and inflate their post/pre ratios' denominators unevenly.
        """
        X, names = self.predictor_matrix(start)
        v = self.settings.predictor_weights
        main_rows = self.fixed.get(("v_rows", start))
        if v is None and main_rows is not None and np.array_equal(rows, main_rows):
            v = self.fixed.get(("v", start))
        return Predictors(X0=X[:, donors], x1=X[:, rows].mean(axis=1), names=names, v=v)

    def freeze(self, result: Result, donors: np.ndarray) -> None:
        """Keep the tuning the main fit chose (ridge penalty, predictor weights) for refits.

        SDID refits also warm-start their weight problems from the main fit's supports (the
        donors and pre-launch periods with positive weight), which saves most active-set steps
        without changing any solution.
        """
        for c in result.cohorts:
            if c.fit.time_weights is not None:
                self.fixed[("omega_support", c.start)] = donors[c.fit.weights > 0]
                self.fixed[("lambda_support", c.start)] = np.flatnonzero(c.fit.time_weights > 0)
                self.fixed[("rows", c.start)] = c.rows
            if "ridge_penalty" in c.fit.extra:
                self.fixed[("lambda", c.start)] = c.fit.extra["ridge_penalty"]
            if "predictor_weights" in c.fit.extra:
                self.fixed[("v", c.start)] = c.fit.extra["predictor_weights"]
                self.fixed[("v_rows", c.start)] = c.rows
