"""The decision rule: ship, iterate, roll back or keep measuring, with every input printed.

The rule reads the success criteria fixed before the launch and tests, in this order (the first
test that answers "yes" decides):

1. roll back — the whole interval of the effect is on the harmful side (its best end < 0);
2. roll back — a guardrail worsened beyond its margin (even the best end of its worsening
   exceeds the margin);
3. keep measuring — fewer days than the measurement window have passed since launch (for a
   timeboxed bet, the window is its timebox);
4. roll back — past the window, fewer exposed users than the adoption floor used the feature:
   it is dead on arrival, whatever the plan says about exceptions;
5. roll back (kill or pivot) — the 90-day rule: past the window the business impact still cannot
   be measured (the interval straddles the minimum effect, or the evidence is low-confidence);
6. keep measuring — the same situation for a launch whose plan declares an exception: a platform
   capability is judged by adoption, a long-sales-cycle product by pipeline velocity or NPS;
7. keep measuring — the interval runs from below the minimum effect to above it, so the data
   cannot yet tell whether the launch clears the bar (only when the days are unknown);
8. iterate — the whole interval is below the minimum effect worth shipping (but not harmful);
9. iterate — the money does not pay: ROI is under the bar, or the yearly cost exceeds the cost
   cap times the value (both on the low end of the value interval by default);
10. keep measuring — a guardrail is unclear (its interval straddles the margin) or unmeasured;
11. keep measuring — the design's own checks leave confidence low;
12. ship — otherwise: the effect clears the minimum, the money pays, every guardrail holds.

"Improvement" is the effect in the direction that is good for the metric (``criteria.direction``),
so metrics where lower is better are handled by the same rule.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd

from causal_kit.core.errors import DataError, SpecificationError
from causal_kit.core.estimate import Estimate, json_safe
from causal_kit.core.launch import Launch, SuccessCriteria
from causal_kit.core.options import Decision as DecisionAction
from causal_kit.core.options import Direction, RuleException, ValueBasis, check_option
from causal_kit.core.render import Rendered, ShowsSummary, money, number, ratio

RULES: tuple[tuple[str, DecisionAction, str], ...] = (
    ("harm", "roll back", "the whole interval of the effect is on the harmful side"),
    ("guardrail_breached", "roll back", "a guardrail worsened beyond its margin"),
    ("window", "keep measuring", "fewer days than the measurement window since launch"),
    ("adoption", "roll back", "past the window, adoption is under the floor: dead on arrival"),
    ("ninety_day", "roll back",
     "past the window, the business impact still cannot be measured: kill or pivot"),
    ("exception", "keep measuring",
     "past the window, not measurable yet, but the plan declares an exception to the rule"),
    ("undecided", "keep measuring", "the interval straddles the minimum effect worth shipping"),
    ("below_minimum", "iterate", "the whole interval is below the minimum effect worth shipping"),
    ("money", "iterate", "ROI under the bar or yearly cost over the cost cap"),
    ("guardrail_unclear", "keep measuring", "a guardrail is unclear or was not measured"),
    ("low_confidence", "keep measuring", "the design's own checks leave confidence low"),
    ("ship", "ship", "effect clears the minimum, money pays, guardrails hold"),
)
#: What each exception to the 90-day rule judges the launch by instead of the business metric.
EXCEPTION_TEXT = {
    "platform": "a platform capability, judged by the adoption of the teams that build on it",
    "long_sales_cycle": "a long-sales-cycle product, judged by pipeline velocity or NPS while "
                        "revenue lags",
    "timeboxed_bet": "a timeboxed bet, decided when its timebox is up",
}
RULE_TEXT = "; ".join(f"{i}. {a} if {t}" for i, (_, a, t) in enumerate(RULES, start=1))


@dataclass(frozen=True)
class RuleStep:
    """One test of the decision rule, as evaluated.

    Attributes
    ----------
    rule
        Identifier of the test (``"harm"``, ``"window"``...).
    action
        What the test decides when it fires.
    question
        The test in plain language.
    answer
        ``"yes"`` (fires), ``"no"``, or ``"not applied"`` (an input was missing).
    detail
        The numbers the test compared.
    """

    rule: str
    action: str
    question: str
    answer: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class GuardrailResult:
    """A guardrail metric checked against its margin.

    ``status`` is ``"holds"`` (the worst end of the worsening is within the margin),
    ``"breached"`` (even the best end is beyond it), ``"unclear"`` (the interval straddles the
    margin) or ``"not measured"``.
    """

    name: str
    margin: float
    worsening: float | None
    worsening_low: float | None
    worsening_high: float | None
    status: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return json_safe(dict(self.__dict__))


@dataclass(frozen=True)
class Decision(ShowsSummary):
    """A recommendation with the rule that fired, every test evaluated, and every input.

    Attributes
    ----------
    action
        ``"ship"``, ``"iterate"``, ``"roll back"`` or ``"keep measuring"``.
    rule
        Identifier of the test that fired (see :data:`RULES`).
    reason
        One plain-language sentence: why.
    steps
        Every test in order, with its answer and numbers.
    guardrails
        Each guardrail's status.
    inputs
        Every input of the rule (effect and interval, criteria, days, money, cost).
    """

    action: DecisionAction
    rule: str
    reason: str
    steps: tuple[RuleStep, ...]
    guardrails: tuple[GuardrailResult, ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> Rendered:
        """Return the decision, its reason, the tests and the inputs as a printable view."""
        steps = pd.DataFrame(
            [(s.rule, s.action, s.question, s.answer, s.detail) for s in self.steps],
            columns=["test", "decides", "question", "answer", "numbers"],
        )
        tables = [("Rule, tested in order (the first 'yes' decides)", steps)]
        if self.guardrails:
            tables.append(
                (
                    "Guardrails",
                    pd.DataFrame(
                        [
                            (g.name, g.margin, g.worsening, g.worsening_low, g.worsening_high,
                             g.status)
                            for g in self.guardrails
                        ],
                        columns=["metric", "margin", "worsening", "low", "high", "status"],
                    ),
                )
            )
        inputs = pd.DataFrame(
            [(k, _show(v)) for k, v in self.inputs.items()], columns=["input", "value"]
        )
        tables.append(("Inputs", inputs))
        return Rendered(
            f"Recommendation: {self.action.upper()}",
            [("Rule that fired", self.rule), ("Why", self.reason)],
            tables,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dictionary."""
        return {
            "action": self.action,
            "rule": self.rule,
            "reason": self.reason,
            "rule_text": RULE_TEXT,
            "steps": [s.to_dict() for s in self.steps],
            "guardrails": [g.to_dict() for g in self.guardrails],
            "inputs": json_safe(dict(self.inputs)),
        }


