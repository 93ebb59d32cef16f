"""Power before launch: the smallest effect a planned launch can show, and what showing one takes.

:func:`power` answers the planning question of a launch plan — *with this much data, what effect
could we detect?* — before any user sees the feature.

* ``design="experiment"`` (a randomized holdout, one row per user in the history): analytic. With
  ``n`` users, a share ``p`` treated and the outcome's standard deviation ``σ``, the minimum
  detectable effect of a two-sided test at level ``1 − α`` with power ``1 − β`` is
  ``(z_{1−α/2} + z_{1−β}) · σ · sqrt(1/n_t + 1/n_c)``; CUPED covariates shrink ``σ`` by
  ``sqrt(1 − R²)``, ``R²`` that of the pooled regression of the outcome on the covariates.
* ``design="did"`` or ``"sc"`` (a regional rollout, a pre-launch ``unit × time`` history):
  simulation on the history itself, the way GeoLift plans geo tests. Each simulation draws a
  placebo launch — a set of treated units (random when ``treated_units`` is a count) and a start
  date with enough history before it and ``periods`` periods after it — and runs the design on
  the history truncated there. An injected effect ``δ`` is a constant shift of the treated
  unit-periods; every design of the kit is equivariant to such a shift (the estimate moves by
  ``δ``, its interval by ``δ``, its standard error not at all — tested), so one run per placebo
  launch gives the detection rate at every effect size: detected when the interval excludes zero.
  The placebo runs also carry what the history's own noise and drifts do to the design, which an
  analytic formula for panels would have to assume away.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from causal_kit.business.plan import MdeFigure, mde_flag
from causal_kit.core.errors import CausalKitError, DataError, SpecificationError
from causal_kit.core.frames import to_pandas
from causal_kit.core.options import PowerDesign, check_option
from causal_kit.core.render import Rendered, ShowsSummary, number
from causal_kit.evidence._designs import design_function

__all__ = ["Power", "power"]

_GRID = 41  # effect sizes on the power curve


@dataclass(frozen=True)
class Power(ShowsSummary):
    """What a planned launch can detect.

    Attributes
    ----------
    design
        ``"experiment"``, ``"did"`` or ``"sc"``.
    outcome
        The metric planned for.
    level
        Confidence level of the test (``0.95``: two-sided at 5%).
    power
        Probability of detecting an effect of size :attr:`mde`.
    mde
        Minimum detectable effect at that power and level, in the outcome's units (per user for
        an experiment, per unit-period for a panel design); ``inf`` when no effect in reach is
        detected that often.
    curve
        Tidy frame ``effect`` → ``power`` (detection probability), from zero to about 2.5 MDE.
    n
        Users (experiment) or units (panel designs) in the history.
    periods
        Post-launch periods planned (panel designs; ``None`` for an experiment).
    baseline
        Mean of the outcome in the history, so the MDE can be read as a percentage.
    details
        Design-specific figures: standard error, CUPED factor, simulations run, placebo draws.
    """

    design: str
    outcome: str
    level: float
    power: float
    mde: float
    curve: pd.DataFrame
    n: int
    periods: int | None
    baseline: float
    details: dict[str, Any] = field(default_factory=dict)
    _search: Callable[[str, float], int | None] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def mde_relative(self) -> float:
        """The MDE as a share of the baseline (``0.02`` = 2%); ``nan`` for a zero baseline."""
        return self.mde / abs(self.baseline) if self.baseline else math.nan

    def power_at(self, effect: float) -> float:
        """Return the detection probability of an effect of size ``effect`` (interpolated)."""
        grid = self.curve
        return float(np.interp(abs(effect), grid["effect"], grid["power"]))

    def periods_needed(self, effect: float) -> int | None:
        """Return the post-launch periods needed to detect ``effect`` with :attr:`power`.

        For an experiment, periods are those of the history's ``time`` column: users keep
        arriving at the history's rate. ``None`` when even all the periods the history allows do
        not reach the power (then more units are needed).

        Raises
        ------
        SpecificationError
            If ``effect`` is not a positive finite number, or an experiment was planned without
            ``time=`` (then use :meth:`users_needed`).
        """
        return self._need("periods", effect)

    def users_needed(self, effect: float) -> int:
        """Return the users an experiment needs to detect ``effect`` (both arms together)."""
        if self.design != "experiment":
            raise SpecificationError(
                "users_needed() is for design='experiment'; for a panel design use "
                "units_needed() or periods_needed()."
            )
        _positive(effect)
        share = self.details["treated_share"]
        sigma = self.details["sigma"]
        z = self.details["z_alpha"] + self.details["z_power"]
        return math.ceil((z * sigma / abs(effect)) ** 2 * (1 / share + 1 / (1 - share)))

    def units_needed(self, effect: float) -> int | None:
        """Return the treated units a panel design needs to detect ``effect``.

        In the periods planned; ``None`` when treating half the units is not enough.
        """
        if self.design == "experiment":
            raise SpecificationError("units_needed() is for panel designs; use users_needed().")
        return self._need("units", effect)

    def mde_figure(self, target: float, *, unit_name: str = "regions") -> MdeFigure:
        """Return what a plan registration needs to flag a target this launch cannot show.

        Raises
        ------
        SpecificationError
            For an experiment, whose shortfall is in users (see :meth:`shortfall`).
        """
        if self.design == "experiment" or self.periods is None:
            raise SpecificationError("mde_figure() is for panel designs; an experiment's "
                                     "shortfall is in users: see shortfall().")
        short = self.power_at(target) < self.power
        units = self.units_needed(target) if short else None
        return MdeFigure(mde=self.mde, weeks=self.periods,
                         weeks_needed=self.periods_needed(target) if short else None,
                         more_units=None if units is None else units - self.details["n_treated"],
                         unit_name=unit_name, baseline=self.baseline)

    def shortfall(self, target: float, *, unit_name: str = "regions") -> str | None:
        """Say what the plan lacks to show ``target``, or ``None`` when it can show it.

        Returns a sentence such as "this launch cannot show its business target in 8 weeks; you
        need 14 weeks or 6 more regions" (panel designs, periods read as weeks), or, for an
        experiment, the users it needs.
        """
        if self.power_at(target) >= self.power:
            return None
        if self.design != "experiment":
            return mde_flag(abs(target), self.mde_figure(target, unit_name=unit_name))
        need = f"{self.users_needed(target):,} users"
        if self.details.get("time") is not None:
            need = f"{self.periods_needed(target)} periods or {need}"
        return (f"this experiment cannot show its target of {target:.4g} with "
                f"{self.n:,} users; you need {need}")

    def plot(self, ax: Any = None) -> Any:
        """Plot the power curve with the MDE marked; returns the matplotlib Figure."""
        from matplotlib.figure import Figure

        from causal_kit.core.plot import PALETTE

        if ax is None:
            fig = Figure(figsize=(6.5, 3.6))
            ax = fig.subplots()
        else:
            fig = ax.figure
        ax.plot(self.curve["effect"], self.curve["power"], color=PALETTE[0], lw=2)
        ax.axhline(self.power, color="0.5", lw=0.8, ls="--")
        if math.isfinite(self.mde):
            ax.axvline(self.mde, color=PALETTE[1], lw=1.2, label=f"MDE {self.mde:.3g}")
            ax.legend(frameon=False, loc="lower right")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(f"true effect on {self.outcome}")
        ax.set_ylabel("chance of detecting it")
        ax.set_title(f"Power ({self.design}, {self.level:.0%} level)")
        return fig

    def summary(self) -> Rendered:
        """Return the MDE, its share of the baseline and the inputs behind it."""
        rows = [
            ("design", self.design),
            ("outcome", self.outcome),
            ("minimum detectable effect", number(self.mde)),
            ("as share of baseline", f"{self.mde_relative:.2%}"
             if math.isfinite(self.mde_relative) else "n/a"),
            ("power / level", f"{self.power:.0%} / {self.level:.0%}"),
            ("users" if self.design == "experiment" else "units", f"{self.n:,}"),
        ]
        if self.periods is not None:
            rows.append(("post-launch periods", str(self.periods)))
        return Rendered(f"Power: {self.outcome}", rows, [("power curve", self.curve)])

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe description."""
        return {
            "design": self.design, "outcome": self.outcome, "level": self.level,
            "power": self.power, "mde": _finite(self.mde),
            "mde_relative": _finite(self.mde_relative), "n": self.n, "periods": self.periods,
            "baseline": _finite(self.baseline),
            "curve": [{"effect": float(e), "power": float(p)}
                      for e, p in zip(self.curve["effect"], self.curve["power"], strict=True)],
        }

    def _need(self, what: str, effect: float) -> int | None:
        _positive(effect)
        if self._search is None:
            raise SpecificationError(
                "periods_needed() for an experiment needs the history's arrival times: call "
                "ck.power(..., time='<first-exposure date column>'), or use users_needed()."
            )
        return self._search(what, abs(effect))


