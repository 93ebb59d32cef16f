"""ck.decide: each of the four outcomes on constructed cases, with the rule that fired."""

from __future__ import annotations

import json

import pytest

import causal_kit as ck


def est(point, low, high, outcome="revenue"):
    return ck.Estimate(method="did:cs", outcome=outcome, estimate=point, se=(high - low) / 3.92,
                       ci=(low, high), level=0.95, p_value=0.05, n_units=30, n_treated=10)


CRIT = ck.SuccessCriteria(min_effect=1.0, roi_bar=2.0, cost_cap=0.5, window_days=90,
                          guardrails={"latency_ms": 20.0})
OK_LATENCY = {"latency_ms": est(5.0, 0.0, 10.0, "latency_ms")}


def fired(decision):
    return decision.action, decision.rule


def test_ship_when_low_end_clears_minimum_and_money_pays():
    d = ck.decide(est(3.0, 2.0, 4.0), criteria=CRIT, days_since_launch=120,
                  guardrails=OK_LATENCY, annual_value=(3e6, 2e6, 4e6), yearly_cost=5e5)
    assert fired(d) == ("ship", "ship")
    assert d.inputs["roi"] == pytest.approx(2e6 / 5e5)  # low end by default
    assert [s.answer for s in d.steps][:-2] == ["no", "no", "no", "not applied", "no", "no",
                                                "no", "no", "no", "no"]
    assert d.steps[-2].rule == "low_confidence" and d.steps[-2].answer == "not applied"
    assert d.guardrails[0].status == "holds"


def test_roll_back_when_the_interval_is_harmful():
    d = ck.decide(est(-2.0, -3.0, -1.0), criteria=CRIT, days_since_launch=10)
    # harm is tested before the window: a clearly harmful launch is rolled back early
    assert fired(d) == ("roll back", "harm")
    assert "entirely harmful" in d.reason


def test_roll_back_when_a_guardrail_is_breached():
    slow = {"latency_ms": est(40.0, 30.0, 50.0, "latency_ms")}
    d = ck.decide(est(3.0, 2.0, 4.0), criteria=CRIT, days_since_launch=120, guardrails=slow)
    assert fired(d) == ("roll back", "guardrail_breached")
    assert "latency_ms" in d.reason
    g = d.guardrails[0]
    assert (g.status, g.worsening_low, g.margin) == ("breached", 30.0, 20.0)


def test_guardrail_where_lower_is_worse():
    crit = ck.SuccessCriteria(guardrails={"d7_retention": 0.01},
                              guardrails_lower_is_worse=("d7_retention",))
    drop = {"d7_retention": est(-0.05, -0.07, -0.03, "d7_retention")}
    d = ck.decide(est(3.0, 2.0, 4.0), criteria=crit, days_since_launch=120, guardrails=drop)
    assert fired(d) == ("roll back", "guardrail_breached")
    rise = {"d7_retention": est(0.05, 0.03, 0.07, "d7_retention")}
    d = ck.decide(est(3.0, 2.0, 4.0), criteria=crit, days_since_launch=120, guardrails=rise)
    assert fired(d) == ("ship", "ship")


def test_keep_measuring_inside_the_window():
    d = ck.decide(est(3.0, 2.0, 4.0), criteria=CRIT, days_since_launch=30, guardrails=OK_LATENCY)
    assert fired(d) == ("keep measuring", "window")
    assert "30 of the 90 days" in d.reason


def test_keep_measuring_when_the_interval_straddles_the_minimum_and_days_are_unknown():
    d = ck.decide(est(1.0, -1.0, 3.0), criteria=CRIT)
    assert fired(d) == ("keep measuring", "undecided")
    assert "includes the minimum effect" in d.reason


def test_keep_measuring_when_a_guardrail_is_unclear_or_missing():
    unclear = {"latency_ms": est(18.0, 10.0, 26.0, "latency_ms")}
    d = ck.decide(est(3.0, 2.0, 4.0), criteria=CRIT, days_since_launch=120, guardrails=unclear)
    assert fired(d) == ("keep measuring", "guardrail_unclear")
    d = ck.decide(est(3.0, 2.0, 4.0), criteria=CRIT, days_since_launch=120)
    assert fired(d) == ("keep measuring", "guardrail_unclear")
    assert d.guardrails[0].status == "not measured"


