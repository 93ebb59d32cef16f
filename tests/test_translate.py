"""Value models, money intervals and ck.translate, pinned against hand-computed cases."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.business import (
    CostPerOutcomeValue,
    PerUserValue,
    RetentionValue,
    RunningCost,
    cost_per_outcome,
    money_interval,
)
from causal_kit.core.stats import normal_ci


def make_estimate(est=2.0, se=0.5, ci=None, draws=None, outcome="revenue", level=0.95, **details):
    if ci is None:
        ci, p = normal_ci(est, se, level)
    else:
        p = 0.01
    return ck.Estimate(
        method="did:2x2", outcome=outcome, estimate=est, se=se, ci=ci, level=level, p_value=p,
        n_units=40, n_treated=20, draws=draws, details=details,
    )


# ---------------------------------------------------------------- value models, by hand
def test_per_user_value_hand_computed():
    # 2.0 per user per week × 40,000 users × 52 weeks = 4,160,000
    est = make_estimate(2.0, ci=(1.02, 2.98))
    imp = ck.translate(est, users=40_000, value_per_unit=1.0, periods_per_year=52,
                       cost=250_000, upfront_cost=500_000, days_since_launch=120)
    assert imp.annual_value == pytest.approx(4_160_000)
    assert imp.annual_value_low == pytest.approx(1.02 * 40_000 * 52)  # 2,121,600
    assert imp.annual_value_high == pytest.approx(2.98 * 40_000 * 52)  # 6,198,400
    assert imp.value_interval_source == "interval"
    assert imp.roi == pytest.approx(4_160_000 / 250_000)  # 16.64
    assert imp.roi_low == pytest.approx(2_121_600 / 250_000)
    assert imp.net_value == pytest.approx(3_910_000)
    assert imp.cost_share == pytest.approx(250_000 / 4_160_000)
    # 500,000 upfront / (3,910,000 / 12 per month) = 1.5345 months
    assert imp.payback_months == pytest.approx(500_000 / (3_910_000 / 12))
    assert imp.recommendation == "ship"


def test_value_per_unit_scales_money():
    est = make_estimate(0.5, ci=(0.2, 0.8), outcome="sessions")
    imp = ck.translate(est, users=1_000, value_per_unit=3.0, periods_per_year=12)
    assert imp.annual_value == pytest.approx(0.5 * 1_000 * 3.0 * 12)
    assert (imp.annual_value_low, imp.annual_value_high) == pytest.approx((7_200, 28_800))
    assert imp.roi is None and imp.payback_months is None


def test_retention_ltv_hand_computed():
    # r0 = 0.80, H = 3: L = 1 + .8 + .64 = 2.44; r = 0.85: L = 1 + .85 + .7225 = 2.5725.
    # ΔLTV = 10 × 0.1325 = 1.325 per user; × 1,000 users = 1,325.
    model = RetentionValue(users=1_000, revenue_per_period=10.0, baseline=0.80, horizon_periods=3)
    assert model.annual_value(np.array([0.05]))[0] == pytest.approx(1_325.0)
    assert model.annual_value(np.array([0.0]))[0] == pytest.approx(0.0)
    assert model.lifetime(np.array([1.0]))[0] == pytest.approx(3.0)
    churn = RetentionValue(1_000, 10.0, baseline=0.20, horizon_periods=3, metric="churn")
    assert churn.annual_value(np.array([-0.05]))[0] == pytest.approx(1_325.0)
    # Long horizon tends to the geometric lifetime 1 / (1 - r) = 5 periods.
    long = RetentionValue(1, 1.0, baseline=0.8, horizon_periods=2_000)
    assert long.lifetime(np.array([0.8]))[0] == pytest.approx(5.0)


def test_retention_interval_maps_ends_through_the_nonlinear_model():
    model = RetentionValue(users=50_000, revenue_per_period=8.0, baseline=0.7, horizon_periods=24)
    est = make_estimate(0.02, ci=(0.005, 0.035), outcome="m1_retention")
    v, low, high, src = money_interval(est, model)
    assert src == "interval"
    assert v == pytest.approx(model.annual_value(np.array([0.02]))[0])
    assert low == pytest.approx(model.annual_value(np.array([0.005]))[0])
    assert high == pytest.approx(model.annual_value(np.array([0.035]))[0])
    # nonlinear: the interval is not symmetric around the point
    assert (high - v) != pytest.approx(v - low, rel=1e-3)


def test_cost_per_outcome_and_running_cost():
    model = CostPerOutcomeValue(outcomes_per_year=500_000)
    assert model.annual_value(np.array([-0.40]))[0] == pytest.approx(200_000)
    run = RunningCost(inferences_per_year=10_000_000, cost_per_inference=0.002,
                      fixed_per_year=30_000)
    assert run.yearly == pytest.approx(50_000)
    assert run.per_outcome(25_000) == pytest.approx(2.0)
    assert cost_per_outcome(1_200.0, 400) == pytest.approx(3.0)
    crit = ck.SuccessCriteria(direction="decrease", min_effect=0.1)
    est = make_estimate(-0.4, ci=(-0.6, -0.2), outcome="cost_per_ticket")
    imp = ck.translate(est, value_model=model, cost=run, criteria=crit, days_since_launch=100)
    assert imp.annual_value == pytest.approx(200_000)
    assert (imp.annual_value_low, imp.annual_value_high) == pytest.approx((100_000, 300_000))
    assert imp.yearly_cost == pytest.approx(50_000)
    assert imp.cost_detail["inferences_per_year"] == 10_000_000
    assert imp.recommendation == "ship"


# ---------------------------------------------------------------- draws
def test_money_interval_uses_draw_quantiles():
    rng = np.random.default_rng(1)
    draws = rng.normal(2.0, 0.5, 4_000) ** 1  # any distribution
    draws_before = draws.copy()
    est = make_estimate(2.0, draws=draws)
    model = PerUserValue(100, 1.0, 1.0)
    _v, low, high, src = money_interval(est, model)
    assert src == "draws"
    assert (low, high) == pytest.approx(tuple(np.quantile(draws * 100, [0.025, 0.975])))
    np.testing.assert_array_equal(est.draws, draws_before)  # input untouched
    # forcing the interval ignores the draws
    assert money_interval(est, model, "ci")[3] == "interval"


def test_placebo_draws_are_recentred_on_the_estimate():
    rng = np.random.default_rng(2)
    placebo = rng.normal(0.0, 1.0, 2_000) + 0.3  # skewed null distribution
    est = make_estimate(5.0, draws=placebo, draws_kind="placebo")
    _, low, high, src = money_interval(est, PerUserValue(1, 1.0, 1.0))
    q_lo, q_hi = np.quantile(placebo, [0.025, 0.975])
    assert src == "draws"
    assert (low, high) == pytest.approx((5.0 - q_hi, 5.0 - q_lo))


def test_too_few_draws_fall_back_or_raise():
    est = make_estimate(2.0, draws=np.array([1.0, 2.0, 3.0]))
    assert money_interval(est, PerUserValue(1))[3] == "interval"
    with pytest.raises(ck.DataError, match="at least 20 finite draws"):
        money_interval(est, PerUserValue(1), "draws")


def test_nonfinite_draws_are_dropped_with_a_warning():
    draws = np.r_[np.linspace(1, 3, 50), np.nan]
    est = make_estimate(2.0, draws=draws)
    with pytest.warns(ck.CausalKitWarning, match="1 of 51 draws"):
        _, low, high, _ = money_interval(est, PerUserValue(1))
    assert np.isfinite([low, high]).all()


# ---------------------------------------------------------------- propagation vs simulation
def test_interval_from_ci_ends_matches_monte_carlo_quantiles_nonlinear():
    """For a normal estimate, the mapped CI ends equal the Monte Carlo quantiles of money."""
    model = RetentionValue(users=20_000, revenue_per_period=15.0, baseline=0.75, horizon_periods=12)
    est = make_estimate(0.03, se=0.012, outcome="retention")
    _, low, high, _ = money_interval(est, model, "ci")
    rng = np.random.default_rng(3)
    sims = model.annual_value(rng.normal(0.03, 0.012, 400_000))
    mc_low, mc_high = np.quantile(sims, [0.025, 0.975])
    assert low == pytest.approx(mc_low, rel=0.01)
    assert high == pytest.approx(mc_high, rel=0.01)


def test_money_interval_covers_the_true_value_at_nominal_rate():
    """Simulate experiments on retention; the money interval (bootstrap draws) covers the truth."""
    rng = np.random.default_rng(4)
    reps, n, n_boot = 300, 400, 200
    p0, p1 = 0.70, 0.76
    model = RetentionValue(users=10_000, revenue_per_period=20.0, baseline=p0, horizon_periods=12)
    truth = model.annual_value(np.array([p1 - p0]))[0]
    y0 = rng.random((reps, n)) < p0
    y1 = rng.random((reps, n)) < p1
    idx0 = rng.integers(0, n, (n_boot, n))
    idx1 = rng.integers(0, n, (n_boot, n))
    covered_draws = covered_ci = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ck.CausalKitWarning)
        for r in range(reps):
            diff = y1[r].mean() - y0[r].mean()
            se = np.sqrt(y1[r].var(ddof=1) / n + y0[r].var(ddof=1) / n)
            boot = y1[r][idx1].mean(axis=1) - y0[r][idx0].mean(axis=1)
            est = make_estimate(diff, se=se, draws=boot, outcome="retention")
            _, lo, hi, src = money_interval(est, model)
            assert src == "draws"
            covered_draws += lo <= truth <= hi
            _, lo, hi, _ = money_interval(est, model, "ci")
            covered_ci += lo <= truth <= hi
    # 300 reps: binomial sd of a 95% rate is 1.3 points.
    assert 0.90 <= covered_draws / reps <= 0.99
    assert 0.90 <= covered_ci / reps <= 0.99


# ---------------------------------------------------------------- result object
def test_impact_to_dict_is_json_safe_and_summary_renders():
    imp = ck.translate(make_estimate(2.0), users=10, cost=0.0, days_since_launch=200)
    d = imp.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["roi"] is None  # infinite ROI is not a JSON number
    assert d["recommendation"] == imp.decision.action
    assert d["value_model"]["model"] == "per_user"
    text = str(imp.summary())
    assert "SHIP" in text and "Value per year" in text
    assert "<table" in imp._repr_html_()
    assert "| Value per year |" in imp.to_markdown()
    with pytest.raises(AttributeError):
        imp.annual_value = 0.0  # type: ignore[misc]


def test_launch_gives_criteria_and_dates():
    launch = ck.Launch("recsys-v2", start={"north": "2026-03-02"},
                       criteria=ck.SuccessCriteria(min_effect=0.5, window_days=90))
    est = make_estimate(2.0, ci=(1.0, 3.0))
    early = ck.translate(est, users=10, criteria=launch, as_of="2026-04-01")
    assert early.recommendation == "keep measuring" and early.decision.rule == "window"
    assert early.decision.inputs["days_since_launch"] == 30
    late = ck.translate(est, users=10, criteria=launch, as_of="2026-07-01")
    assert late.recommendation == "ship"
    assert late.decision.inputs["launch"] == "recsys-v2"


# ---------------------------------------------------------------- errors
def test_translate_errors_name_the_fix():
    est = make_estimate()
    with pytest.raises(ck.SpecificationError, match="needs a value model"):
        ck.translate(est)
    with pytest.raises(ck.SpecificationError, match="not both"):
        ck.translate(est, users=10, value_model=PerUserValue(10))
    with pytest.raises(ck.SpecificationError, match="users must be a finite number"):
        ck.translate(est, users=-5)
    with pytest.raises(ck.SpecificationError, match="periods_per_year"):
        ck.translate(est, users=5, periods_per_year=0)
    with pytest.raises(ck.SpecificationError, match="cost must be a finite number"):
        ck.translate(est, users=5, cost=float("nan"))
    with pytest.raises(ck.SpecificationError, match="loses money"):
        ck.translate(est, users=5, criteria=ck.SuccessCriteria(direction="decrease"))
    with pytest.raises(ck.SpecificationError, match="interval='bogus'"):
        ck.translate(est, users=5, interval="bogus")  # type: ignore[arg-type]
    with pytest.raises(ck.SpecificationError, match="needs an Estimate"):
        ck.translate(2.0, users=5)  # type: ignore[arg-type]
    bad = make_estimate(2.0, ci=(float("nan"), float("nan")))
    with pytest.raises(ck.DataError, match="no finite point and interval"):
        ck.translate(bad, users=5)
    with pytest.raises(ck.SpecificationError, match="baseline must be a retention rate"):
        RetentionValue(10, 1.0, baseline=1.2, horizon_periods=12)
    with pytest.raises(ck.SpecificationError, match="horizon_periods"):
        RetentionValue(10, 1.0, baseline=0.5, horizon_periods=0)


def test_retention_out_of_range_is_clipped_with_a_warning():
    model = RetentionValue(10, 1.0, baseline=0.95, horizon_periods=12)
    with pytest.warns(ck.CausalKitWarning, match="clipped"):
        v = model.annual_value(np.array([0.2]))
    assert v[0] == pytest.approx(10 * (12 - model.lifetime(np.array([0.95]))[0]))


def test_real_did_bootstrap_draws_carry_into_money():
    try:
        from causal_kit import did
    except ImportError:
        pytest.skip("the DiD design is not importable in this tree")
    import pandas as pd

    rng = np.random.default_rng(5)
    rows = [(f"r{u:02d}", w, int(u < 6 and w >= 5), 10 + u + 0.2 * w
             + 2.0 * (u < 6 and w >= 5) + rng.normal(0, 0.3))
            for u in range(16) for w in range(10)]
    panel = pd.DataFrame(rows, columns=["region", "week", "treated", "revenue"])
    est = did(panel, outcome="revenue", unit="region", time="week", treatment="treated",
              method="cs", bootstrap="multiplier", n_boot=999, seed=2)
    assert est.draws is not None and est.draws.size == 999
    imp = ck.translate(est, users=1_000, periods_per_year=52)
    assert imp.value_interval_source == "draws"
    scale = 1_000 * 52
    assert (imp.annual_value_low, imp.annual_value_high) == pytest.approx(
        tuple(np.quantile(est.draws * scale, [0.025, 0.975]))
    )
    # the bootstrap interval and the design's own interval tell the same story (within 10%)
    width_draws = imp.annual_value_high - imp.annual_value_low
    width_ci = (est.ci[1] - est.ci[0]) * scale
    assert width_draws == pytest.approx(width_ci, rel=0.1)
    assert imp.annual_value_low < 2.0 * scale < imp.annual_value_high


def test_translate_grades_the_estimates_own_checks_by_default():
    failed = [ck.Check("pre_trends", False, 3.0, 0.01, "cohorts diverged before launch"),
              ck.Check("sensitivity", False, 0.0, None, "breakdown at zero", kind="robustness")]
    e = ck.Estimate(method="did:cs", outcome="revenue", estimate=3.0, se=0.5, ci=(2.0, 4.0),
                    level=0.95, p_value=0.001, n_units=30, n_treated=10, checks=failed)
    args = dict(users=1000, periods_per_year=52, cost=10.0)
    held = ck.translate(e, **args)
    assert (held.decision.action, held.decision.rule) == ("keep measuring", "low_confidence")
    assert "cohorts diverged" in held.decision.reason
    assert held.decision.inputs["confidence"] == "low"
    # told otherwise: no confidence test
    free = ck.translate(e, confidence=None, **args)
    assert free.decision.action == "ship"
    # passed checks: ships by default
    ok = ck.Estimate(method="did:cs", outcome="revenue", estimate=3.0, se=0.5, ci=(2.0, 4.0),
                     level=0.95, p_value=0.001, n_units=30, n_treated=10,
                     checks=[ck.Check("pre_trends", True, 0.5, 0.6, "flat")])
    assert ck.translate(ok, **args).decision.action == "ship"
    with pytest.raises(ck.SpecificationError, match="confidence must be a Scorecard"):
        ck.translate(e, confidence=3, **args)  # type: ignore[arg-type]