def power(
    history: Any,
    *,
    design: str,
    outcome: str,
    level: float = 0.95,
    power: float = 0.8,
    treated_share: float = 0.5,
    covariates: Sequence[str] = (),
    unit: str | None = None,
    time: str | None = None,
    treated_units: int | Sequence[Any] | None = None,
    periods: int | None = None,
    min_pre_periods: int | None = None,
    n_sims: int = 200,
    seed: int | None = 0,
    progress: bool = True,
    design_options: dict[str, Any] | None = None,
) -> Power:
    """Return the minimum detectable effect of a planned launch and its power curve.

    Parameters
    ----------
    history
        Before launch: one row per user (``design="experiment"``), or a long ``unit × time``
        panel of the outcome (``"did"``, ``"sc"``). Never modified.
    design
        ``"experiment"``, ``"did"`` or ``"sc"``.
    outcome
        Numeric outcome column.
    level
        Confidence level of the planned test (two-sided).
    power
        Wanted probability of detecting the effect.
    treated_share
        Experiment: the planned share of users in the treated arm.
    covariates
        Experiment: pre-period columns for CUPED.
    unit, time
        Panel designs: unit and period columns. Experiment: ``time`` optionally names each
        user's first-exposure period, so :meth:`Power.periods_needed` knows the arrival rate.
    treated_units
        Panel designs: how many units will launch (drawn at random in each simulation), or the
        list of units that will.
    periods
        Panel designs: post-launch periods planned.
    min_pre_periods
        Panel designs: the fewest periods before a placebo launch (default: half the history,
        at least 4).
    n_sims
        Panel designs: placebo launches simulated.
    seed
        Seed of the placebo draws.
    progress
        Show a progress bar over the simulations.
    design_options
        Extra arguments for the design's front door (e.g. ``{"method": "sdid"}``).

    Returns
    -------
    Power

    Raises
    ------
    SpecificationError
        If an option is invalid or a panel argument is missing.
    DataError
        If a column is missing, the outcome is not numeric or has no variation, or the history
        is too short for the periods planned.
    """
    check_option("design", design, PowerDesign)
    _check_probability("level", level)
    _check_probability("power", power)
    if design == "experiment":
        return _experiment_power(history, outcome=outcome, level=level, power=power,
                                 share=treated_share, covariates=covariates, time=time)
    missing = [name for name, value in (("unit", unit), ("time", time),
                                        ("treated_units", treated_units),
                                        ("periods", periods)) if value is None]
    if missing:
        raise SpecificationError(
            f"design={design!r} plans by simulation on the pre-launch history and needs "
            f"{', '.join(m + '=' for m in missing)}; e.g. ck.power(history, "
            f"design={design!r}, outcome=..., unit='region', time='week', treated_units=6, "
            "periods=12)."
        )
    assert unit is not None and time is not None and treated_units is not None
    assert periods is not None
    sim = _PanelSim.build(history, design=design, outcome=outcome, unit=unit, time=time,
                          treated_units=treated_units, min_pre=min_pre_periods, level=level,
                          seed=seed, progress=progress, options=design_options or {})
    return sim.result(periods=periods, n_sims=n_sims, power=power)


