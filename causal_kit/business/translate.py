"""From an :class:`~causal_kit.Estimate` to money per year, ROI, payback and a decision.

The interval on money is carried from the estimate's uncertainty, never built around the point
alone:

* when the estimate holds ``draws`` (bootstrap or placebo draws of the headline effect), every
  draw is turned into money and the interval is the draws' quantiles at the estimate's level;
* otherwise the ends of the estimate's interval are turned into money. Every value model is
  monotone in the effect, so the money interval is the mapped ends, in order. For a nonlinear
  model (lifetime value from retention) this is the exact image of the effect interval.

Placebo draws (``details["draws_kind"] == "placebo"``) describe the estimate's spread under no
effect; they are recentred as ``estimate - placebo`` before being turned into money.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from causal_kit.business.decide import Decision, decide, effect_interval, resolve_criteria
from causal_kit.business.value import PerUserValue, RunningCost, ValueModel
from causal_kit.core.errors import CausalKitWarning, DataError, SpecificationError
from causal_kit.core.estimate import Estimate, json_safe
from causal_kit.core.launch import Launch, SuccessCriteria
from causal_kit.core.options import IntervalSource, check_option
from causal_kit.core.render import Rendered, ShowsSummary, money, number, ratio
from causal_kit.evidence.scorecard import Scorecard, scorecard

MIN_DRAWS = 20


@dataclass(frozen=True)
class Impact(ShowsSummary):
    """What a launch's effect is worth per year, how sure that is, and what to do.

    Attributes
    ----------
    outcome, method
        The metric and the design of the estimate.
    effect, effect_low, effect_high, level
        The effect and its interval, as estimated.
    annual_value, annual_value_low, annual_value_high
        Money per year and its interval at ``level``.
    value_interval_source
        ``"draws"`` or ``"interval"``: where the money interval came from.
    yearly_cost
        Yearly cost of running the launch (``None`` when not given).
    upfront_cost
        One-off cost of building it.
    roi, roi_low, roi_high
        Yearly value ÷ yearly cost at the point and at the ends of the value interval.
    net_value
        ``annual_value - yearly_cost``.
    cost_share
        ``yearly_cost ÷ annual_value`` (compare with the cost cap).
    payback_months
        Months of net value needed to recover ``upfront_cost`` (``None`` when the net value is
        not positive: it never pays back).
    decision
        The recommendation with its rule and inputs.
    value_model
        The model that turned the effect into money.
    cost_detail
        How the yearly cost was made up.
    currency
        Currency symbol used in the displays.
    """

    outcome: str
    method: str
    effect: float
    effect_low: float
    effect_high: float
    level: float
    annual_value: float
    annual_value_low: float
    annual_value_high: float
    value_interval_source: str
    yearly_cost: float | None
    upfront_cost: float
    roi: float | None
    roi_low: float | None
    roi_high: float | None
    net_value: float | None
    cost_share: float | None
    payback_months: float | None
    decision: Decision
    value_model: ValueModel
    cost_detail: Mapping[str, Any]
    currency: str = "$"

    @property
    def recommendation(self) -> str:
        """The action: ``"ship"``, ``"iterate"``, ``"roll back"`` or ``"keep measuring"``."""
        return self.decision.action

    def summary(self) -> Rendered:
        """Return the money, ROI and recommendation as a printable view."""
        c = self.currency
        pct = f"{self.level:.0%}"
        effect = f"{number(self.effect)} [{number(self.effect_low)}, {number(self.effect_high)}]"
        value_range = (
            f"{money(self.annual_value_low, c)} to {money(self.annual_value_high, c)} "
            f"(from the {self.value_interval_source})"
        )
        cost = money(self.yearly_cost, c) if self.yearly_cost is not None else "not given"
        share = f"{self.cost_share:.0%}" if self.cost_share is not None else "n/a"
        roi = f"{ratio(self.roi)} [{ratio(self.roi_low)}, {ratio(self.roi_high)}]"
        rows = [
            ("Recommendation", self.decision.action.upper()),
            ("Why", self.decision.reason),
            ("Metric (design)", f"{self.outcome} ({self.method})"),
            ("Effect", effect),
            ("Value per year", money(self.annual_value, c)),
            (f"{pct} range of value", value_range),
            ("Value model", self.value_model.describe()),
            ("Yearly cost", cost),
            ("ROI (value ÷ cost)", roi),
            ("Net value per year", money(self.net_value, c)),
            ("Cost share of value", share),
            ("Payback", _payback(self.payback_months, self.upfront_cost)),
        ]
        steps = pd.DataFrame(
            [(s.rule, s.action, s.answer, s.detail) for s in self.decision.steps],
            columns=["test", "decides", "answer", "numbers"],
        )
        return Rendered(
            f"Impact of the launch on {self.outcome}",
            rows,
            [("Decision rule, tested in order (the first 'yes' decides)", steps)],
        )

    def to_markdown(self) -> str:
        """Return the summary as Markdown."""
        return self.summary().to_markdown()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary of every number, the decision and the model inputs."""
        out = {
            k: getattr(self, k)
            for k in (
                "outcome", "method", "effect", "effect_low", "effect_high", "level",
                "annual_value", "annual_value_low", "annual_value_high", "value_interval_source",
                "yearly_cost", "upfront_cost", "roi", "roi_low", "roi_high", "net_value",
                "cost_share", "payback_months", "currency",
            )
        }
        out["recommendation"] = self.decision.action
        out["decision"] = self.decision.to_dict()
        out["value_model"] = self.value_model.to_dict()
        out["cost_detail"] = dict(self.cost_detail)
        return json_safe(out)


