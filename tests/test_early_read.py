"""Early reads: the simulator's long horizon, the projection in the analysis, report and summary."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck
from causal_kit.analysis.early import HORIZON_DAYS, Projection, early_projection
from causal_kit.analysis.summary import validate_summary
from causal_kit.presentation import views_early
from causal_kit.presentation.publish import slug
from causal_kit.source import open_events

SIM = {"n_users": 8000, "n_days": 252}


@pytest.fixture(scope="module")
def early(tmp_path_factory: pytest.TempPathFactory) -> ck.Simulation:
    return ck.simulate("early_read", seed=3, out_dir=tmp_path_factory.mktemp("e") / "s", **SIM)


@pytest.fixture(scope="module")
def gap(tmp_path_factory: pytest.TempPathFactory) -> ck.Simulation:
    return ck.simulate("surrogate_gap", seed=3, out_dir=tmp_path_factory.mktemp("g") / "s",
                       n_users=20_000, n_days=252)


@pytest.fixture(scope="module")
def early_analysis(early: ck.Simulation) -> ck.LaunchAnalysis:
    return ck.analyze_launch(early.events, launch=early.launch, users=early.load_users())


@pytest.fixture(scope="module")
def gap_analysis(gap: ck.Simulation) -> ck.LaunchAnalysis:
    return ck.analyze_launch(gap.events, launch=gap.launch, users=gap.load_users())


def _dates(folder: Path) -> tuple[dt.date, dt.date]:
    frame = pd.read_parquet(folder, columns=["date"])
    return frame["date"].min(), frame["date"].max()


def test_early_read_keeps_the_future_apart_and_records_the_long_term_truth(
        early: ck.Simulation) -> None:
    launch_day = early.launch.date
    assert launch_day is not None and launch_day.weekday() == 0
    _, last_seen = _dates(early.events)
    first_later, last_later = _dates(early.out_dir / "later" / "events")
    assert last_seen == launch_day + dt.timedelta(days=20)  # 21 days observed
    assert first_later == launch_day + dt.timedelta(days=21)
    assert (last_later - launch_day).days + 1 >= 120  # the long horizon
    assert early.truth["observed_days"] == (launch_day - dt.date(2026, 1, 5)).days + 21
    long = early.truth["long_term"]
    assert long["revenue_90d"]["horizon_days"] == 90 and long["revenue_14d"]["horizon_days"] == 14
    # v2 keeps users during their first two weeks: a small 14-day gain that grows over 90 days
    assert 0 < long["revenue_14d"]["effect"] < long["revenue_90d"]["effect"]
    assert early.truth["surrogacy"]["holds"] is True
    # the 20% holdout: the truth is over the v2 arm's users
    assert long["revenue_90d"]["n_users"] == early.truth["holdout"]["n_by_arm"]["v2"]


def test_the_surrogacy_gap_scenario_adds_a_channel_the_first_weeks_cannot_see(
        early: ck.Simulation, tmp_path: Path) -> None:
    twin = ck.simulate("surrogate_gap", seed=3, out_dir=tmp_path / "g", **SIM)
    a, b = early.truth["long_term"], twin.truth["long_term"]
    # the same users and draws: identical first 14 days, a larger 90-day effect
    assert b["revenue_14d"]["effect"] == pytest.approx(a["revenue_14d"]["effect"], abs=1e-9)
    # the late channel (LATE_LIFT on the purchase log-odds from LATE_DAY) added about $11 per
    # v2 user over 90 days on 20k users (seed 0); $3 is a floor well clear of seed noise
    assert b["revenue_90d"]["effect"] > a["revenue_90d"]["effect"] + 3.0
    assert twin.truth["surrogacy"]["holds"] is False
    assert not (twin.out_dir / "later").exists()  # every day observed: the users have matured


def test_early_scenarios_refuse_a_window_too_short_for_their_horizon(tmp_path: Path) -> None:
    with pytest.raises(ck.SpecificationError, match=r"needs n_days >= 252 .*got 200"):
        ck.simulate("early_read", n_users=500, n_days=200, out_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_holdout_read_early_is_measured_over_14_days_and_projected_to_90(
        early_analysis: ck.LaunchAnalysis) -> None:
    a = early_analysis
    assert a.outcome == "revenue_14d" and a.grain == "user over 14 days"
    assert a.period_days == 14.0
    p = a.projection
    assert p is not None and p.metric == "revenue_90d" and p.horizon_days == HORIZON_DAYS
    assert p.observed_days == 21 and p.realised is None
    assert {c.name for c in p.checks} == {"index_fit", "surrogate_stability", "reference_drift"}
    assert not p.surrogacy_tested
    # the short-term effect beside it is the headline's 14-day revenue effect
    assert p.short_term.outcome == "revenue_14d"
    assert p.short_term.estimate == pytest.approx(a.primary.estimate, rel=1e-9)
    # the plan registered early_read: a passing projection carries the decision and the money
    assert p.allowed and p.used == p.passed
    assert p.impact is not None  # the projection's money is shown either way
    assert (a.impact is p.impact) == p.used  # the decision rests on it exactly when it is used


def test_summary_carries_the_projection_contract(early_analysis: ck.LaunchAnalysis) -> None:
    summary = early_analysis.to_summary(generated_at="2026-05-25T00:00:00Z")
    validate_summary(summary)
    proj = summary["projection"]
    for key in ("metric", "horizon_days", "observed_days", "estimate", "ci_low", "ci_high"):
        assert key in proj
    assert proj["metric"] == "revenue_90d" and proj["horizon_days"] == 90
    assert proj["ci_low"] < proj["estimate"] < proj["ci_high"]
    assert all(set(c) >= {"name", "passed"} for c in proj["checks"])
    assert proj["short_term"]["metric"] == "revenue_14d" and proj["realised"] is None
    broken = json.loads(json.dumps(summary))
    broken["projection"]["horizon_days"] = "ninety"
    with pytest.raises(ck.ReportError, match=r"projection/horizon_days.*ninety"):
        validate_summary(broken)


def test_without_early_read_in_the_registered_plan_the_decision_waits(
        early: ck.Simulation) -> None:
    plan = early.launch.plan
    assert plan is not None and plan.early_read
    unregistered = replace(early.launch, plan=replace(plan, early_read=False), registration=None)
    a = ck.analyze_launch(early.events, launch=unregistered, users=early.load_users())
    assert a.projection is not None and not a.projection.allowed and not a.projection.used
    words = " ".join(views_early.projection_words(a))
    assert "does not allow a decision on an early read" in words
    # an early_read switched on after registration does not count
    late = replace(early.launch, plan=replace(plan, early_read=True))
    assert late.registration is not None
    flipped = dict(late.registration)
    content = json.loads(json.dumps(flipped["content"]))
    content["plan"]["early_read"] = False
    edited = replace(late, registration={**flipped, "content": content})
    b = ck.analyze_launch(early.events, launch=edited, users=early.load_users())
    assert b.projection is not None and not b.projection.used


def test_the_early_read_view_speaks_money_and_labels_the_projection(
        early_analysis: ck.LaunchAnalysis) -> None:
    block = views_early.early_read(early_analysis)
    assert 'id="early-read"' in block.html
    assert "This is a projection, not a measurement" in block.text
    assert "$" in block.text and "a year" in block.text
    assert "p-value" not in block.text and "surrogate index" not in block.text
    assert "not yet observable" in block.html  # the 90-day effect, beside the 14-day one
    assert "measured effect on 14-day revenue per user" in block.html


def test_when_surrogacy_fails_the_check_fails_and_the_report_says_not_to_act(
        gap_analysis: ck.LaunchAnalysis) -> None:
    p = gap_analysis.projection
    assert p is not None and p.realised is not None  # 90 days have passed for every user
    surrogacy = {c.name: c for c in p.checks}["surrogacy"]
    assert surrogacy.passed is False
    assert not p.used
    assert p.realised.ci[0] > p.estimate.estimate  # the projection misses the late channel
    words = " ".join(views_early.projection_words(gap_analysis))
    assert "do not act on it" in words


def test_earlier_projections_are_set_against_what_was_realised(
        gap_analysis: ck.LaunchAnalysis, tmp_path: Path) -> None:
    root = tmp_path / "reports"
    folder = root / slug(gap_analysis.launch.name) / "2026-05-25"
    folder.mkdir(parents=True)
    earlier = {"launch": {"name": gap_analysis.launch.name}, "decision": "keep measuring",
               "outcome": "revenue_14d", "estimate": 0.3, "ci_low": -1.0, "ci_high": 1.6,
               "projection": {"metric": "revenue_90d", "horizon_days": 90, "observed_days": 21,
                              "estimate": 1.3, "ci_low": -2.0, "ci_high": 4.7, "checks": []}}
    (folder / "summary.json").write_text(json.dumps(earlier))
    out = root / slug(gap_analysis.launch.name) / "2026-09-01"
    table = views_early.earlier_projections(gap_analysis, output_dir=out, run_date="2026-09-01")
    assert list(table["run"]) == ["2026-05-25"]
    assert table["days observed"].iloc[0] == 21
    assert table["inside interval"].iloc[0] == "no"  # realised ≈ +$12.8, far above +$4.70
    block = views_early.early_read(gap_analysis, output_dir=out, run_date="2026-09-01")
    assert "Earlier early reads against what was realised" in block.html


def test_early_projection_explains_why_it_was_not_made(early: ck.Simulation) -> None:
    source = open_events(early.events)
    launch = early.launch
    day = launch.date
    assert day is not None
    proj, note = early_projection(source, launch, early.load_users(), arm="arm",
                                  treatment="v2", last_day=day + dt.timedelta(days=9))
    assert proj is None and note is not None and "fewer than 14" in note
    moved = replace(launch, date=dt.date(2026, 2, 2))  # no quarter of history before it
    proj, note = early_projection(source, moved, early.load_users(), arm="arm",
                                  treatment="v2", last_day=dt.date(2026, 2, 20))
    assert proj is None and note is not None and "reference quarter needs events from" in note


@pytest.mark.slow
def test_projection_covers_the_true_90_day_effect_over_seeds(tmp_path: Path) -> None:
    """20 seeded early-read worlds: the 14-day projection covers the true 90-day effect.

    Measured when written: 18 of 20 (90%), z-scores with mean -0.16 and SD 1.05; the nominal
    rate is 95%. Five surrogacy-gap worlds: the surrogacy check fails in every one.
    """
    covered, z = [], []
    for seed in range(20):
        sim = ck.simulate("early_read", n_users=20_000, n_days=252, seed=seed,
                          out_dir=tmp_path / f"e{seed}")
        proj = _project(sim, days=21)
        truth = sim.truth["long_term"]["revenue_90d"]["effect"]
        lo, hi = proj.estimate.ci
        covered.append(lo <= truth <= hi)
        z.append((proj.estimate.estimate - truth) / proj.estimate.se)
    assert 0.90 <= np.mean(covered) <= 0.98, (np.mean(covered), np.round(z, 2))
    assert abs(np.mean(z)) < 0.5
    for seed in range(5):
        sim = ck.simulate("surrogate_gap", n_users=20_000, n_days=252, seed=100 + seed,
                          out_dir=tmp_path / f"g{seed}")
        proj = _project(sim, days=126)
        assert {c.name: c.passed for c in proj.checks}["surrogacy"] is False


def _project(sim: ck.Simulation, *, days: int) -> Projection:
    """Project from the first 14 days, with ``days`` of events after the launch."""
    day = sim.launch.date
    assert day is not None
    source = open_events(sim.events)
    last = day + dt.timedelta(days=days - 1)
    proj, note = early_projection(source, sim.launch, sim.load_users(), arm="arm",
                                  treatment="v2", last_day=last)
    assert proj is not None, note
    return proj


def test_every_rollout_records_its_long_term_truth_and_whether_surrogacy_holds(
        tmp_path: Path) -> None:
    sims = ck.make_demo(tmp_path, scenarios=("staggered", "no_effect", "score_gate"),
                        n_users=3000, n_days=180, seed=2)
    stag = sims["staggered"].truth
    long = stag["long_term"]
    # only regions launched 90 days before the window's end count; v2 keeps paying after 14 days
    assert long["revenue_90d"]["n_users"] > 0
    assert long["revenue_90d"]["effect"] > long["revenue_14d"]["effect"] > 0
    assert stag["surrogacy"]["holds"] is False
    none = sims["no_effect"].truth
    assert none["long_term"]["revenue_90d"]["effect"] == 0.0  # same users, same draws
    assert none["surrogacy"]["holds"] is True
    assert sims["score_gate"].truth["long_term"] == {}  # no launched user has 90 days


def test_the_executive_sentence_says_when_the_money_is_the_projection(
        early_analysis: ck.LaunchAnalysis) -> None:
    from causal_kit.presentation import views

    a = early_analysis
    used = replace(a, projection=replace(a.projection, used=True))
    words = views.effect_words(used)
    assert "over its first 14 days; the early read projects" in words
    assert "per user over 90 days" in words
    assert "Value per year (projected)" in views.executive_summary(used).html
    unused = replace(a, projection=replace(a.projection, used=False))
    assert "early read projects" not in views.effect_words(unused)
    assert "Value per year (projected)" not in views.executive_summary(unused).html