def _show(value: Any) -> str:
    if value is None:
        return "not given"
    if isinstance(value, float):
        return number(value, 6)
    return str(value)


def resolve_criteria(
    criteria: SuccessCriteria | Launch | None,
) -> tuple[SuccessCriteria, Launch | None]:
    """Return the success criteria (defaults when ``None``) and the launch they came from."""
    if criteria is None:
        return SuccessCriteria(), None
    if isinstance(criteria, Launch):
        return criteria.criteria, criteria
    if isinstance(criteria, SuccessCriteria):
        return criteria, None
    raise SpecificationError(
        f"criteria must be a SuccessCriteria or a Launch; got {type(criteria).__name__}."
    )


def _validate_criteria(c: SuccessCriteria) -> None:
    check_option("criteria.direction", c.direction, Direction)
    check_option("criteria.value_basis", c.value_basis, ValueBasis)
    for name in ("min_effect", "roi_bar", "cost_cap"):
        v = getattr(c, name)
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            raise SpecificationError(f"criteria.{name} must be a finite number; got {v!r}.")
    if c.roi_bar < 0 or c.cost_cap <= 0:
        raise SpecificationError(
            f"criteria.roi_bar must be ≥ 0 and criteria.cost_cap > 0; got roi_bar={c.roi_bar!r}, "
            f"cost_cap={c.cost_cap!r}."
        )
    if not isinstance(c.window_days, (int, float)) or c.window_days < 0:
        raise SpecificationError(
            f"criteria.window_days must be a number of days ≥ 0; got {c.window_days!r}."
        )
    check_option("criteria.exception", c.exception, RuleException)
    if c.exception == "timeboxed_bet":
        if (isinstance(c.timebox_days, bool) or not isinstance(c.timebox_days, (int, float))
                or not math.isfinite(c.timebox_days) or c.timebox_days <= 0):
            raise SpecificationError(
                "criteria.exception='timeboxed_bet' needs criteria.timebox_days, the bet's length "
                f"in days since launch (e.g. 60); got {c.timebox_days!r}."
            )
    elif c.timebox_days is not None:
        raise SpecificationError(
            f"criteria.timebox_days={c.timebox_days!r} is only used with "
            f"exception='timeboxed_bet' (the exception is {c.exception!r}); remove it or declare "
            "the bet."
        )
    floor = c.adoption_floor
    if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 1:
        raise SpecificationError(
            f"criteria.adoption_floor must be a share between 0 and 1 (e.g. 0.20); got {floor!r}."
        )
    unknown = [g for g in c.guardrails_lower_is_worse if g not in c.guardrails]
    if unknown:
        raise SpecificationError(
            f"criteria.guardrails_lower_is_worse names {unknown}, which have no margin in "
            f"criteria.guardrails ({sorted(c.guardrails)}); add their margins."
        )