def _payback(months: float | None, upfront: float) -> str:
    if upfront == 0:
        return "no upfront cost"
    if months is None:
        return "never (net value not positive)"
    return f"{months:.3g} months"


def effect_draws(estimate: Estimate) -> np.ndarray | None:
    """Return the estimate's draws as draws of the effect (placebo draws recentred), or ``None``."""
    if estimate.draws is None:
        return None
    d = np.asarray(estimate.draws, dtype=float).ravel()
    finite = np.isfinite(d)
    if not finite.all():
        warnings.warn(
            f"{int((~finite).sum())} of {d.size} draws of the {estimate.method} estimate are not "
            "finite; they were left out of the money interval.",
            CausalKitWarning,
            stacklevel=3,
        )
        d = d[finite]
    kind = str(dict(estimate.details or {}).get("draws_kind", "bootstrap"))
    if kind in ("placebo", "null", "permutation"):
        d = float(estimate.estimate) - d
    return d


def money_interval(
    estimate: Estimate, model: ValueModel, interval: IntervalSource = "auto"
) -> tuple[float, float, float, str]:
    """Return ``(value, low, high, source)``: yearly money and its interval at the estimate's level.

    Parameters
    ----------
    estimate
        The effect.
    model
        The value model.
    interval
        ``"draws"`` (quantiles of the money of each draw), ``"ci"`` (the money of the interval's
        ends) or ``"auto"`` (draws when there are at least 20 finite ones, else the interval).
    """
    check_option("interval", interval, IntervalSource)
    point = float(np.asarray(model.annual_value(np.array([float(estimate.estimate)])))[0])
    draws = effect_draws(estimate) if interval != "ci" else None
    enough = draws is not None and draws.size >= MIN_DRAWS
    if interval == "draws" and not enough:
        n = 0 if draws is None else draws.size
        raise DataError(
            f"interval='draws' needs at least {MIN_DRAWS} finite draws on the estimate; it has "
            f"{n}. Use interval='ci' or re-run the design with bootstrap draws."
        )
    alpha = 1.0 - float(estimate.level)
    if enough and draws is not None:
        values = np.asarray(model.annual_value(draws), dtype=float)
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        source = "draws"
    else:
        if not model.monotone:
            raise SpecificationError(
                "this value model is not monotone in the effect, so the interval's ends cannot be "
                "mapped; give the estimate bootstrap draws (draws=...)."
            )
        _, ci_low, ci_high = effect_interval(estimate)
        ends = np.asarray(model.annual_value(np.array([ci_low, ci_high])), dtype=float)
        low, high = float(ends.min()), float(ends.max())
        source = "interval"
    if not all(math.isfinite(v) for v in (point, low, high)):
        raise DataError(
            f"the value model gave a non-finite amount ({point}, [{low}, {high}]); check its "
            "inputs."
        )
    return point, float(low), float(high), source