# --- experiment: the textbook formula ------------------------------------------------------------


def _experiment_power(history: Any, *, outcome: str, level: float, power: float, share: float,
                      covariates: Sequence[str], time: str | None) -> Power:
    if not 0 < share < 1:
        raise SpecificationError(f"treated_share={share!r} must be strictly between 0 and 1.")
    cols = [outcome, *covariates] + ([time] if time else [])
    frame = to_pandas(history, cols, what="history")
    y = _numeric(frame, outcome)
    n = len(y)
    if n < 4:
        raise DataError(f"history has {n} users; power needs at least 4 rows.")
    sigma = float(np.std(y, ddof=1))
    if not sigma > 0:
        raise DataError(f"outcome {outcome!r} does not vary in the history; nothing to plan.")
    factor = 1.0
    if covariates:
        X = np.column_stack([_numeric(frame, c) for c in covariates])
        Xc = X - X.mean(axis=0)
        yc = y - y.mean()
        beta, *_ = np.linalg.lstsq(Xc, yc, rcond=None)
        r2 = 1.0 - float(np.sum((yc - Xc @ beta) ** 2)) / float(np.sum(yc**2))
        factor = math.sqrt(max(1.0 - r2, 0.0))
    sigma_adj = sigma * factor
    n_t, n_c = share * n, (1 - share) * n
    se = sigma_adj * math.sqrt(1 / n_t + 1 / n_c)
    z_a, z_b = float(stats.norm.ppf(1 - (1 - level) / 2)), float(stats.norm.ppf(power))
    mde = (z_a + z_b) * se
    effects = np.linspace(0.0, 2.5 * mde, _GRID)
    detect = stats.norm.cdf(effects / se - z_a) + stats.norm.cdf(-effects / se - z_a)
    curve = pd.DataFrame({"effect": effects, "power": detect})
    details: dict[str, Any] = {
        "sigma": sigma_adj, "sigma_raw": sigma, "cuped_factor": factor, "se": se,
        "treated_share": share, "z_alpha": z_a, "z_power": z_b, "time": time,
        "covariates": list(covariates),
    }
    search = None
    if time is not None:
        n_periods = frame[time].nunique()
        details["users_per_period"] = n / n_periods

        def search(what: str, effect: float) -> int | None:
            needed = math.ceil((z_a + z_b) ** 2 * sigma_adj**2 / effect**2
                               * (1 / share + 1 / (1 - share)))
            return math.ceil(needed / details["users_per_period"])

    return Power("experiment", outcome, level, power, mde, curve, n, None,
                 float(np.mean(y)), details, search)