def days_since(launch: Launch | None, as_of: Any) -> float | None:
    """Days from the launch's first start date to ``as_of`` (``None`` when either is missing)."""
    if as_of is None or launch is None or launch.first_start is None:
        return None
    try:
        day = pd.Timestamp(as_of).date()
    except (TypeError, ValueError) as exc:
        raise SpecificationError(f"as_of={as_of!r} is not a date; use e.g. '2026-06-01'.") from exc
    return float((day - launch.first_start).days)


def effect_interval(estimate: Estimate) -> tuple[float, float, float]:
    """Return ``(estimate, low, high)`` of an estimate, checking they are finite."""
    if not isinstance(estimate, Estimate):
        raise SpecificationError(
            f"expected a causal_kit Estimate (from ck.did, ck.synthetic_control or ck.rdd); "
            f"got {type(estimate).__name__}."
        )
    low, high = (float(v) for v in estimate.ci)
    point = float(estimate.estimate)
    if not all(math.isfinite(v) for v in (point, low, high)):
        raise DataError(
            f"the {estimate.method} estimate of {estimate.outcome!r} has no finite point and "
            f"interval (estimate={point}, ci=({low}, {high})); a decision needs both. Check the "
            "design's inference (too few units or placebos?)."
        )
    return point, min(low, high), max(low, high)


def check_guardrails(
    criteria: SuccessCriteria, guardrails: Mapping[str, Estimate] | None
) -> tuple[GuardrailResult, ...]:
    """Compare each guardrail estimate with its margin from ``criteria.guardrails``."""
    given = dict(guardrails or {})
    extra = [name for name in given if name not in criteria.guardrails]
    if extra:
        raise SpecificationError(
            f"guardrail estimate(s) {extra} have no margin in criteria.guardrails "
            f"({sorted(criteria.guardrails)}); add e.g. guardrails={{{extra[0]!r}: 0.0}} to the "
            "success criteria."
        )
    out = []
    for name, margin in criteria.guardrails.items():
        m = float(margin)
        est = given.get(name)
        if est is None:
            out.append(GuardrailResult(name, m, None, None, None, "not measured",
                                       f"{name}: no estimate given, so it cannot be checked."))
            continue
        point, low, high = effect_interval(est)
        sign = -1.0 if name in criteria.guardrails_lower_is_worse else 1.0
        w, wl, wh = sign * point, min(sign * low, sign * high), max(sign * low, sign * high)
        if wl > m:
            status = "breached"
            msg = f"{name} worsened by {w:.4g} [{wl:.4g}, {wh:.4g}], beyond the margin {m:.4g}."
        elif wh <= m:
            status = "holds"
            msg = f"{name} worsened by at most {wh:.4g}, within the margin {m:.4g}."
        else:
            status, msg = "unclear", (
                f"{name} worsening [{wl:.4g}, {wh:.4g}] straddles the margin {m:.4g}; more data "
                "would tell."
            )
        out.append(GuardrailResult(name, m, w, wl, wh, status, msg))
    return tuple(out)


