"""Who gains: group effects cover the simulator's truth in each launch shape, the policy holds
back the users who lose, and bad input is refused with the fix."""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.simulate.truth_mechanisms import simulate_users

FEATURES = ["segment", "region_tier", "tenure_days", "pre_sessions"]


@pytest.fixture(scope="module")
def holdout():
    sim = simulate_users(4000, seed=1)
    return sim, ck.heterogeneity(sim.users, outcome="revenue", treatment="exposed",
                                 features=FEATURES, seed=0)


def _covers(result, truth):
    for seg, value in truth["by_segment"].items():
        row = result.table[(result.table["feature"] == "segment")
                           & (result.table["group"] == seg)].iloc[0]
        assert row["conf_low"] <= value <= row["conf_high"], (seg, value, row)
    avg = result.table.iloc[0]
    assert avg["conf_low"] <= truth["itt"] <= avg["conf_high"]


def test_holdout_covers_truth_and_finds_the_losing_segment(holdout):
    sim, h = holdout
    _covers(h, sim.truth)
    power = h.table[(h.table["group"] == "power")].iloc[0]
    assert power["conf_high"] < 0  # the segment that pays loses
    assert power["outcome_share"] > 0.4  # ... and carries almost half of the revenue
    assert h.quintile("top")["estimate"] > h.quintile("bottom")["estimate"]
    assert h.quintile("bottom")["conf_high"] < 0
    p = h.policy
    assert any(r.startswith("hold back") and "segment = power" in r for r in p["rules"])
    assert 0.5 < p["share_launched"] < 0.95
    assert p["gain_low"] > 0  # targeting beats launching to all, out of sample
    assert p["value_targeted"] == pytest.approx(p["value_all"] + p["gain"])
    assert set(h.to_dict()) >= {"groups", "policy", "assumption", "design"}
    assert "Who gains" in str(h.summary())
    from causal_kit.presentation.views_evidence import evidence_summary, who_gains_view

    assert evidence_summary(heterogeneity=h)["heterogeneity"]["policy"]["rules"] == p["rules"]
    assert "hold back" in who_gains_view(h)._repr_html_()


def test_rollout_differences_and_states_conditional_parallel_trends():
    sim = simulate_users(4000, shape="rollout", seed=2)
    h = ck.heterogeneity(sim.users, outcome="revenue", treatment="exposed", features=FEATURES,
                         design="rollout", pre_outcome="revenue_pre", cluster="region")
    assert "conditional parallel trends" in h.assumption
    # the truth is over the launched users' effect; every user's effect moves with its features
    row = h.table.iloc[0]
    truth_all = sim.users["true_effect"].mean()
    assert row["conf_low"] <= truth_all <= row["conf_high"]
    seg = h.table[h.table["feature"] == "segment"].set_index("group")
    by = sim.users.groupby("segment")["true_effect"].mean()
    for g in ("casual", "power"):
        assert seg.loc[g, "conf_low"] <= by[g] <= seg.loc[g, "conf_high"]
    naive = (sim.users.revenue - sim.users.revenue_pre).groupby(sim.users.exposed).mean()
    assert abs((naive[1] - naive[0]) - truth_all) > abs(row["estimate"] - truth_all)


def test_score_gate_uses_the_bandwidth():
    sim = simulate_users(6000, shape="score_gate", seed=4)
    h = ck.heterogeneity(sim.users, outcome="revenue", treatment="exposed", features=FEATURES,
                         design="score_gate", running="score", cutoff=0.7, bandwidth=0.15)
    inside = ((sim.users.score - 0.7).abs() <= 0.15).sum()
    assert h.n_users == inside
    _covers(h, sim.truth)


def test_deterministic_and_input_untouched(holdout):
    sim, h = holdout
    before = sim.users.copy()
    again = ck.heterogeneity(sim.users, outcome="revenue", treatment="exposed",
                             features=FEATURES, seed=0)
    assert again.table.equals(h.table) and np.array_equal(again.cate, h.cate)
    assert sim.users.equals(before)


def test_bad_input_names_the_fix(holdout):
    sim, _ = holdout
    u = sim.users.copy()
    u.loc[[1, 2], "tenure_days"] = np.nan
    kw = dict(outcome="revenue", treatment="exposed")
    with pytest.raises(ck.DataError, match=r"'tenure_days' has 2 missing.*impute"):
        ck.heterogeneity(u, features=FEATURES, **kw)
    with pytest.raises(ck.DataError, match=r"'k' is constant.*drop it"):
        ck.heterogeneity(sim.users.assign(k=3), features=["segment", "k"], **kw)
    with pytest.raises(ck.SpecificationError, match=r"too few users per leaf.*max_depth"):
        ck.heterogeneity(sim.users.head(150), features=FEATURES, **kw)
    with pytest.raises(ck.SpecificationError, match="too few users per leaf"):
        ck.heterogeneity(sim.users, features=FEATURES, min_leaf=2000, **kw)
    with pytest.raises(ck.SpecificationError, match="pre_outcome="):
        ck.heterogeneity(sim.users, features=FEATURES, design="rollout", **kw)
    with pytest.raises(ck.SpecificationError, match="bandwidth="):
        ck.heterogeneity(sim.users, features=FEATURES, design="score_gate", running="score",
                         **kw)
    with pytest.raises(ck.SpecificationError, match="'linear', 'forest'"):
        ck.heterogeneity(sim.users, features=FEATURES, method="boost", **kw)
    with pytest.raises(ck.DataError, match="0/1"):
        ck.heterogeneity(sim.users.assign(exposed=2), features=FEATURES, **kw)
