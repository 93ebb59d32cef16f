"""ck.scorecard: the grade drops with failing checks and lists the reasons."""

from __future__ import annotations

import json

import pytest

import causal_kit as ck


def est(method, *checks):
    return ck.Estimate(method=method, outcome="revenue", estimate=1.0, se=0.2, ci=(0.6, 1.4),
                       level=0.95, p_value=0.001, n_units=20, n_treated=10, checks=tuple(checks))


PASS_PRE = ck.Check("pre_trends", True, 1.2, 0.55, "no evidence against parallel trends")
FAIL_PRE = ck.Check("pre_trends", False, 14.0, 0.003, "treated units diverged before launch")
PASS_FIT = ck.Check("pre_fit", True, 0.1, None, "pre-period fit is close")
FAIL_LOO = ck.Check("leave_one_out", False, None, None, "one donor drives the estimate")
FAIL_WEIGHT = ck.Check("weight_concentration", False, 0.9, None, "one donor has 90% weight")


def test_all_checks_pass_gives_high():
    s = ck.scorecard([est("did:cs", PASS_PRE), est("sc", PASS_FIT)])
    assert (s.grade, s.points, s.reasons) == ("high", 0, ())
    assert len(s.checks) == 2 and s.n_failed == 0


def test_grade_drops_with_failing_checks_and_lists_reasons():
    one_minor = ck.scorecard({"did": est("did:cs", PASS_PRE),
                              "sc": est("sc", PASS_FIT, FAIL_LOO)})
    assert one_minor.grade == "medium" and one_minor.points == 1
    assert one_minor.reasons == (
        "sc: robustness check 'leave_one_out' failed — one donor drives the estimate",
    )

    key = ck.scorecard({"did": est("did:cs", FAIL_PRE)})
    assert key.grade == "low" and key.points == 3  # one failed assumption is enough
    assert "identifying assumption 'pre_trends'" in key.reasons[0]

    low = ck.scorecard({"did": est("did:cs", FAIL_PRE), "sc": est("sc", FAIL_LOO, FAIL_WEIGHT)})
    assert low.grade == "low" and low.points == 5
    assert low.n_failed == 3
    # the identifying-assumption failure is listed first
    assert low.reasons[0].startswith("did: identifying assumption")
    assert len(low.reasons) == 3


def test_estimate_without_checks_costs_a_point():
    s = ck.scorecard(est("rdd"))
    assert s.grade == "medium"
    assert "no diagnostics ran" in s.reasons[0]


def test_scorecard_serialises_and_renders():
    s = ck.scorecard({"did": est("did:cs", FAIL_PRE)})
    d = s.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["grade"] == "low" and d["n_failed"] == 1 and d["checks"][0]["weight"] == 3
    assert d["checks"][0]["kind"] == "identifying"
    assert "Confidence: LOW" in str(s)
    assert "<table" in s._repr_html_()


def test_scorecard_errors():
    with pytest.raises(ck.SpecificationError, match="not an Estimate"):
        ck.scorecard({"did": 1.0})
    with pytest.raises(ck.SpecificationError, match="scorecard needs an Estimate"):
        ck.scorecard(3.0)
    with pytest.raises(ck.SpecificationError, match="at least one estimate"):
        ck.scorecard([])


def test_weights_follow_the_kind_of_check():
    weak = ck.Check("sensitivity", False, 0.4, None, "survives violations up to Mbar = 0.4",
                    kind="robustness")
    s = ck.scorecard({"did": est("did:cs", PASS_PRE, weak)})
    assert (s.grade, s.points) == ("medium", 1)
    assert s.checks.loc[s.checks["check"] == "sensitivity", "kind"].item() == "robustness"
    # a robustness label outweighs a name that looks like an assumption test
    labelled = ck.Check("pre_trends_placebo", False, kind="robustness")
    assert ck.scorecard(est("did:cs", labelled)).points == 1
    # a failed identifying check weighs more than two weak robustness values together
    two_weak = ck.scorecard(est("did:cs", weak, weak)).points
    assert ck.scorecard(est("did:cs", FAIL_PRE)).points > two_weak