def test_iterate_when_the_effect_is_below_the_minimum():
    d = ck.decide(est(0.5, 0.2, 0.8), criteria=CRIT, days_since_launch=120, guardrails=OK_LATENCY)
    assert fired(d) == ("iterate", "below_minimum")


def test_iterate_when_the_money_does_not_pay():
    # ROI on the low end = 1.5 < bar 2
    d = ck.decide(est(3.0, 2.0, 4.0), criteria=CRIT, days_since_launch=120,
                  guardrails=OK_LATENCY, annual_value=(3e6, 1.5e6, 4.5e6), yearly_cost=1e6)
    assert fired(d) == ("iterate", "money")
    # same numbers on the point estimate: ROI 3 ≥ 2 but cost 1e6 > 0.5 × 3e6? no: 1e6 ≤ 1.5e6
    crit = ck.SuccessCriteria(**{**CRIT.__dict__, "value_basis": "point"})
    d = ck.decide(est(3.0, 2.0, 4.0), criteria=crit, days_since_launch=120,
                  guardrails=OK_LATENCY, annual_value=(3e6, 1.5e6, 4.5e6), yearly_cost=1e6)
    assert fired(d) == ("ship", "ship")
    # cost cap alone: ROI 2.5 ≥ 2 but cost 0.4 of the value > cap 0.3
    crit = ck.SuccessCriteria(**{**CRIT.__dict__, "cost_cap": 0.3, "value_basis": "point"})
    d = ck.decide(est(3.0, 2.0, 4.0), criteria=crit, days_since_launch=120,
                  guardrails=OK_LATENCY, annual_value=(2.5e6, 1e6, 4e6), yearly_cost=1e6)
    assert fired(d) == ("iterate", "money")


def test_lower_is_better_metric():
    crit = ck.SuccessCriteria(min_effect=0.1, direction="decrease")
    d = ck.decide(est(-0.4, -0.6, -0.2, "cost_per_ticket"), criteria=crit, days_since_launch=100)
    assert fired(d) == ("ship", "ship")
    d = ck.decide(est(0.4, 0.2, 0.6, "cost_per_ticket"), criteria=crit, days_since_launch=100)
    assert fired(d) == ("roll back", "harm")


def test_window_not_applied_without_days_is_said_so():
    d = ck.decide(est(3.0, 2.0, 4.0))
    window = next(s for s in d.steps if s.rule == "window")
    assert window.answer == "not applied"
    money = next(s for s in d.steps if s.rule == "money")
    assert money.answer == "not applied"
    assert d.action == "ship"
    assert d.inputs["days_since_launch"] is None


def test_decision_renders_and_serialises():
    d = ck.decide(est(3.0, 2.0, 4.0), criteria=CRIT, days_since_launch=120, guardrails=OK_LATENCY)
    out = d.to_dict()
    json.dumps(out, allow_nan=False)
    assert out["action"] == "ship" and out["rule"] == "ship"
    assert "1. roll back if" in out["rule_text"]
    assert len(out["steps"]) == 12
    text = str(d)
    assert "Rule that fired" in text and "min_effect" in text
    assert "<table" in d._repr_html_()


def test_decide_errors():
    with pytest.raises(ck.SpecificationError, match=r"no margin in criteria\.guardrails"):
        ck.decide(est(3.0, 2.0, 4.0), guardrails={"cpu": est(1, 0, 2)})
    with pytest.raises(ck.SpecificationError, match=r"criteria\.direction='up'"):
        ck.decide(est(3.0, 2.0, 4.0), criteria=ck.SuccessCriteria(direction="up"))
    with pytest.raises(ck.SpecificationError, match="not both"):
        ck.decide(est(3.0, 2.0, 4.0), days_since_launch=3, as_of="2026-01-01")
    with pytest.raises(ck.SpecificationError, match="needs a Launch"):
        ck.decide(est(3.0, 2.0, 4.0), as_of="2026-01-01")
    with pytest.raises(ck.SpecificationError, match="SuccessCriteria or a Launch"):
        ck.decide(est(3.0, 2.0, 4.0), criteria={"min_effect": 1})  # type: ignore[arg-type]
    with pytest.raises(ck.SpecificationError, match="three finite amounts"):
        ck.decide(est(3.0, 2.0, 4.0), annual_value=(1.0, float("nan"), 2.0), yearly_cost=1.0)
    with pytest.raises(ck.SpecificationError, match="guardrails_lower_is_worse"):
        ck.decide(est(3.0, 2.0, 4.0),
                  criteria=ck.SuccessCriteria(guardrails_lower_is_worse=("x",)))