def decide(
    estimate: Estimate,
    *,
    criteria: SuccessCriteria | Launch | None = None,
    days_since_launch: float | None = None,
    as_of: Any = None,
    guardrails: Mapping[str, Estimate] | None = None,
    annual_value: tuple[float, float, float] | None = None,
    yearly_cost: float | None = None,
    confidence: str | None = None,
    confidence_reasons: Sequence[str] = (),
    adoption: float | None = None,
) -> Decision:
    """Recommend ship, iterate, roll back or keep measuring from pre-registered criteria.

    Parameters
    ----------
    estimate
        The effect on the primary metric.
    criteria
        The :class:`~causal_kit.SuccessCriteria` fixed before launch, or the
        :class:`~causal_kit.Launch` that holds them; the defaults when ``None`` (minimum effect
        0, ROI bar 1, cost cap 0.5, 90-day window, no exception, adoption floor 0.20, no
        guardrails).
    days_since_launch
        Days since the launch (a finite number ≥ 0); with a ``Launch`` you may pass ``as_of`` (a
        date) instead. When neither is known, the window tests are reported as "not applied".
    as_of
        The date the data runs to; days are counted from the launch's first start.
    guardrails
        Metric name → estimate of the launch's effect on that guardrail metric; each needs a
        margin in ``criteria.guardrails``.
    annual_value
        ``(point, low, high)`` yearly value in money (from :func:`causal_kit.translate`).
        Without it (or without ``yearly_cost``) the money test is reported as "not applied".
    yearly_cost
        Yearly cost of running the launch.
    confidence, confidence_reasons
        The confidence grade of the evidence (``"high"``, ``"medium"``, ``"low"``, from
        :func:`causal_kit.scorecard`) and the reasons that lowered it. Inside the window a launch
        that would otherwise ship is held at "keep measuring" while confidence is low; past the
        window low confidence means the business impact could not be measured (the 90-day
        rule). Without it the test is reported as "not applied".
    adoption
        Share of exposed users who used the feature (0 to 1; the ``adoption`` metric). Past the
        window, under ``criteria.adoption_floor`` the answer is "roll back" (rule
        ``"adoption"``). Without it the test is reported as "not applied".

    Returns
    -------
    Decision
        The action, the rule that fired, every test with its numbers, and every input.

    Raises
    ------
    SpecificationError
        Bad criteria, days or adoption; a guardrail estimate without a margin; contradictory day
        inputs.
    DataError
        An estimate without a finite interval.
    """
    crit, launch = resolve_criteria(criteria)
    _validate_criteria(crit)
    point, low, high = effect_interval(estimate)
    if days_since_launch is not None and as_of is not None:
        raise SpecificationError("pass days_since_launch or as_of, not both.")
    if days_since_launch is not None:
        days: float | None = _check_days(days_since_launch)
    else:
        days = days_since(launch, as_of)
    if as_of is not None and days is None:
        raise SpecificationError(
            "as_of needs a Launch with start dates as criteria to count days; pass "
            "days_since_launch instead."
        )
    share = _check_adoption(adoption)
    sign = 1.0 if crit.direction == "increase" else -1.0
    imp_low, imp_high = sorted((sign * low, sign * high))
    gr = check_guardrails(crit, guardrails)

    value_for_tests: float | None = None
    roi: float | None = None
    if annual_value is not None:
        v_point, v_low, _v_high = (float(v) for v in annual_value)
        if not all(math.isfinite(v) for v in (v_point, v_low, _v_high)):
            raise SpecificationError(
                "annual_value must be three finite amounts (point, low, high); got "
                f"{annual_value!r}."
            )
        value_for_tests = v_low if crit.value_basis == "low" else v_point
    if yearly_cost is not None:
        if not math.isfinite(yearly_cost) or yearly_cost < 0:
            raise SpecificationError(
                f"yearly_cost must be a finite number ≥ 0; got {yearly_cost!r}."
            )
    if value_for_tests is not None and yearly_cost is not None:
        roi = value_for_tests / yearly_cost if yearly_cost > 0 else math.inf

    basis = "low end" if crit.value_basis == "low" else "point estimate"
    m = crit.min_effect
    window = window_length(crit)
    steps: list[RuleStep] = []
    rules = dict((r, (a, t)) for r, a, t in RULES)

    def step(rule: str, answer: str, detail: str) -> None:
        action, text = rules[rule]
        steps.append(RuleStep(rule, action, text, answer, detail))

    breached = [g.name for g in gr if g.status == "breached"]
    unclear = [g.name for g in gr if g.status in ("unclear", "not measured")]
    straddles = imp_low < m <= imp_high
    low_conf = confidence == "low"
    unmeasurable = straddles or low_conf
    why_unmeasurable = (
        f"interval [{imp_low:.4g}, {imp_high:.4g}] vs minimum effect {m:.4g}"
        + (f"; confidence {confidence}" if confidence is not None else "")
    )
    step("harm", _yn(imp_high < 0),
         f"improvement interval [{imp_low:.4g}, {imp_high:.4g}]; harmful if high end < 0")
    step("guardrail_breached", _yn(bool(breached)),
         f"breached: {breached}" if gr else "no guardrails registered")
    past: bool | None = None if days is None else days >= window
    if days is None:
        step("window", "not applied", f"days since launch unknown (window {window:g} days)")
        for rule in ("adoption", "ninety_day", "exception"):
            step(rule, "not applied", "days since launch unknown")
    else:
        step("window", _yn(not past), f"{days:g} days since launch vs window {window:g} days"
             + (" (the timebox of the bet)" if crit.exception == "timeboxed_bet" else ""))
        if share is None:
            step("adoption", "not applied", "adoption not given")
        else:
            step("adoption", _yn(bool(past) and share < crit.adoption_floor),
                 f"adoption {share:.0%} vs floor {crit.adoption_floor:.0%}")
        exempt = crit.exception in ("platform", "long_sales_cycle")
        if exempt:
            step("ninety_day", "not applied",
                 f"exception {crit.exception!r}: {EXCEPTION_TEXT[crit.exception]}")
        else:
            step("ninety_day", _yn(bool(past) and unmeasurable), why_unmeasurable)
        step("exception", _yn(bool(past) and unmeasurable and exempt),
             f"exception {crit.exception!r}; {why_unmeasurable}")
    step("undecided", _yn(straddles),
         f"interval [{imp_low:.4g}, {imp_high:.4g}] vs minimum effect {m:.4g}")
    step("below_minimum", _yn(imp_high < m), f"high end {imp_high:.4g} vs minimum effect {m:.4g}")
    if value_for_tests is None or yearly_cost is None or roi is None:
        step("money", "not applied", "no value model or no yearly cost given")
    else:
        roi_ok = roi >= crit.roi_bar
        cap_ok = yearly_cost <= crit.cost_cap * value_for_tests
        step("money", _yn(not (roi_ok and cap_ok)),
             f"ROI on the value's {basis} {ratio(roi)} vs bar {crit.roi_bar:g}x; cost "
             f"{money(yearly_cost)} vs cap {crit.cost_cap:g} × {money(value_for_tests)} = "
             f"{money(crit.cost_cap * value_for_tests)}")
    step("guardrail_unclear", _yn(bool(unclear)),
         f"unclear or unmeasured: {unclear}" if gr else "no guardrails registered")
    if confidence is None:
        step("low_confidence", "not applied", "no confidence grade given")
    else:
        step("low_confidence", _yn(low_conf),
             f"confidence {confidence}" + (f": {len(confidence_reasons)} reason(s) lowered it"
                                           if confidence_reasons else ""))
    step("ship", "yes", "no earlier test fired")

    fired = next(s for s in steps if s.answer == "yes")
    ctx = _Context(imp_low, imp_high, m, days, window, crit, breached, unclear, roi, basis,
                   estimate, share, straddles, confidence, tuple(confidence_reasons))
    reason = _reason(fired.rule, ctx)
    window_ends = None
    if launch is not None and launch.first_start is not None:
        window_ends = (launch.first_start + dt.timedelta(days=math.ceil(window))).isoformat()
    inputs: dict[str, Any] = {
        "metric": estimate.outcome,
        "method": estimate.method,
        "effect": point,
        "ci_low": low,
        "ci_high": high,
        "level": estimate.level,
        "direction": crit.direction,
        "min_effect": m,
        "days_since_launch": days,
        "window_days": crit.window_days,
        "window_ends": window_ends,
        "exception": crit.exception,
        "timebox_days": crit.timebox_days,
        "adoption": share,
        "adoption_floor": crit.adoption_floor,
        "annual_value": None if annual_value is None else float(annual_value[0]),
        "annual_value_low": None if annual_value is None else float(annual_value[1]),
        "annual_value_high": None if annual_value is None else float(annual_value[2]),
        "value_basis": crit.value_basis,
        "yearly_cost": yearly_cost,
        "roi": roi,
        "roi_bar": crit.roi_bar,
        "cost_cap": crit.cost_cap,
        "guardrail_margins": dict(crit.guardrails),
        "confidence": confidence,
    }
    if launch is not None:
        inputs["launch"] = launch.name
    action = cast(DecisionAction, fired.action)
    return Decision(action, fired.rule, reason, tuple(steps), gr, inputs)


