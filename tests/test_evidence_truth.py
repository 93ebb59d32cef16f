"""The evidence on demo-like event simulations against the simulator's recorded truths.

The truths are the ``mechanisms`` key of ``truth.json`` (:mod:`causal_kit.simulate.truth_evidence`):
the same users' 30-day outcomes with and without v2, by segment and by adoption, and the mediated
share that the simulator's structure defines.
"""

from __future__ import annotations

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.analysis.evidence import USER_LEVELS, user_evidence
from causal_kit.analysis.shapes import CUPED_COVARIATES, holdout_frame
from causal_kit.evidence.mediation import mediation
from causal_kit.presentation.views_evidence import through_what_view
from causal_kit.source.events import open_events


@pytest.fixture(scope="module")
def holdout(tmp_path_factory):
    sim = ck.simulate("holdout", n_users=20_000, seed=0,
                      out_dir=tmp_path_factory.mktemp("ev") / "holdout")  # fmt: skip
    frame = holdout_frame(open_events(sim.events), sim.launch, sim.users)
    arms = dict(sim.launch.arms or {})
    treated = frame[arms["column"]].astype(str) == arms["treatment"]
    found = user_evidence(frame, outcome="revenue_30d", treated=treated,
                          covariates=CUPED_COVARIATES, seed=0)  # fmt: skip
    return sim.truth, found


def test_mechanism_truth_adds_up_to_the_holdout_truth(holdout):
    truth, _ = holdout
    m, att = truth["mechanisms"], truth["holdout"]["att"]
    share, n = m["adoption"]["share"], m["n_by_segment"]
    assert 0 < share < 1 and sum(n.values()) == truth["holdout"]["n_by_arm"]["v2"]
    for name, effect in att.items():
        per = m["adoption"]
        mixed = (
            share * per["effect_per_adopter"][name]
            + (1 - share) * per["effect_per_non_adopter"][name]
        )
        assert mixed == pytest.approx(effect, abs=1e-9), name
        by_seg = sum(n[s] * m["by_segment"][name][s] for s in n) / sum(n.values())
        assert by_seg == pytest.approx(effect, abs=1e-9), name
    # the launch barely touches users who never ran a task: the instrument's exclusion holds
    rev = m["adoption"]
    assert abs(rev["effect_per_non_adopter"]["revenue_30d"]) < 0.05 * abs(
        rev["effect_per_adopter"]["revenue_30d"]
    )
    link = m["mediation"]["task_success -> revenue_30d"]
    assert link["indirect"] == link["total"] == att["revenue_30d"] and link["share"] == 1.0


def test_holdout_evidence_covers_the_simulated_mechanisms(holdout):
    truth, found = holdout
    m = truth["mechanisms"]
    groups = found.heterogeneity.table.set_index("term")
    for seg, effect in m["by_segment"]["revenue_30d"].items():
        row = groups.loc[f"segment={seg}"]
        assert row["conf_low"] <= effect <= row["conf_high"], (seg, effect, row)
    a = found.per_adopter
    assert a.adoption_rate == pytest.approx(m["adoption"]["share"], rel=1e-12)
    assert (
        a.per_adopter_ci[0]
        <= m["adoption"]["effect_per_adopter"]["revenue_30d"]
        <= a.per_adopter_ci[1]
    )
    links = found.mediation.table.set_index(["mediator", "outcome"])
    for outcome in ("retained_d30", "revenue_30d"):
        row = links.loc[("task_successes_30d", outcome)]
        true = m["mediation"][f"task_success -> {outcome}"]
        assert row["total_low"] <= true["total"] <= row["total_high"], outcome
        assert row["share_low"] <= true["share"] <= row["share_high"], outcome
        assert row["status"] == "carries", outcome


def test_holdout_attribution_splits_the_arms_difference_seeded(holdout):
    _, found = holdout
    a = found.attribution
    assert a.labels == ("the arm kept off the launch", "the launched arm")
    assert a.table["contribution"].sum() == pytest.approx(a.change, abs=0.1 * abs(a.change))
    assert a.contribution("task_successes_30d") > abs(a.mix)  # the launch acts on tasks
    assert (
        a.sentence().startswith("revenue_30d is ") and "higher in the launched arm" in a.sentence()
    )
    assert a.to_dict()["labels"] == list(a.labels)


def _rollout_mediation(scenario: str, out_dir):
    """Mediation on a rollout's users over the 30 days from its last launch date.

    Every treated region is on v2 through the window; the never-treated regions are the
    comparison, resampled by region.
    """
    sim = ck.simulate(scenario, n_users=50_000, seed=0, out_dir=out_dir)
    start = sim.launch.start
    frame = ck.user_outcomes(
        open_events(sim.events),
        launch=sim.launch,
        users=sim.users,
        date=max(start.values()),
        outcomes=("revenue", "retained", "tasks", "task_success_rate"),
    )
    frame = frame.assign(exposed=frame["region"].isin(set(start)).astype(np.int64),
                         task_successes_30d=frame["tasks_30d"]
                         * frame["task_success_rate_30d"].fillna(0.0))  # fmt: skip
    found = mediation(
        frame,
        exposure="exposed",
        metrics=list(USER_LEVELS),
        levels=USER_LEVELS,
        covariates=list(CUPED_COVARIATES),
        cluster="region",
        n_boot=99,
        seed=0,
    )
    link = found.table.set_index(["mediator", "outcome"]).loc[
        ("task_successes_30d", "retained_d30")
    ]
    return sim.truth["mechanisms"], found, link


def test_broken_cascade_link_carries_nothing_and_the_report_says_so(tmp_path):
    truth, found, link = _rollout_mediation("broken_cascade", tmp_path / "broken")
    true = truth["mediation"]["task_success_rate -> active_users"]
    assert true["indirect"] == true["total"] == 0.0
    assert link["total_low"] <= true["total"] <= link["total_high"]
    assert link["status"] == "broken" and "share that flowed is near zero" in link["message"]
    html = through_what_view(found).html
    assert "Broken link(s)" in html and "task_successes_30d → retained_d30" in html
    # the same regions and dates with the cascade intact: the link carries the effect
    truth, _, link = _rollout_mediation("staggered", tmp_path / "staggered")
    assert truth["mediation"]["task_success_rate -> active_users"]["share"] == 1.0
    assert link["status"] == "carries" and link["indirect_low"] > 0