def test_low_confidence_holds_a_launch_that_would_ship():
    args = dict(criteria=CRIT, days_since_launch=60, guardrails=OK_LATENCY,
                annual_value=(3e6, 2e6, 4e6), yearly_cost=5e5)
    crit = ck.SuccessCriteria(min_effect=1.0, roi_bar=2.0, window_days=30,
                              guardrails={"latency_ms": 20.0})
    args["criteria"] = crit
    d = ck.decide(est(3.0, 2.0, 4.0), confidence="low",
                  confidence_reasons=("pre_trends failed: cohorts diverged before launch",), **args)
    # past a 30-day window low confidence is an unmeasurable impact: the 90-day rule kills it
    assert fired(d) == ("roll back", "ninety_day")
    d = ck.decide(est(3.0, 2.0, 4.0), confidence="low",
                  confidence_reasons=("pre_trends failed: cohorts diverged before launch",),
                  **{**args, "days_since_launch": None})
    assert fired(d) == ("keep measuring", "low_confidence")
    assert "confidence in the estimate is low" in d.reason and "pre_trends failed" in d.reason
    assert d.inputs["confidence"] == "low"
    assert fired(ck.decide(est(3.0, 2.0, 4.0), confidence="medium", **args)) == ("ship", "ship")
    # low confidence never softens a roll back
    harm = ck.decide(est(-3.0, -4.0, -2.0), confidence="low", **args)
    assert fired(harm) == ("roll back", "harm")


INCONCLUSIVE = est(0.5, -1.0, 2.0)


def test_ninety_day_rule_kills_an_inconclusive_launch_past_the_window():
    d = ck.decide(INCONCLUSIVE, days_since_launch=120)
    assert fired(d) == ("roll back", "ninety_day")
    assert "kill or pivot" in d.reason.lower() and "120 days" in d.reason
    assert fired(ck.decide(INCONCLUSIVE, days_since_launch=40)) == ("keep measuring", "window")
    # a measurable effect past the window is not killed
    assert fired(ck.decide(est(3.0, 2.0, 4.0), days_since_launch=120))[1] != "ninety_day"
    # low confidence past the window is the same: the impact could not be measured
    d = ck.decide(est(3.0, 2.0, 4.0), days_since_launch=120, confidence="low")
    assert fired(d) == ("roll back", "ninety_day") and "low-confidence" in d.reason


@pytest.mark.parametrize("exception", ["platform", "long_sales_cycle"])
def test_exceptions_replace_the_kill_by_the_metric_they_are_judged_by(exception):
    crit = ck.SuccessCriteria(exception=exception)
    for days in (40, 120, 400):
        d = ck.decide(INCONCLUSIVE, criteria=crit, days_since_launch=days)
        assert d.rule != "ninety_day"
    d = ck.decide(INCONCLUSIVE, criteria=crit, days_since_launch=120)
    assert fired(d) == ("keep measuring", "exception")
    assert exception in d.reason
    assert ("adoption" in d.reason) if exception == "platform" else ("pipeline" in d.reason)
    step = next(s for s in d.steps if s.rule == "ninety_day")
    assert step.answer == "not applied" and exception in step.detail


def test_a_timeboxed_bet_is_decided_when_its_timebox_is_up():
    crit = ck.SuccessCriteria(exception="timeboxed_bet", timebox_days=150)
    d = ck.decide(INCONCLUSIVE, criteria=crit, days_since_launch=120)
    assert fired(d) == ("keep measuring", "window") and "timeboxed bet" in d.reason
    d = ck.decide(INCONCLUSIVE, criteria=crit, days_since_launch=151)
    assert fired(d) == ("roll back", "ninety_day")
    assert "timeboxed bet" in d.reason and "150 days" in d.reason
    short = ck.SuccessCriteria(exception="timeboxed_bet", timebox_days=30)
    assert fired(ck.decide(INCONCLUSIVE, criteria=short, days_since_launch=40)) == (
        "roll back", "ninety_day")