def window_length(crit: SuccessCriteria) -> float:
    """Days of the measurement window: the timebox for a timeboxed bet, else ``window_days``."""
    if crit.exception == "timeboxed_bet" and crit.timebox_days is not None:
        return float(crit.timebox_days)
    return float(crit.window_days)


def _check_days(days: Any) -> float:
    if isinstance(days, bool) or not isinstance(days, (int, float)):
        raise SpecificationError(
            f"days_since_launch must be a number of days ≥ 0; got {days!r}. Pass the days from "
            "the launch date to the end of the data, or as_of='YYYY-MM-DD' with a Launch."
        )
    value = float(days)
    if not math.isfinite(value) or value < 0:
        raise SpecificationError(
            f"days_since_launch must be a finite number of days ≥ 0; got {days!r}. A launch that "
            "has not started, or an unknown launch date, cannot be decided on: pass the days "
            "from the launch date to the end of the data (or leave it out to skip the window)."
        )
    return value


def _check_adoption(adoption: Any) -> float | None:
    if adoption is None:
        return None
    ok = not isinstance(adoption, bool) and isinstance(adoption, (int, float))
    if not ok or not math.isfinite(float(adoption)) or not 0 <= float(adoption) <= 1:
        raise SpecificationError(
            f"adoption must be the share of exposed users who used the feature, between 0 and "
            f"1 (e.g. 0.35); got {adoption!r}."
        )
    return float(adoption)


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