def translate(
    estimate: Estimate,
    *,
    value_model: ValueModel | None = None,
    users: float | None = None,
    value_per_unit: float | None = None,
    periods_per_year: float = 1.0,
    cost: float | RunningCost | None = None,
    upfront_cost: float = 0.0,
    criteria: SuccessCriteria | Launch | None = None,
    days_since_launch: float | None = None,
    as_of: Any = None,
    guardrails: Mapping[str, Estimate] | None = None,
    interval: IntervalSource = "auto",
    currency: str = "$",
    confidence: Scorecard | Literal["auto"] | None = "auto",
    adoption: float | None = None,
) -> Impact:
    """Turn an estimate into money per year with its range, ROI, payback and a recommendation.

    The simple path, for a per-user metric::

        ck.translate(est, users=40_000, value_per_unit=1.0, periods_per_year=52,
                     cost=250_000, criteria=launch, days_since_launch=120)

    means: the effect is per user per week, 40,000 users are exposed, one unit of the metric is
    worth 1.0, and running the feature costs 250,000 a year. For other cases pass a
    ``value_model`` (:class:`RetentionValue`, :class:`CostPerOutcomeValue`, or your own).

    Parameters
    ----------
    estimate
        The effect on the primary metric.
    value_model
        How an effect becomes money per year. Give either this or ``users`` (+
        ``value_per_unit`` and ``periods_per_year``), which builds a :class:`PerUserValue`.
    users, value_per_unit, periods_per_year
        Inputs of the per-user model (``value_per_unit`` defaults to 1.0).
    cost
        Yearly cost of running the launch: a number or a :class:`RunningCost`. Without it, ROI
        and the cost cap are not computed and the decision says so.
    upfront_cost
        One-off cost of building the launch, for the payback period.
    criteria
        Success criteria fixed before launch, or the :class:`~causal_kit.Launch` holding them
        (defaults when ``None``).
    days_since_launch, as_of
        How long the launch has run (see :func:`causal_kit.decide`).
    guardrails
        Guardrail metric name → estimate (see :func:`causal_kit.decide`).
    interval
        Where the money interval comes from: ``"auto"``, ``"draws"`` or ``"ci"``.
    currency
        Currency symbol for the displays.
    confidence
        The evidence's :class:`~causal_kit.Scorecard`. By default (``"auto"``) the estimate's own
        checks are graded (:func:`causal_kit.scorecard` of the estimate), so a launch whose design
        failed its checks is not recommended for shipping; pass ``None`` to leave the confidence
        test out. A low grade holds a launch that would ship at "keep measuring" inside the
        window, and past it means the impact could not be measured (see
        :func:`causal_kit.decide`).
    adoption
        Share of exposed users who used the feature (see :func:`causal_kit.decide`).

    Returns
    -------
    Impact

    Raises
    ------
    SpecificationError
        Both or neither of ``value_model`` and ``users``; a value model under which an
        improvement of the metric loses money; bad costs or criteria.
    DataError
        An estimate without a finite interval (and not enough draws).
    """
    if not isinstance(estimate, Estimate):
        raise SpecificationError(
            "translate needs an Estimate (from ck.did, ck.synthetic_control or ck.rdd); got "
            f"{type(estimate).__name__}."
        )
    model = _model(value_model, users, value_per_unit, periods_per_year)
    crit, _ = resolve_criteria(criteria)
    _check_direction(model, crit, estimate)
    point, low, high, source = money_interval(estimate, model, interval)
    yearly, cost_detail = _cost(cost)
    upfront = _nonneg("upfront_cost", upfront_cost)

    roi = roi_low = roi_high = net = share = payback = None
    if yearly is not None:
        roi, roi_low, roi_high = (_div(v, yearly) for v in (point, low, high))
        net = point - yearly
        share = yearly / point if point > 0 else None
        payback = (0.0 if upfront == 0 else upfront / (net / 12.0)) if net > 0 else None
    if isinstance(confidence, str):
        check_option("confidence", confidence, ("auto",))
        confidence = scorecard(estimate)
    elif confidence is not None and not isinstance(confidence, Scorecard):
        raise SpecificationError(
            "confidence must be a Scorecard (ck.scorecard(...)), 'auto' (grade the estimate's "
            f"own checks) or None (no confidence test); got {type(confidence).__name__}."
        )
    decision = decide(
        estimate,
        adoption=adoption,
        criteria=criteria,
        days_since_launch=days_since_launch,
        as_of=as_of,
        guardrails=guardrails,
        annual_value=(point, low, high),
        yearly_cost=yearly,
        confidence=None if confidence is None else confidence.grade,
        confidence_reasons=() if confidence is None else tuple(confidence.reasons),
    )
    _, e_low, e_high = effect_interval(estimate)
    return Impact(
        outcome=estimate.outcome,
        method=estimate.method,
        effect=float(estimate.estimate),
        effect_low=e_low,
        effect_high=e_high,
        level=float(estimate.level),
        annual_value=point,
        annual_value_low=low,
        annual_value_high=high,
        value_interval_source=source,
        yearly_cost=yearly,
        upfront_cost=upfront,
        roi=roi,
        roi_low=roi_low,
        roi_high=roi_high,
        net_value=net,
        cost_share=share,
        payback_months=payback,
        decision=decision,
        value_model=model,
        cost_detail=cost_detail,
        currency=currency,
    )


