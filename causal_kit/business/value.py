"""Value models: how an effect on a metric becomes money per year, and what the model costs.

Every value model maps an array of effects (in the metric's units) to an array of yearly values
(in currency), vectorized, and is monotone in the effect, so that an interval on the effect maps
to an interval on money by mapping its ends (or the quantiles of draws).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from causal_kit.core.errors import CausalKitWarning, SpecificationError
from causal_kit.core.options import RetentionMetric, check_option


class ValueModel:
    """Base class of the value models (subclass it to write your own).

    A subclass implements :meth:`annual_value` (vectorized over effects), :meth:`describe`
    (the formula in words, with its inputs) and :meth:`to_dict`. ``monotone`` must stay ``True``
    unless the model is not monotone in the effect; non-monotone models need ``draws``.
    """

    monotone: bool = True

    def annual_value(self, effect: np.ndarray) -> np.ndarray:
        """Return the yearly value of each effect in ``effect``."""
        raise NotImplementedError

    def describe(self) -> str:
        """Return the formula in plain language, with the numbers filled in."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Return the model's name and inputs as a JSON-safe dictionary."""
        raise NotImplementedError


def _positive(name: str, value: Any, *, allow_zero: bool = True) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(f"{name} must be a number; got {value!r}.") from exc
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise SpecificationError(f"{name} must be a finite number {bound}; got {value!r}.")
    return v