# --- panel designs: placebo launches in the history ----------------------------------------------


@dataclass
class _PanelSim:
    """Placebo launches in a pre-launch panel, run through a design and cached."""

    panel: pd.DataFrame
    design: str
    outcome: str
    unit: str
    time: str
    units: np.ndarray
    times: np.ndarray
    treated: int | list[Any]
    min_pre: int
    level: float
    seed: int | None
    progress: bool
    options: dict[str, Any]
    cache: dict[tuple[int, int, int], np.ndarray] = field(default_factory=dict)

    @classmethod
    def build(cls, history: Any, *, design: str, outcome: str, unit: str, time: str,
              treated_units: int | Sequence[Any], min_pre: int | None, level: float,
              seed: int | None, progress: bool, options: dict[str, Any]) -> _PanelSim:
        frame = to_pandas(history, [unit, time, outcome], what="history")
        _numeric(frame, outcome)
        if frame.duplicated([unit, time]).any():
            dup = frame.loc[frame.duplicated([unit, time]), [unit, time]].iloc[0].tolist()
            raise DataError(f"history has several rows for {unit}={dup[0]!r}, {time}={dup[1]!r};"
                            " give one row per unit and period.")
        units = np.sort(frame[unit].unique())
        times = np.sort(frame[time].unique())
        if isinstance(treated_units, (int, np.integer)) and not isinstance(treated_units, bool):
            if not 1 <= int(treated_units) <= len(units) - 2:
                raise SpecificationError(
                    f"treated_units={treated_units!r}: the history has {len(units)} units, so "
                    f"between 1 and {len(units) - 2} can launch (two stay as comparison)."
                )
            treated: int | list[Any] = int(treated_units)
        else:
            treated = list(treated_units)  # type: ignore[arg-type]
            unknown = [u for u in treated if u not in set(units.tolist())]
            if unknown or not treated:
                raise DataError(f"treated_units {unknown or treated!r} are not units of the "
                                f"history's {unit!r} column.")
        pre = max(4, len(times) // 2) if min_pre is None else int(min_pre)
        options = dict(options)
        if design == "did":
            # the placebo runs need the interval only: skip the HonestDiD sensitivity analysis
            options.setdefault("sensitivity", False)
        return cls(frame, design, outcome, unit, time, units, times, treated, pre, level, seed,
                   progress, options)

    @property
    def n_treated(self) -> int:
        return self.treated if isinstance(self.treated, int) else len(self.treated)

    def draws(self, periods: int, n_sims: int, n_treated: int | None = None) -> np.ndarray:
        """Interval ends ``(n_sims, 2)`` of the design on placebo launches, cached."""
        k = self.n_treated if n_treated is None else n_treated
        key = (periods, n_sims, k)
        if key not in self.cache:
            self.cache[key] = self._run(periods, n_sims, k)
        return self.cache[key]

    def _run(self, periods: int, n_sims: int, k: int) -> np.ndarray:
        T = len(self.times)
        if periods < 1 or self.min_pre + periods > T:
            raise DataError(
                f"the history has {T} periods of {self.time!r}; a placebo launch with "
                f"{self.min_pre} periods before it and periods={periods} after it does not fit. "
                "Give a longer history, fewer periods, or a smaller min_pre_periods."
            )
        rng = np.random.default_rng(np.random.SeedSequence([self.seed or 0, periods, k]))
        starts = rng.integers(self.min_pre, T - periods + 1, size=n_sims)
        front = design_function(self.design)
        ends = np.empty((n_sims, 2))
        t_index = pd.Index(self.times).get_indexer(self.panel[self.time])
        u_values = self.panel[self.unit].to_numpy()
        bar = _progress(n_sims, self.progress, f"power: {n_sims} placebo launches")
        for s in range(n_sims):
            if isinstance(self.treated, int):
                chosen = rng.choice(self.units, size=k, replace=False)
            else:
                chosen = np.asarray(self.treated[:k] if k <= len(self.treated) else self.treated)
            keep = t_index < starts[s] + periods
            data = self.panel.loc[keep, [self.unit, self.time, self.outcome]].copy()
            data["_treated"] = (np.isin(u_values[keep], chosen)
                                & (t_index[keep] >= starts[s])).astype(int)
            try:
                est = front(data, outcome=self.outcome, unit=self.unit, time=self.time,
                            treatment="_treated", level=self.level, **self.options)
            except CausalKitError as exc:
                raise DataError(f"the {self.design} design failed on a placebo launch of the "
                                f"history: {exc}") from exc
            ends[s] = est.ci
            bar.update(1)
        bar.close()
        return ends

    def result(self, *, periods: int, n_sims: int, power: float) -> Power:
        ends = self.draws(periods, n_sims)
        mde = _mde(ends, power)
        top = 2.5 * mde if math.isfinite(mde) else 2.5 * float(np.nanmax(np.abs(ends)))
        effects = np.linspace(0.0, top, _GRID)
        curve = pd.DataFrame({"effect": effects, "power": _detection(ends, effects)})
        details = {"n_sims": n_sims, "n_treated": self.n_treated, "min_pre_periods": self.min_pre,
                   "half_width": float(np.median(ends[:, 1] - ends[:, 0]) / 2),
                   "placebo_false_positive": float(_detection(ends, np.zeros(1))[0])}
        baseline = float(self.panel[self.outcome].mean())

        def search(what: str, effect: float) -> int | None:
            if what == "periods":
                top_p = len(self.times) - self.min_pre
                return _smallest(lambda p: _detection(self.draws(p, n_sims), [effect])[0]
                                 >= power, periods, top_p)
            # a comparison of treated and untreated means is most precise when they are equal
            # in number, so more treated units help only up to half of them
            top_k = len(self.units) // 2 if isinstance(self.treated, int) else self.n_treated
            return _smallest(lambda k: _detection(self.draws(periods, n_sims, k), [effect])[0]
                             >= power, self.n_treated, top_k)

        return Power(self.design, self.outcome, self.level, power, mde, curve,
                     len(self.units), periods, baseline, details, search)


def _detection(ends: np.ndarray, effects: Any) -> np.ndarray:
    """Share of placebo intervals that exclude zero once shifted by each effect."""
    shift = np.asarray(effects, dtype=float)[None, :]
    low, high = ends[:, :1] + shift, ends[:, 1:] + shift
    return np.mean((low > 0) | (high < 0), axis=0)


def _mde(ends: np.ndarray, power: float) -> float:
    """Smallest non-negative shift at which the detection rate reaches ``power``."""
    candidates = np.unique(np.concatenate([[0.0], np.maximum(-ends[:, 0], 0.0)]))
    nudged = np.nextafter(candidates, np.inf)  # just past each interval's flip to detected
    rate = _detection(ends, nudged)
    hit = np.flatnonzero(rate >= power)
    return float(nudged[hit[0]]) if hit.size else math.inf


def _smallest(ok: Callable[[int], bool], start: int, stop: int) -> int | None:
    """Smallest ``x`` in ``[start, stop]`` with ``ok(x)`` (assumed monotone), by bisection."""
    if start > stop or not ok(stop):
        return None
    lo, hi = start, stop
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _progress(total: int, show: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not show, leave=False)


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise DataError(f"column {column!r} must be numeric; it holds {values.dtype}.")
    array = values.to_numpy(dtype=float)
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise DataError(f"column {column!r} has {bad} missing or infinite values; drop or fill "
                        "them before planning.")
    return array


def _check_probability(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not 0 < value < 1:
        raise SpecificationError(f"{name}={value!r} must be a probability strictly between 0 "
                                 "and 1, e.g. 0.95 for the level or 0.8 for the power.")


def _positive(effect: float) -> None:
    if not isinstance(effect, (int, float)) or not math.isfinite(effect) or effect == 0:
        raise SpecificationError(f"effect={effect!r} must be a non-zero finite number.")


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