def _div(value: float, cost: float) -> float:
    return value / cost if cost > 0 else (math.inf if value > 0 else 0.0)


def _nonneg(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise SpecificationError(f"{name} must be a number; got {value!r}.") from exc
    if not math.isfinite(v) or v < 0:
        raise SpecificationError(f"{name} must be a finite number ≥ 0; got {value!r}.")
    return v


def _model(
    value_model: ValueModel | None,
    users: float | None,
    value_per_unit: float | None,
    periods_per_year: float,
) -> ValueModel:
    if value_model is not None:
        if users is not None or value_per_unit is not None:
            raise SpecificationError(
                "pass either value_model=... or users=/value_per_unit= (the per-user model), "
                "not both."
            )
        if not isinstance(value_model, ValueModel):
            raise SpecificationError(
                "value_model must be a causal_kit value model (PerUserValue, RetentionValue, "
                f"CostPerOutcomeValue, or a ValueModel subclass); got {type(value_model).__name__}."
            )
        return value_model
    if users is None:
        raise SpecificationError(
            "translate needs a value model: pass users= (and value_per_unit=, periods_per_year=) "
            "for a per-user metric, or value_model=RetentionValue(...) / CostPerOutcomeValue(...)."
        )
    return PerUserValue(users, 1.0 if value_per_unit is None else value_per_unit, periods_per_year)


def _check_direction(model: ValueModel, crit: SuccessCriteria, est: Estimate) -> None:
    step = 1.0 if crit.direction == "increase" else -1.0
    se = abs(float(est.se)) if math.isfinite(est.se) else 0.0
    scale = max(abs(float(est.estimate)), se, 1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CausalKitWarning)
        v = np.asarray(model.annual_value(np.array([0.0, step * scale * 1e-3])), dtype=float)
    if v[1] < v[0]:
        better = "higher" if crit.direction == "increase" else "lower"
        raise SpecificationError(
            f"the value model loses money when {est.outcome!r} improves ({better} is better per "
            f"criteria.direction={crit.direction!r}). Fix the sign of value_per_unit or the "
            "criteria's direction."
        )


def _cost(cost: float | RunningCost | None) -> tuple[float | None, dict[str, Any]]:
    if cost is None:
        return None, {}
    if isinstance(cost, RunningCost):
        return cost.yearly, cost.to_dict()
    if isinstance(cost, bool):
        raise SpecificationError(f"cost must be a yearly amount or a RunningCost; got {cost!r}.")
    y = _nonneg("cost", cost)
    return y, {"yearly": y}