@dataclass(frozen=True)
class _Context:
    low: float
    high: float
    m: float
    days: float | None
    window: float
    crit: SuccessCriteria
    breached: list[str]
    unclear: list[str]
    roi: float | None
    basis: str
    est: Estimate
    adoption: float | None
    straddles: bool
    confidence: str | None
    confidence_reasons: tuple[str, ...]


def _reason(rule: str, c: _Context) -> str:
    crit, est, m = c.crit, c.est, c.m
    pct = f"{est.level:.0%}"
    better = "higher" if crit.direction == "increase" else "lower"
    span = (
        f"the {pct} interval of the improvement in {est.outcome} ({better} is better) is "
        f"[{c.low:.4g}, {c.high:.4g}]"
    )
    why_not = (
        f"{span}, which still includes the minimum effect worth shipping ({m:.4g})"
        if c.straddles
        else "the evidence is low-confidence (the design's own checks failed)"
    )
    if rule == "harm":
        return f"Roll back: {span}, entirely harmful."
    if rule == "guardrail_breached":
        return f"Roll back: guardrail(s) {', '.join(c.breached)} worsened beyond their margins."
    if rule == "window":
        what = ("the timeboxed bet" if crit.exception == "timeboxed_bet"
                else "the measurement window")
        return f"Keep measuring: only {c.days:g} of the {c.window:g} days of {what} have passed."
    if rule == "adoption":
        return (
            f"Roll back: after {c.days:g} days only {c.adoption:.0%} of exposed users used the "
            f"feature, under the adoption floor of {crit.adoption_floor:.0%}: it is dead on "
            "arrival. Kill it, or pivot to what users need."
        )
    if rule == "ninety_day":
        timebox = (
            f" The timeboxed bet's {c.window:g} days are up."
            if crit.exception == "timeboxed_bet" else ""
        )
        return (
            f"Roll back: {c.days:g} days after launch, past the {c.window:g}-day window, the "
            f"business impact still cannot be measured: {why_not}.{timebox} Kill or pivot."
        )
    if rule == "exception":
        return (
            f"Keep measuring: {c.days:g} days after launch the business impact still cannot be "
            f"measured ({why_not}), but the plan declares {crit.exception!r}: "
            f"{EXCEPTION_TEXT[crit.exception]}; report that metric instead."
        )
    if rule == "undecided":
        return (
            f"Keep measuring: {span}, which includes the minimum effect worth shipping ({m:.4g}); "
            "more periods or units would decide."
        )
    if rule == "below_minimum":
        return (
            f"Iterate: {span}, entirely below the minimum effect worth shipping ({m:.4g}) but "
            "not harmful."
        )
    if rule == "money":
        return (
            f"Iterate: the effect clears the minimum ({m:.4g}) but the money does not pay: ROI "
            f"on the value's {c.basis} is {ratio(c.roi)} (bar {crit.roi_bar:g}x, cost cap "
            f"{crit.cost_cap:g} of the value)."
        )
    if rule == "guardrail_unclear":
        return (
            f"Keep measuring: the effect and the money pass, but guardrail(s) "
            f"{', '.join(c.unclear)} are unclear or unmeasured."
        )
    if rule == "low_confidence":
        first = f" First: {c.confidence_reasons[0]}" if c.confidence_reasons else ""
        return (
            "Keep measuring: the effect and the money would pass, but confidence in the "
            f"estimate is low because the design's checks failed.{first}"
        )
    money_text = (
        f"; ROI on the value's {c.basis} is {ratio(c.roi)} (bar {crit.roi_bar:g}x)"
        if c.roi is not None
        else ""
    )
    return (
        f"Ship: {span}, clearing the minimum effect ({m:.4g}){money_text}; no guardrail "
        "worsened beyond its margin."
    )