def _finite(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(f"{name} must be a number; got {value!r}.") from exc
    if not math.isfinite(v):
        raise SpecificationError(f"{name} must be a finite number; got {value!r}.")
    return v


@dataclass(frozen=True)
class PerUserValue(ValueModel):
    """A per-user effect, annualised over the exposed users (a linear model).

    ``annual value = effect × users × value_per_unit × periods_per_year``

    Parameters
    ----------
    users
        How many units the effect applies to: exposed users, accounts, or the treated regions
        when the outcome is measured per region.
    value_per_unit
        Money per one unit of the metric (1.0 when the metric is already revenue; a negative
        number when an increase of the metric costs money).
    periods_per_year
        How many of the metric's periods make a year (52 for a weekly metric, 12 for monthly).
    unit_name
        What ``users`` counts, for the printed formula (``"users"``, ``"regions"``...).
    """

    users: float
    value_per_unit: float = 1.0
    periods_per_year: float = 1.0
    unit_name: str = "users"

    def __post_init__(self) -> None:
        object.__setattr__(self, "users", _positive("users", self.users))
        object.__setattr__(self, "value_per_unit", _finite("value_per_unit", self.value_per_unit))
        object.__setattr__(
            self,
            "periods_per_year",
            _positive("periods_per_year", self.periods_per_year, allow_zero=False),
        )

    @property
    def scale(self) -> float:
        """Money per year for an effect of one unit of the metric."""
        return self.users * self.value_per_unit * self.periods_per_year

    def annual_value(self, effect: np.ndarray) -> np.ndarray:
        """Return ``effect × users × value_per_unit × periods_per_year``."""
        return np.asarray(effect, dtype=float) * self.scale

    def describe(self) -> str:
        """Return the formula with its inputs."""
        return (
            f"effect × {self.users:,.6g} {self.unit_name} × {self.value_per_unit:,.6g} per unit "
            f"of the metric × {self.periods_per_year:g} periods per year"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the model's name and inputs."""
        return {
            "model": "per_user",
            "users": self.users,
            "value_per_unit": self.value_per_unit,
            "periods_per_year": self.periods_per_year,
            "unit_name": self.unit_name,
            "formula": self.describe(),
        }


@dataclass(frozen=True)
class RetentionValue(ValueModel):
    """A retention (or churn) effect turned into lifetime value, over an explicit horizon.

    A user is active in their first period and stays each further period with probability
    ``r`` (the per-period retention, ``1 - churn``). Over ``horizon_periods`` periods the
    expected lifetime is ``L(r) = 1 + r + … + r^(H-1) = (1 - r^H) / (1 - r)`` periods and the
    lifetime value is ``LTV(r) = revenue_per_period × L(r)``. The launch moves ``r`` from the
    baseline ``r0`` to ``r0 + effect`` (or ``1 - (churn0 + effect)`` for a churn effect), so

    ``annual value = users × (LTV(r0 + effect) - LTV(r0))``

    where ``users`` are the users whose lifetime the launch changes in a year (e.g. the yearly
    sign-ups it reaches). ``L`` is increasing in ``r``, so the model is monotone. Retention
    values outside ``[0, 1]`` are clipped to the range, with a warning.

    Parameters
    ----------
    users
        Users per year whose retention the launch changes.
    revenue_per_period
        Revenue per active user per period (the period of the retention rate, e.g. a month).
    baseline
        The per-period retention (or churn, see ``metric``) without the launch, in ``(0, 1)``.
    horizon_periods
        The lifetime horizon ``H`` in periods (e.g. 24 months); it caps the lifetime.
    metric
        ``"retention"`` when the effect is on the retention rate, ``"churn"`` when on churn.
    """

    users: float
    revenue_per_period: float
    baseline: float
    horizon_periods: int
    metric: RetentionMetric = "retention"

    def __post_init__(self) -> None:
        object.__setattr__(self, "users", _positive("users", self.users))
        object.__setattr__(
            self, "revenue_per_period", _finite("revenue_per_period", self.revenue_per_period)
        )
        check_option("metric", self.metric, RetentionMetric)
        b = _finite("baseline", self.baseline)
        if not 0.0 < b < 1.0:
            raise SpecificationError(
                f"baseline must be a {self.metric} rate strictly between 0 and 1 (e.g. 0.85); "
                f"got {self.baseline!r}."
            )
        object.__setattr__(self, "baseline", b)
        h = self.horizon_periods
        if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
            raise SpecificationError(
                f"horizon_periods must be a whole number of periods ≥ 1 (e.g. 24); got {h!r}."
            )
        object.__setattr__(self, "horizon_periods", int(h))

    @property
    def baseline_retention(self) -> float:
        """Per-period retention without the launch."""
        return self.baseline if self.metric == "retention" else 1.0 - self.baseline

    def lifetime(self, retention: np.ndarray) -> np.ndarray:
        """Return the expected active periods within the horizon for per-period ``retention``."""
        r = np.asarray(retention, dtype=float)
        h = self.horizon_periods
        near_one = np.abs(1.0 - r) < 1e-12
        safe = np.where(near_one, 0.5, r)
        return np.where(near_one, float(h), (1.0 - safe**h) / (1.0 - safe))

    def ltv(self, retention: np.ndarray) -> np.ndarray:
        """Return the lifetime value within the horizon for per-period ``retention``."""
        return self.revenue_per_period * self.lifetime(retention)

    def annual_value(self, effect: np.ndarray) -> np.ndarray:
        """Return ``users × (LTV(r0 + effect) - LTV(r0))`` (``r0 - effect`` for churn)."""
        e = np.asarray(effect, dtype=float)
        r0 = self.baseline_retention
        r = r0 + e if self.metric == "retention" else r0 - e
        outside = (r < 0) | (r > 1)
        if np.any(outside):
            warnings.warn(
                f"{int(np.sum(outside))} effect value(s) put {self.metric} outside [0, 1] "
                f"(baseline {self.baseline:g}); they were clipped to the range.",
                CausalKitWarning,
                stacklevel=3,
            )
            r = np.clip(r, 0.0, 1.0)
        return self.users * (self.ltv(r) - self.ltv(np.asarray(r0)))

    def describe(self) -> str:
        """Return the formula with its inputs."""
        r0 = self.baseline_retention
        return (
            f"{self.users:,.6g} users × (LTV with the effect − LTV without), LTV = "
            f"{self.revenue_per_period:,.6g} per period × expected lifetime over "
            f"{self.horizon_periods} periods at {self.metric} {self.baseline:g} "
            f"(baseline lifetime {float(self.lifetime(np.asarray(r0))):.3g} periods)"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the model's name and inputs."""
        return {
            "model": "retention_ltv",
            "users": self.users,
            "revenue_per_period": self.revenue_per_period,
            "baseline": self.baseline,
            "metric": self.metric,
            "horizon_periods": self.horizon_periods,
            "baseline_ltv": float(self.ltv(np.asarray(self.baseline_retention))),
            "formula": self.describe(),
        }


@dataclass(frozen=True)
class CostPerOutcomeValue(ValueModel):
    """An effect on the cost per completed outcome (lower is better), as yearly savings.

    ``annual value = -effect × outcomes_per_year``: a drop of the cost per resolved ticket by
    0.40 over 500,000 resolved tickets a year saves 200,000 a year.

    Parameters
    ----------
    outcomes_per_year
        Completed outcomes (resolved tickets, finished tasks...) per year.
    """

    outcomes_per_year: float

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "outcomes_per_year", _positive("outcomes_per_year", self.outcomes_per_year)
        )

    def annual_value(self, effect: np.ndarray) -> np.ndarray:
        """Return ``-effect × outcomes_per_year``."""
        return -np.asarray(effect, dtype=float) * self.outcomes_per_year

    def describe(self) -> str:
        """Return the formula with its inputs."""
        return f"−effect on cost per outcome × {self.outcomes_per_year:,.6g} outcomes per year"

    def to_dict(self) -> dict[str, Any]:
        """Return the model's name and inputs."""
        return {
            "model": "cost_per_outcome",
            "outcomes_per_year": self.outcomes_per_year,
            "formula": self.describe(),
        }


@dataclass(frozen=True)
class RunningCost:
    """The yearly cost of running a model: inference volume × unit cost + fixed costs.

    Parameters
    ----------
    inferences_per_year
        Model calls per year.
    cost_per_inference
        Money per call (compute, tokens, vendor fee).
    fixed_per_year
        Fixed yearly costs: hosting, maintenance, people.
    """

    inferences_per_year: float
    cost_per_inference: float
    fixed_per_year: float = 0.0

    def __post_init__(self) -> None:
        for name in ("inferences_per_year", "cost_per_inference", "fixed_per_year"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))

    @property
    def yearly(self) -> float:
        """The yearly cost."""
        return self.inferences_per_year * self.cost_per_inference + self.fixed_per_year

    def per_outcome(self, outcomes_per_year: float) -> float:
        """Return the cost per completed outcome for ``outcomes_per_year`` completed outcomes."""
        n = _positive("outcomes_per_year", outcomes_per_year, allow_zero=False)
        return self.yearly / n

    def to_dict(self) -> dict[str, Any]:
        """Return the inputs and the yearly total."""
        return {
            "inferences_per_year": self.inferences_per_year,
            "cost_per_inference": self.cost_per_inference,
            "fixed_per_year": self.fixed_per_year,
            "yearly": self.yearly,
            "formula": (
                f"{self.inferences_per_year:,.6g} calls × {self.cost_per_inference:,.6g} per call"
                f" + {self.fixed_per_year:,.6g} fixed"
            ),
        }


def cost_per_outcome(total_cost: float, completed_outcomes: float) -> float:
    """Return ``total_cost / completed_outcomes`` (e.g. cost per resolved ticket).

    Raises
    ------
    SpecificationError
        If ``completed_outcomes`` is not positive or either input is not finite.
    """
    cost = _positive("total_cost", total_cost)
    n = _positive("completed_outcomes", completed_outcomes, allow_zero=False)
    return cost / n
