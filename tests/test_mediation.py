"""Cascade graph and mediation: the graph from the registry, shares against the simulator's truth
and against DoWhy's two-stage regression, broken links, bad input."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest

import causal_kit as ck
from causal_kit.evidence.mediation import mediation
from causal_kit.simulate.truth_mechanisms import simulate_users

LEVELS = {"task_success": "task", "sessions": "engagement", "revenue": "business"}
METRICS = ["task_success", "sessions", "revenue"]
COVS = ["segment", "region_tier", "pre_sessions", "tenure_days"]


@pytest.fixture(scope="module")
def intact():
    return simulate_users(6000, seed=3)


@pytest.fixture(scope="module")
def broken():
    return simulate_users(6000, seed=3, broken_cascade=True)


def test_graph_from_registry_levels():
    g = ck.cascade_graph("v2", ["revenue", "task_success_rate", "latency_ms", "sessions"],
                         covariates=["segment"])
    assert g.metrics == ["latency_ms", "task_success_rate", "sessions", "revenue"]
    assert g.levels == {"latency_ms": 1, "task_success_rate": 2, "sessions": 3, "revenue": 4}
    nxg = g.to_networkx()
    assert nx.is_directed_acyclic_graph(nxg)
    assert ("task_success_rate", "sessions") in g.edges and ("sessions", "task_success_rate") \
        not in g.edges
    assert ("segment", "exposure") in g.edges and ("segment", "revenue") in g.edges
    assert g.parents("sessions") == ["segment", "exposure", "latency_ms", "task_success_rate"]
    assert ["exposure", "task_success_rate", "sessions", "revenue"] in g.paths("exposure",
                                                                              "revenue")
    assert g.to_dict()["levels"]["revenue"] == 4
    assert "Cascade graph" in str(g.summary())


def test_graph_errors_name_the_fix():
    with pytest.raises(ck.SpecificationError, match=r"no cascade level.*levels="):
        ck.cascade_graph("v2", ["revenue", "my_metric"])
    with pytest.raises(ck.SpecificationError, match="two or more levels"):
        ck.cascade_graph("v2", ["revenue", "purchases"])
    cyc = [("exposure", "task_success_rate"), ("task_success_rate", "revenue"),
           ("revenue", "task_success_rate")]
    with pytest.raises(ck.SpecificationError, match=r"cycle \(.*revenue.*\).*acyclic"):
        ck.cascade_graph("v2", ["task_success_rate", "revenue"], graph=nx.DiGraph(cyc))
    with pytest.raises(ck.SpecificationError, match="neither the exposure"):
        ck.cascade_graph("v2", ["task_success_rate", "revenue"], graph=[("x", "revenue")])


def test_mediated_shares_cover_the_truth(intact):
    m = mediation(intact.users, exposure="exposed", metrics=METRICS, levels=LEVELS,
                  covariates=COVS, seed=1)
    truth = intact.truth["mediation"]
    for row in m.table.itertuples():
        t = truth[f"{row.mediator} -> {row.outcome}"]
        assert row.share_low <= t["share"] <= row.share_high, row
        assert row.indirect_low <= t["indirect"] <= row.indirect_high, row
        assert row.status == "carries"
    # the engagement link carries a real but partial share of the money
    assert 0.2 < m.share("sessions", "revenue") < 0.95
    d = m.to_dict()
    assert d["links"][0]["mediator"] == "task_success" and d["n_users"] == 6000
    from causal_kit.presentation.views_evidence import evidence_summary, through_what_view

    assert evidence_summary(mediation=m)["mediation"]["links"][2]["status"] == "carries"
    html = through_what_view(m, graph=m.graph)._repr_html_()
    assert "Through what" in html and "<img" in html


def test_broken_cascade_shows_no_share_through_engagement(intact, broken):
    kw = dict(exposure="exposed", metrics=METRICS, levels=LEVELS, covariates=COVS, seed=1)
    m = mediation(broken.users, **kw)
    ok = mediation(intact.users, **kw)
    row = m._row("sessions", "revenue")
    # near zero: well under what flows through engagement when the cascade holds
    assert abs(row["indirect"]) < 0.3 * ok._row("sessions", "revenue")["indirect"]
    link = m._row("task_success", "sessions")
    assert link["indirect_low"] <= 0.0 <= link["indirect_high"]
    assert link["status"] != "carries"
    assert any("sessions" in msg for msg in m.table["message"])


def test_matches_dowhy_two_stage_regression(intact):
    from dowhy import CausalModel
    from dowhy.causal_estimators.linear_regression_estimator import LinearRegressionEstimator
    from dowhy.causal_identifier import EstimandType

    covs = ["power", "pre_sessions"]
    g = ck.cascade_graph("v2", ["task_success", "sessions"], levels=LEVELS, covariates=covs,
                         exposure="exposed")
    ours = mediation(intact.users, exposure="exposed", metrics=["task_success", "sessions"],
                     levels=LEVELS, covariates=covs, n_boot=50)
    data = intact.users[["exposed", "task_success", "sessions", *covs]].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CausalModel(data=data, treatment="exposed", outcome="sessions",
                            graph=g.to_networkx())
        estimand = model.identify_effect(estimand_type=EstimandType.NONPARAMETRIC_NIE)
        est = model.estimate_effect(
            estimand, method_name="mediation.two_stage_regression",
            confidence_intervals=False, test_significance=False,
            method_params={"first_stage_model": LinearRegressionEstimator,
                           "second_stage_model": LinearRegressionEstimator},
        )
    assert ours.table.loc[0, "indirect"] == pytest.approx(est.value, rel=1e-8)


def test_cluster_bootstrap_is_wider_and_deterministic(intact):
    kw = dict(exposure="exposed", metrics=METRICS, levels=LEVELS, covariates=COVS, seed=5)
    a = mediation(intact.users, cluster="region", **kw)
    b = mediation(intact.users, cluster="region", **kw)
    assert a.table.equals(b.table)
    assert np.isfinite(a.table["share_low"]).all()


def test_mediation_bad_input(intact):
    users = intact.users.copy()
    users.loc[3, "sessions"] = np.nan
    with pytest.raises(ck.DataError, match=r"'sessions' has 1 missing.*impute"):
        mediation(users, exposure="exposed", metrics=METRICS, levels=LEVELS)
    users = intact.users.assign(const=1.0)
    with pytest.raises(ck.DataError, match="constant or duplicates"):
        mediation(users, exposure="exposed", metrics=METRICS, levels=LEVELS,
                  covariates=["const"])
    with pytest.raises(ck.DataError, match="both values"):
        mediation(intact.users.assign(exposed=1), exposure="exposed", metrics=METRICS,
                  levels=LEVELS)
    before = intact.users.copy()
    mediation(intact.users, exposure="exposed", metrics=METRICS, levels=LEVELS, n_boot=50)
    assert intact.users.equals(before)