def next_step(decision: Decision) -> str:
    """Return what to do next in one plain sentence, without statistical terms.

    Examples: "Keep measuring until 9 June: the estimate cannot yet separate a gain from
    noise." or "Kill or pivot: 118 days after launch the business impact still cannot be
    measured."
    """
    inp = decision.inputs
    rule, metric = decision.rule, str(inp.get("metric", "the metric"))
    days = inp.get("days_since_launch")
    low, high = inp.get("ci_low"), inp.get("ci_high")
    noisy = (isinstance(low, float) and isinstance(high, float)
             and low < float(inp.get("min_effect") or 0.0) <= high)
    if rule == "window":
        until = ""
        if inp.get("window_ends"):
            end = dt.date.fromisoformat(str(inp["window_ends"]))
            until = f" until {end.day} {end:%B %Y}"
        why = ("the estimate cannot yet separate a gain from noise" if noisy else
               "the result looks clear, but the period fixed before launch has not ended")
        return f"Keep measuring{until}: {why}."
    if rule == "exception":
        what = EXCEPTION_TEXT.get(str(inp.get("exception")), "its declared exception")
        return f"Keep measuring: the business impact is not measurable yet; this launch is {what}."
    if rule in ("undecided", "low_confidence"):
        why = ("the estimate cannot yet separate a gain from noise" if rule == "undecided" else
               "the method behind the estimate failed its own checks (see the engineering "
               "appendix)")
        return f"Keep measuring: {why}."
    if rule == "guardrail_unclear":
        return "Keep measuring: the gain is clear, but a guardrail is not yet shown to hold."
    if rule == "harm":
        return f"Roll back: the launch makes {metric} worse."
    if rule == "guardrail_breached":
        names = ", ".join(g.name for g in decision.guardrails if g.status == "breached")
        return f"Roll back: {names} got worse than the limit set before launch."
    if rule == "ninety_day":
        when = f"{days:g} days after launch" if isinstance(days, float) else "Past the window"
        return f"Kill or pivot: {when} the business impact still cannot be measured."
    if rule == "adoption":
        share = inp.get("adoption")
        used = f"only {share:.0%} of" if isinstance(share, float) else "too few"
        return f"Kill or pivot: {used} exposed users used the feature; it is dead on arrival."
    if rule == "below_minimum":
        return "Iterate: the gain is real but smaller than the minimum worth shipping."
    if rule == "money":
        return "Iterate: the gain does not pay for what the feature costs."
    return "Ship: the gain is clear, it pays for itself and no guardrail slipped."
