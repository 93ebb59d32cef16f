"""The evidence a launch report adds: each piece runs where the data allow, else says why."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.analysis import evidence as ev
from causal_kit.analysis.summary import build_summary, validate_summary
from causal_kit.core.errors import CausalKitWarning, DataError, ReportError
from causal_kit.evidence.adoption import IV_FIELDS
from causal_kit.evidence.refute import Refutations
from causal_kit.presentation import views_evidence


def users(n=400, seed=0, **extra):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"user_id": np.arange(n), "arm": rng.choice(["v1", "v2"], n),
                          "revenue_30d": rng.gamma(2.0, 5.0, n)})  # fmt: skip
    return frame.assign(**extra)


def note(found, start):
    hits = [n for n in found.notes if n.startswith(start)]
    assert len(hits) == 1, found.notes
    return hits[0]


def test_user_evidence_skips_what_the_frame_cannot_support_and_says_why():
    frame = users()
    frame.loc[3, "revenue_30d"] = np.nan  # an outcome missing for one user: no refuter runs
    before = frame.copy()
    found = ev.user_evidence(frame, outcome="revenue_30d", treated=frame["arm"] == "v2",
                             segment="segment")  # fmt: skip
    pd.testing.assert_frame_equal(frame, before)  # the caller's data is untouched
    assert (found.refutations, found.mediation, found.heterogeneity, found.per_adopter,
            found.attribution) == (None,) * 5  # fmt: skip
    assert "'revenue_30d' is missing for some users" in note(found, "refutations skipped")
    assert "lack ['tasks_30d', 'task_success_rate_30d', 'retained_d30']" in note(
        found, "mediation skipped")
    assert "no segment or pre-period activity" in note(found, "heterogeneity skipped")
    assert "no usage signal (tasks)" in note(found, "per-adopter effect skipped")
    assert "lack ['tasks_30d', 'task_success_rate_30d', 'retained_d30']" in note(
        found, "attribution skipped")


def test_score_gate_leaves_out_what_needs_a_randomized_exposure():
    frame = users(revenue_30d=np.nan, score=np.linspace(0, 1, 400))
    found = ev.user_evidence(frame, outcome="revenue_30d", treated=frame["score"] >= 0.5,
                             design="score_gate", running="score", cutoff=0.5)  # fmt: skip
    assert "not randomized" in note(found, "mediation skipped")
    assert "no instrument for adoption" in note(found, "per-adopter effect skipped")
    assert "no change the launch made" in note(found, "attribution skipped")


def test_a_piece_that_fails_on_the_data_is_kept_as_its_first_line():
    notes: list[str] = []

    def broken():
        raise DataError("feature 'segment' is constant; drop it.\nsecond line")

    assert ev._attempt("heterogeneity", notes, broken) is None
    assert notes == ["heterogeneity skipped: feature 'segment' is constant; drop it."]
    def weak():
        warnings.warn("the first stage is weak (F = 3)", CausalKitWarning, stacklevel=1)
        warnings.warn("a library's own chatter", FutureWarning, stacklevel=1)
        return "fit"

    assert ev._attempt("per-adopter effect", notes, weak) == "fit"
    assert notes[-1] == "per-adopter effect: the first stage is weak (F = 3)" and len(notes) == 2
    with pytest.raises(KeyError):  # a bug is not a data problem: it is not swallowed
        ev._attempt("x", notes, lambda: {}["missing"])


def test_panel_evidence_on_a_short_panel_gives_the_refuters_reason():
    rng = np.random.default_rng(1)
    cells = [(u, t) for u in range(6) for t in range(5)]
    panel = pd.DataFrame(cells, columns=["region", "week"])
    panel["treated"] = ((panel["region"] < 2) & (panel["week"] >= 3)).astype(int)
    panel["revenue"] = rng.normal(10, 1, len(panel)) + 2 * panel["treated"]
    found = ev.panel_evidence(panel, outcome="revenue", unit="region", time="week",
                              design="did")  # fmt: skip
    assert found.refutations is None
    assert "at least 4 pre-launch periods" in note(found, "refutations skipped")
    assert "no per-user arm" in note(found, "per-adopter effect skipped")


def test_views_show_the_reason_under_the_block_title():
    a = SimpleNamespace(mediation=None, attribution=None, heterogeneity=None, per_adopter=None,
                        refutations=None, notes=("heterogeneity skipped: too few <users>.",))
    html = views_evidence.launch_who_gains(a).html
    assert "<h3>Who gains</h3>" in html and "too few &lt;users&gt;." in html
    assert "not computed for this launch" in views_evidence.launch_through_what(a).html
    assert "<h3>Per adopter</h3>" in views_evidence.launch_per_adopter(a).html


def _est():
    return ck.Estimate(method="did:cs", outcome="revenue", estimate=2.0, se=0.5, ci=(1.0, 3.0),
                       level=0.95, p_value=0.001, n_units=20, n_treated=8)  # fmt: skip


def test_summary_carries_refutations_and_nulls_for_the_rest():
    refs = Refutations(2.0, 0.5, (
        ck.Check("placebo_dates", True, statistic=0.1, message="a fake launch shows 0.1"),
        ck.Check("leave_one_out", False, statistic=3.5, message="one unit drives it")))
    s = build_summary(launch="recsys-v2", estimate=_est(), refutations=refs)
    assert [(r["name"], r["passed"], r["refuted_effect"]) for r in s["refutations"]] == [
        ("placebo_dates", True, 0.1), ("leave_one_out", False, 3.5)]
    assert s["mediation"] is s["heterogeneity"] is s["attribution"] is None
    assert "per_adopter" not in s
    assert s["adoption"] == {"share": None, **dict.fromkeys(IV_FIELDS)}
    bad = {**s, "refutations": [{**s["refutations"][0], "name": "placebo"}]}
    with pytest.raises(ReportError, match="refutations/0/name"):
        validate_summary(bad)


def test_summary_adoption_holds_the_share_beside_the_per_adopter_effect():
    from causal_kit.simulate.truth_mechanisms import simulate_users

    sim = simulate_users(1500, seed=1)
    a = ck.adoption_effect(sim.users, outcome="revenue", exposure="exposed", adopted="adopted")
    s = build_summary(launch="recsys-v2", estimate=_est(), adoption=0.35, per_adopter=a)
    assert s["adoption"]["share"] == 0.35 and "per_adopter" not in s
    assert s["adoption"]["per_adopter"] == a.to_dict()["per_adopter"]
    assert s["adoption"]["first_stage"]["f_statistic"] == pytest.approx(a.first_stage_f)
    with pytest.raises(ReportError, match="adoption"):
        validate_summary({**s, "adoption": 0.35})  # the old bare number no longer validates


def test_both_schemas_describe_the_same_adoption_object():
    from causal_kit.analysis.summary import load_schema

    main = load_schema()["properties"]["adoption"]
    evidence = views_evidence._schema()["properties"]["adoption"]
    assert main["required"] == evidence["required"] and main["required"][0] == "share"
    assert "per_adopter" not in load_schema()["properties"]


def test_rollout_mediation_says_why_it_cannot_run() -> None:
    frame = pd.DataFrame({"region": ["a", "b", "c"], "tasks_30d": [1, 2, 3],
                          "task_success_rate_30d": [0.5, 0.5, 0.5], "retained_d30": [1, 0, 1],
                          "revenue_30d": [1.0, 2.0, 3.0]})
    found, notes = ev.rollout_mediation(frame, exposed=pd.Series([1, 1, 1]), unit="region")
    assert found is None and "every unit was launched to" in notes[0]
    found, notes = ev.rollout_mediation(frame.drop(columns="retained_d30"),
                                        exposed=pd.Series([1, 0, 1]), unit="region")
    assert found is None and "lack ['retained_d30']" in notes[0]
