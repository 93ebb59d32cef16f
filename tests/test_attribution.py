"""KPI-change attribution with dowhy.gcm: a change of user mix alone is attributed to the mix,
a launch to the cascade's mechanisms; seeded and deterministic; bad input named."""

from __future__ import annotations

import pytest

import causal_kit as ck
from causal_kit.evidence.attribution import attribute_change
from causal_kit.simulate.truth_mechanisms import simulate_users

LEVELS = {"task_success": "task", "revenue": "business"}


@pytest.fixture(scope="module")
def graph():
    return ck.cascade_graph("v2", ["task_success", "revenue"], levels=LEVELS,
                            covariates=["power"], adoption="adopted")


@pytest.fixture(scope="module")
def before():
    sim = simulate_users(3000, seed=1)
    return sim.users[sim.users.exposed == 0]


def test_mix_change_goes_to_the_mix_and_launch_to_task(graph, before):
    mix_only = simulate_users(3000, seed=2, power_share=0.35, launch_effect=False).users
    r = attribute_change(before, mix_only[mix_only.exposed == 1], graph, num_samples=4000)
    assert r.change > 1.5
    assert r.mix == pytest.approx(r.change, abs=0.4)
    assert abs(r.contribution("task_success")) < 0.3
    launch = simulate_users(3000, seed=2).users
    r2 = attribute_change(before, launch[launch.exposed == 1], graph, num_samples=4000)
    assert abs(r2.mix) < 0.4
    assert r2.contribution("adopted") + r2.contribution("task_success") > 0.3
    assert r2.table["contribution"].sum() == pytest.approx(r2.change, abs=0.4)
    again = attribute_change(before, launch[launch.exposed == 1], graph, num_samples=4000)
    assert again.table.equals(r2.table)  # seeded: the same numbers
    d = r2.to_dict()
    assert d["target"] == "revenue" and "from" in d["sentence"]


def test_attribution_bad_input(graph, before):
    with pytest.raises(ck.DataError, match=r"after lacks column\(s\) \['adopted'\]"):
        attribute_change(before, before.drop(columns="adopted"), graph)
    with pytest.raises(ck.DataError, match="at least 100 users"):
        attribute_change(before, before.head(50), graph)
    with pytest.raises(ck.SpecificationError, match="not a metric"):
        attribute_change(before, before, graph, target="power")


def test_exact_contributions_add_up_and_agree_with_dowhys_sampled_estimate(graph, before):
    launch = simulate_users(3000, seed=2).users
    after = launch[launch.exposed == 1]
    exact = attribute_change(before, after, graph)
    assert exact.table["contribution"].sum() == pytest.approx(exact.change, abs=1e-9)
    assert attribute_change(before, after, graph, seed=7).table.equals(exact.table)
    sampled = attribute_change(before, after, graph, method="sampled", num_samples=20_000)
    gap = (sampled.table["contribution"] - exact.table["contribution"]).abs().max()
    assert gap < 0.15 * abs(exact.change), (sampled.table, exact.table)
    with pytest.raises(ck.SpecificationError, match="method"):
        attribute_change(before, after, graph, method="fast")
