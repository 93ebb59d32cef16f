"""ck.triangulate: eligibility with reasons, the concordance table and the agreement verdict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.evidence._designs import available
from causal_kit.evidence.triangulate import _concordance


def panel(n_units=10, n_treated=4, weeks=12, start=6, effect=2.0, seed=0):
    rng = np.random.default_rng(seed)
    unit_fe = rng.normal(10, 2, n_units)
    week_fe = np.cumsum(rng.normal(0.2, 0.1, weeks))
    rows = []
    for u in range(n_units):
        for w in range(weeks):
            d = int(u < n_treated and w >= start)
            rows.append((f"r{u:02d}", w, d, unit_fe[u] + week_fe[w] + effect * d
                         + rng.normal(0, 0.2)))
    return pd.DataFrame(rows, columns=["region", "week", "treated", "revenue"])


def users(n=3_000, cutoff=0.7, effect=2.0, seed=1):
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    y = 1.0 + 0.5 * score + effect * (score >= cutoff) + rng.normal(0, 0.5, n)
    return pd.DataFrame({"score": score, "revenue": y})


PANEL_ARGS = {"outcome": "revenue", "unit": "region", "time": "week", "treatment": "treated"}


def test_eligibility_reasons_when_designs_do_not_apply():
    # one never-treated region only, and no score gate
    p = panel(n_units=5, n_treated=4)
    t = ck.triangulate(p, **PANEL_ARGS)
    e = t.eligibility.set_index("design")
    assert bool(e.loc["did", "eligible"])
    assert not e.loc["sc", "eligible"]
    assert "at least 2 never-treated donor regions; the panel has 1" in e.loc["sc", "reason"]
    assert not e.loc["rdd", "eligible"]
    assert "not gated on a score" in e.loc["rdd", "reason"]


def test_synthetic_control_needs_pre_periods():
    t = ck.triangulate(panel(start=2), designs=("sc",), **PANEL_ARGS)
    reason = t.eligibility.iloc[0]["reason"]
    assert "at least 3 pre-launch periods" in reason and "the shortest has 2" in reason


def test_rdd_needs_both_sides_of_the_cutoff():
    u = users()
    t = ck.triangulate(users=u, outcome="revenue", running="score", cutoff=0.999,
                       designs=("rdd",))
    assert "at least 10 observations on each side" in t.eligibility.iloc[0]["reason"]
    t = ck.triangulate(users=u, outcome="revenue", designs=("rdd", "did"))
    e = t.eligibility.set_index("design")
    assert "unit=, time= and treatment=" in e.loc["did", "reason"]
    assert t.verdict == "no design"


def test_launch_supplies_the_unit_and_the_score_gate():
    launch = ck.Launch("gate", start={"r00": "2026-01-05"}, unit="region",
                       gate={"column": "score", "cutoff": 0.999})
    t = ck.triangulate(users=users(), outcome="revenue", launch=launch, designs=("rdd",))
    assert "cutoff 0.999" in t.eligibility.iloc[0]["reason"]
    assert t.params["running"] == "score" and t.params["unit"] == "region"
    with pytest.raises(ck.SpecificationError, match="launch must be a Launch"):
        ck.triangulate(users=users(), outcome="revenue", launch="gate")  # type: ignore[arg-type]


def test_panel_problems_become_reasons_not_crashes():
    bad = panel()
    bad.loc[3, "treated"] = 2
    t = ck.triangulate(bad, designs=("did",), **PANEL_ARGS)
    assert "must be 0/1" in t.eligibility.iloc[0]["reason"]
    assert not t.estimates


@pytest.mark.skipif(not available("did"), reason="the DiD design is not importable yet")
def test_triangulate_runs_every_eligible_design():
    p, u = panel(), users()
    before = p.copy()
    t = ck.triangulate(p, users=u, running="score", cutoff=0.7, seed=1, **PANEL_ARGS)
    pd.testing.assert_frame_equal(p, before)
    e = t.eligibility.set_index("design")
    assert e["eligible"].all()
    assert "did" in t.estimates
    assert t.estimates["did"].estimate == pytest.approx(2.0, abs=0.3)
    for name in ("sc", "rdd"):
        if available(name):
            assert name in t.estimates, e.loc[name, "reason"]
            assert t.estimates[name].estimate == pytest.approx(2.0, abs=0.6)
        else:
            assert not e.loc[name, "ran"]
            assert "not available" in e.loc[name, "reason"]
    c = t.concordance.set_index("design")
    assert c.loc["did", "ci_low"] < 2.0 < c.loc["did", "ci_high"]
    if len(t.estimates) > 1:
        assert t.verdict == "agree", t.verdict_message
        assert c["agrees"].all()
    else:
        assert t.verdict == "single design"
    json.dumps(t.to_dict(), allow_nan=False)
    assert "Triangulation" in str(t)
    # the scorecard rolls up the checks of every design that ran
    card = ck.scorecard(t)
    assert set(card.checks["design"]) == set(t.estimates)
    n_checks = sum(len(e.checks) for e in t.estimates.values())
    assert len(card.checks) == n_checks
    assert card.n_failed == sum(not c.passed for e in t.estimates.values() for c in e.checks)


def _e(point, low, high, method):
    return ck.Estimate(method=method, outcome="y", estimate=point, se=(high - low) / 3.92,
                       ci=(low, high), level=0.95, p_value=0.01, n_units=10, n_treated=4)


def test_concordance_verdicts():
    table, verdict, msg = _concordance({"did": _e(2, 1, 3, "did"), "sc": _e(2.5, 1.5, 3.5, "sc")})
    assert verdict == "agree" and table["agrees"].all()
    assert "did 2 [1, 3]" in msg
    _, verdict, _ = _concordance({"did": _e(2, 1.5, 2.5, "did"), "sc": _e(5, 4, 6, "sc")})
    assert verdict == "same direction, different size"
    table, verdict, msg = _concordance({"did": _e(2, 1, 3, "did"), "sc": _e(1.8, 1, 2.6, "sc"),
                                        "rdd": _e(-2, -3, -1, "rdd")})
    assert verdict == "disagree"
    assert table.set_index("design")["agrees"].to_dict() == {"did": False, "sc": False,
                                                               "rdd": False}
    assert "at the cutoff" in msg
    _, verdict, _ = _concordance({"did": _e(2, 1, 3, "did")})
    assert verdict == "single design"


def test_scorecard_counts_disagreement():
    from causal_kit.evidence.triangulate import Triangulation

    table, verdict, msg = _concordance({"did": _e(2, 1, 3, "did"), "rdd": _e(-2, -3, -1, "rdd")})
    tri = Triangulation(eligibility=pd.DataFrame(), concordance=table, verdict=verdict,
                        verdict_message=msg,
                        estimates={"did": _e(2, 1, 3, "did"), "rdd": _e(-2, -3, -1, "rdd")})
    s = ck.scorecard(tri)
    # 2 points for disagreement + 1 per estimate without checks = 4 → low
    assert s.grade == "low" and s.points == 4
    assert s.reasons[0].startswith("designs: The designs disagree")


def test_triangulate_errors():
    with pytest.raises(ck.SpecificationError, match="designs='ols'"):
        ck.triangulate(panel(), designs=("ols",), **PANEL_ARGS)  # type: ignore[arg-type]
    with pytest.raises(ck.SpecificationError, match="not in designs"):
        ck.triangulate(panel(), designs=("did",), options={"sc": {}}, **PANEL_ARGS)
    with pytest.raises(ck.SpecificationError, match="designs is empty"):
        ck.triangulate(panel(), designs=(), **PANEL_ARGS)