def test_adoption_under_the_floor_past_the_window_is_dead_on_arrival():
    d = ck.decide(est(3.0, 2.0, 4.0), days_since_launch=100, adoption=0.12)
    assert fired(d) == ("roll back", "adoption")
    assert "dead on arrival" in d.reason and "12%" in d.reason and "20%" in d.reason
    assert fired(ck.decide(est(3.0, 2.0, 4.0), days_since_launch=40, adoption=0.12)) == (
        "keep measuring", "window")
    assert ck.decide(est(3.0, 2.0, 4.0), days_since_launch=100, adoption=0.35).rule != "adoption"
    # a platform is judged by adoption: the floor still applies
    plat = ck.SuccessCriteria(exception="platform", adoption_floor=0.5)
    assert ck.decide(INCONCLUSIVE, criteria=plat, days_since_launch=100, adoption=0.3).rule == \
        "adoption"
    assert ck.decide(est(3.0, 2.0, 4.0), days_since_launch=100, adoption=0.3).inputs[
        "adoption"] == 0.3


@pytest.mark.parametrize("days", [float("nan"), -1, float("inf"), "soon", True])
def test_days_since_launch_must_be_a_finite_number_of_days(days):
    with pytest.raises(ck.SpecificationError, match=r"days_since_launch must be a .*number"):
        ck.decide(est(3.0, 2.0, 4.0), days_since_launch=days)


def test_adoption_and_exception_errors():
    with pytest.raises(ck.SpecificationError, match=r"adoption must be the share .* got 12"):
        ck.decide(est(3.0, 2.0, 4.0), adoption=12)
    with pytest.raises(ck.SpecificationError, match=r"criteria\.exception='strategic'"):
        ck.decide(est(3.0, 2.0, 4.0), criteria=ck.SuccessCriteria(exception="strategic"))
    with pytest.raises(ck.SpecificationError, match=r"needs criteria\.timebox_days"):
        ck.decide(est(3.0, 2.0, 4.0), criteria=ck.SuccessCriteria(exception="timeboxed_bet"))
    with pytest.raises(ck.SpecificationError, match="only used with"):
        ck.decide(est(3.0, 2.0, 4.0), criteria=ck.SuccessCriteria(timebox_days=30))
    with pytest.raises(ck.SpecificationError, match="adoption_floor"):
        ck.decide(est(3.0, 2.0, 4.0), criteria=ck.SuccessCriteria(adoption_floor=20))


def test_window_end_date_is_an_input_when_the_launch_is_known():
    launch = ck.Launch(name="x", start={"north": "2026-03-02"})
    d = ck.decide(INCONCLUSIVE, criteria=launch, as_of="2026-04-01")
    assert fired(d) == ("keep measuring", "window")
    assert d.inputs["window_ends"] == "2026-05-31" and d.inputs["days_since_launch"] == 30


def test_next_step_is_one_plain_sentence():
    launch = ck.Launch(name="x", start={"north": "2026-03-11"})
    d = ck.decide(INCONCLUSIVE, criteria=launch, days_since_launch=40)
    assert ck.business.next_step(d) == ("Keep measuring until 9 June 2026: the estimate cannot "
                                        "yet separate a gain from noise.")
    kill = ck.business.next_step(ck.decide(INCONCLUSIVE, days_since_launch=120))
    assert kill == "Kill or pivot: 120 days after launch the business impact still cannot be " \
        "measured."
    doa = ck.business.next_step(ck.decide(est(3.0, 2.0, 4.0), days_since_launch=100,
                                          adoption=0.12))
    assert "only 12% of exposed users" in doa and "dead on arrival" in doa
    for decision in (d, ck.decide(est(3.0, 2.0, 4.0), days_since_launch=60, confidence="low")):
        text = ck.business.next_step(decision)
        assert not any(w in text for w in ("interval", "p=", "F ", "cluster", "region-week"))
