"""ck.cascade: links hold, break and reverse, with messages that say where to look."""

from __future__ import annotations

import json

import pytest

import causal_kit as ck


def est(point, low, high, outcome, se=None):
    return ck.Estimate(method="did:cs", outcome=outcome, estimate=point,
                       se=se if se is not None else (high - low) / 3.92, ci=(low, high),
                       level=0.95, p_value=0.01, n_units=20, n_treated=10)


def test_broken_link_task_up_revenue_flat_is_detected_and_explained():
    c = ck.cascade({
        "task": est(0.06, 0.04, 0.08, "task_success"),
        "engagement": est(0.01, -0.02, 0.04, "sessions_per_user"),
        "business": est(0.05, -0.40, 0.50, "revenue_per_user"),
    })
    links = c.links.set_index("upstream")
    assert links.loc["task_success", "status"] == "broken"
    assert "workflow and UX" in links.loc["task_success", "message"]
    assert "not the model" in links.loc["task_success", "message"]
    # engagement did not move, so the next link cannot be judged
    assert links.loc["sessions_per_user", "status"] == "no signal"
    assert not c.holds
    assert len(c.broken_links) == 1
    assert "-[broken]->" in c.chain


def test_task_to_business_directly():
    c = ck.cascade({"task": est(0.06, 0.04, 0.08, "task_success"),
                    "business": est(0.1, -0.3, 0.5, "revenue")})
    row = c.links.iloc[0]
    assert (row["status"], row["from_level"], row["to_level"]) == ("broken", "task", "business")
    assert "the model is not the bottleneck" in row["message"]


def test_a_cascade_that_holds_with_elasticities():
    c = ck.cascade(
        {"precision": est(0.05, 0.03, 0.07, "precision"),
         "task_success": est(0.04, 0.02, 0.06, "task_success"),
         "revenue": est(1.0, 0.5, 1.5, "revenue")},
        levels={"precision": "model", "task_success": 2, "revenue": "business"},
        baselines={"precision": 0.80, "task_success": 0.50, "revenue": 20.0},
    )
    assert c.holds
    assert list(c.links["status"]) == ["holds", "holds"]
    first = c.links.iloc[0]
    # elasticity = (0.04 / 0.50) / (0.05 / 0.80) = 0.08 / 0.0625 = 1.28
    assert first["strength_basis"] == "elasticity"
    assert first["strength"] == pytest.approx(1.28)
    assert c.levels["relative_change"].tolist() == pytest.approx([0.0625, 0.08, 0.05])


def test_lower_is_better_and_reversed_link():
    # latency fell (an improvement), task success fell significantly: reversed
    c = ck.cascade({"model": est(-50.0, -70.0, -30.0, "latency_ms"),
                    "task": est(-0.03, -0.05, -0.01, "task_success")},
                   lower_is_better=("latency_ms",))
    assert c.levels.set_index("metric").loc["latency_ms", "moved"] == "improved"
    assert c.links.iloc[0]["status"] == "reversed"
    assert "side effect" in c.links.iloc[0]["message"]


def test_z_ratio_strength_without_baselines():
    c = ck.cascade({"task": est(0.06, 0.04, 0.08, "t", se=0.01),
                    "engagement": est(0.2, 0.1, 0.3, "e", se=0.05)})
    row = c.links.iloc[0]
    assert row["strength_basis"] == "z ratio"
    assert row["strength"] == pytest.approx((0.2 / 0.05) / (0.06 / 0.01))


def test_cascade_serialises_and_renders():
    c = ck.cascade({"task": est(0.06, 0.04, 0.08, "task_success"),
                    "business": est(0.1, -0.3, 0.5, "revenue")})
    d = c.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["holds"] is False and d["links"][0]["status"] == "broken"
    assert "Metric cascade" in str(c)
    assert "<table" in c._repr_html_()
    assert "broken" in c.summary().to_markdown()


