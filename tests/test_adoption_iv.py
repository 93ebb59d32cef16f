"""Per-adopter effect: the launch as an instrument for adoption, against the simulator's truth;
a weak first stage warns, no first stage is an error."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import causal_kit as ck
from causal_kit.simulate.truth_mechanisms import simulate_users

COVS = ["segment", "pre_sessions", "region_tier"]


def test_itt_and_per_adopter_cover_the_truth():
    sim = simulate_users(4000, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ck.CausalKitWarning)
        a = ck.adoption_effect(sim.users, outcome="revenue", exposure="exposed",
                               adopted="adopted", covariates=COVS)
    t = sim.truth
    assert a.itt_ci[0] <= t["itt"] <= a.itt_ci[1]
    assert a.per_adopter_ci[0] <= t["effect_per_adopter"] <= a.per_adopter_ci[1]
    assert a.adoption_rate == pytest.approx(t["adoption_rate"], abs=0.03)
    # the per-adopter effect is the ITT scaled by adoption (OrthoIV agrees with the Wald ratio)
    assert a.per_adopter == pytest.approx(a.wald, rel=0.1)
    assert a.per_adopter > 2 * a.itt
    assert a.checks[0].name == "first_stage_strength" and a.checks[0].passed
    d = a.to_dict()
    assert d["per_adopter"]["method"] == "econml:OrthoIV" and d["itt"]["ci"][0] < d["itt"]["ci"][1]
    assert "Per adopter" in str(a.summary())


def test_rollout_with_clusters():
    sim = simulate_users(4000, shape="rollout", seed=2)
    a = ck.adoption_effect(sim.users, outcome="revenue", exposure="exposed", adopted="adopted",
                           covariates=["region_tier", "segment"], cluster="region")
    launched = sim.users[sim.users.exposed == 1]
    truth = launched.loc[launched.true_adopter == 1, "true_effect"].mean()
    assert a.per_adopter_ci[0] <= truth <= a.per_adopter_ci[1]


def test_weak_first_stage_warns_and_fails_the_check():
    sim = simulate_users(1000, seed=5, adoption=0.02)
    with pytest.warns(ck.CausalKitWarning, match=r"weak first stage.*intent-to-treat"):
        a = ck.adoption_effect(sim.users, outcome="revenue", exposure="exposed",
                               adopted="adopted")
    assert not a.checks[0].passed and a.first_stage_f < 10


def test_no_first_stage_and_bad_columns_are_errors():
    sim = simulate_users(1000, seed=5)
    u = sim.users.assign(adopted=0)
    with pytest.raises(ck.DataError, match=r"does not raise adoption.*intent-to-treat"):
        ck.adoption_effect(u, outcome="revenue", exposure="exposed", adopted="adopted")
    with pytest.raises(ck.DataError, match="'adopted' must be 0/1"):
        ck.adoption_effect(sim.users.assign(adopted=2), outcome="revenue", exposure="exposed",
                           adopted="adopted")
    u = sim.users.copy()
    u.loc[0, "revenue"] = np.nan
    with pytest.raises(ck.DataError, match="missing values"):
        ck.adoption_effect(u, outcome="revenue", exposure="exposed", adopted="adopted")


def test_summary_keys_validate_and_render():
    from causal_kit.presentation.views_evidence import (
        evidence_summary,
        per_adopter_view,
        validate_evidence,
    )

    sim = simulate_users(1500, seed=1)
    a = ck.adoption_effect(sim.users, outcome="revenue", exposure="exposed", adopted="adopted")
    out = evidence_summary(adoption=a, adoption_share=0.4)
    assert out["adoption"]["per_adopter"]["estimate"] == pytest.approx(a.per_adopter)
    assert out["adoption"]["share"] == 0.4
    assert out["adoption"]["adoption_rate"] == pytest.approx(a.adoption_rate)
    only_share = evidence_summary(adoption_share=0.25)["adoption"]
    assert only_share["share"] == 0.25 and only_share["per_adopter"] is None
    assert evidence_summary()["adoption"] is None
    with pytest.raises(ck.ReportError, match="adoption/share"):
        validate_evidence({**out, "adoption": {**out["adoption"], "share": 1.5}})
    assert out["mediation"] is None and set(out) == {"mediation", "attribution",
                                                     "heterogeneity", "adoption", "refutations"}
    bad = {**out, "refutations": [{"name": "vibes", "passed": True, "refuted_effect": 0.0}]}
    with pytest.raises(ck.ReportError, match="refutations/0"):
        validate_evidence(bad)
    html = per_adopter_view(a)._repr_html_()
    assert "Per adopter" in html and "complier average" in html