def test_cascade_errors():
    with pytest.raises(ck.SpecificationError, match="at least two estimates"):
        ck.cascade({"task": est(1, 0, 2, "t")})
    with pytest.raises(ck.SpecificationError, match="two or more different levels"):
        ck.cascade({"a": est(1, 0, 2, "a"), "b": est(1, 0, 2, "b")},
                   levels={"a": "task", "b": "task"})
    with pytest.raises(ck.SpecificationError, match="not a cascade level"):
        ck.cascade({"a": est(1, 0, 2, "a"), "b": est(1, 0, 2, "b")},
                   levels={"a": "task", "b": "money"})
    with pytest.raises(ck.SpecificationError, match="pass levels="):
        ck.cascade({"a": est(1, 0, 2, "a"), "b": est(1, 0, 2, "b")})
    with pytest.raises(ck.SpecificationError, match="has no level"):
        ck.cascade({"a": est(1, 0, 2, "a"), "b": est(1, 0, 2, "b")}, levels={"a": "task"})


def test_registered_metrics_need_no_levels_and_carry_their_direction():
    try:
        from causal_kit.metrics.registry import METRICS
    except ImportError:
        pytest.skip("the metric registry is not importable in this tree")
    assert METRICS["latency_ms"].direction == "lower"
    c = ck.cascade({"latency_ms": est(-40.0, -60.0, -20.0, "latency_ms"),
                    "task_success_rate": est(0.05, 0.03, 0.07, "task_success_rate"),
                    "revenue": est(0.1, -0.2, 0.4, "revenue")})
    lv = c.levels.set_index("metric")
    assert lv["level"].to_dict() == {"latency_ms": 1, "task_success_rate": 2, "revenue": 4}
    assert lv.loc["latency_ms", "moved"] == "improved"  # lower latency is the improvement
    assert list(c.links["status"]) == ["holds", "broken"]


@pytest.mark.parametrize(("scenario", "status"),
                         [("staggered", "holds"), ("broken_cascade", "broken")])
def test_simulated_launch_end_to_end(tmp_path, scenario, status):
    """Simulated events → panel → DiD per metric → cascade: the broken scenario breaks.

    In the simulator's ``broken_cascade`` scenario the new model raises task success but
    engagement and revenue do not respond (true effect exactly 0); in ``staggered`` they do.
    """
    try:
        from causal_kit import build_panel, did, simulate
    except ImportError:
        pytest.skip("the simulator, metrics or DiD design is not importable in this tree")
    metrics = ["task_success_rate", "active_users", "revenue"]
    sim = simulate(scenario, n_users=20_000, n_days=140, seed=4, out_dir=tmp_path / scenario)
    panel = build_panel(sim.events, unit="region", time="week", metrics=metrics,
                        launch=sim.launch)
    estimates = {m: did(panel, outcome=m, unit="region", time="week", treatment="treated")
                 for m in metrics}
    c = ck.cascade(estimates)
    first = c.links.iloc[0]
    assert (first["upstream"], first["downstream"]) == ("task_success_rate", "active_users")
    assert first["status"] == status, c.chain
    if status == "broken":
        assert "not the model" in first["message"]


def test_slower_model_with_better_tasks_is_a_trade_off_not_a_break():
    c = ck.cascade({
        "latency_ms": est(200.0, 190.0, 210.0, "latency_ms"),
        "task_success_rate": est(0.11, 0.10, 0.12, "task_success_rate"),
        "active_users": est(30.0, 20.0, 40.0, "active_users"),
    })
    first = c.links.iloc[0]
    assert first["status"] == "trade-off"
    assert "keep it as a guardrail" in first["message"]
    assert c.holds and c.broken_links == []
    # the same worsening on a task metric is not excused: only the model level trades off
    c2 = ck.cascade({"task": est(-0.05, -0.07, -0.03, "task_success"),
                     "engagement": est(0.02, 0.01, 0.03, "sessions_per_user")})
    assert c2.links.iloc[0]["status"] == "no signal" and not c2.holds
