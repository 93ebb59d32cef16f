"""Launch shapes: derived from the launch's fields, validated, round-tripped through launch.json,
and the design, triangulation and confidence each shape gets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import causal_kit as ck

ARMS = {"column": "arm", "treatment": "v2", "control": "v1", "split": {"v2": 0.9, "v1": 0.1}}
CONTROLS = {"column": "platform", "launched": "app", "untouched": ["web"]}


@pytest.mark.parametrize(("fields", "shape"), [
    ({"arms": ARMS, "date": "2026-03-02"}, "holdout"),
    ({"arms": ARMS, "start": {"north": "2026-03-02", "south": "2026-03-09"}}, "holdout"),
    ({"date": "2026-03-02", "controls": CONTROLS}, "global"),
    ({"date": "2026-03-02"}, "global"),
    ({"start": {"north": "2026-03-02"}}, "regional"),
    ({}, "regional"),
    ({"start": {"north": "2026-03-02"}, "gate": {"column": "score", "cutoff": 0.7}},
     "score_gate"),
])
def test_shape_is_derived_from_the_fields(fields, shape):
    launch = ck.Launch(name="v2", **fields)
    assert launch.shape == shape
    assert ck.Launch(name="v2", shape=shape, **fields) == launch  # explicit = derived


@pytest.mark.parametrize("fields", [
    {"arms": ARMS, "date": "2026-03-02"},
    {"date": "2026-03-02", "controls": {"column": "platform", "launched": "app",
                                         "untouched": "web"}},
    {"start": {"north": "2026-03-02"}, "gate": {"column": "score", "cutoff": 0.7}},
])
def test_new_fields_round_trip_through_launch_json(fields):
    launch = ck.Launch(name="v2", **fields)
    back = ck.Launch.from_dict(json.loads(json.dumps(launch.to_dict())))
    assert back == launch and back.shape == launch.shape
    assert back.first_start is not None


def test_old_launch_json_without_shape_still_loads(tmp_path):
    old = {"name": "assistant-v2", "unit": "region", "start": {"north": "2026-03-02"},
           "gate": None, "criteria": {"min_effect": 0.5}}
    (tmp_path / "launch.json").write_text(json.dumps(old))
    launch = ck.load_launch(tmp_path)
    assert launch.shape == "regional" and launch.arms is None and launch.date is None
    assert launch.first_start.isoformat() == "2026-03-02"
    again = ck.Launch.from_dict(json.loads(json.dumps(launch.to_dict())))
    assert again == launch and launch.to_dict()["shape"] == "regional"
    assert "arms" not in launch.to_dict()  # old fields only, plus the shape


def test_global_launch_first_start_is_its_date():
    launch = ck.Launch(name="ga", date="2026-03-02")
    assert launch.first_start.isoformat() == "2026-03-02" and launch.start == {}


@pytest.mark.parametrize(("fields", "message"), [
    ({"shape": "holdout", "date": "2026-03-02"}, r"shape 'holdout'.*needs arms="),
    ({"arms": {"column": "arm", "treatment": "v2"}, "date": "2026-03-02"},
     r"missing \['control'\]"),
    ({"arms": {"column": "arm", "treatment": "v2", "control": "v2"}, "date": "2026-03-02"},
     r"both 'v2'; name two different arm values"),
    ({"arms": {**ARMS, "split": {"v2": 0.9, "v1": 0.2}}, "date": "2026-03-02"},
     r"sums to 1\.1, not 1"),
    ({"arms": {**ARMS, "split": {"v2": 0.9, "old": 0.1}}, "date": "2026-03-02"},
     r"split names \['old', 'v2'\], but the arms are \['v1', 'v2'\]"),
    ({"arms": {**ARMS, "split": {"v2": 1.5, "v1": -0.5}}, "date": "2026-03-02"},
     r"share of arm 'v2' is 1\.5"),
    ({"arms": ARMS}, r"needs date='YYYY-MM-DD' \(the experiment's first day\)"),
    ({"shape": "global"}, r"needs date='YYYY-MM-DD': the one day"),
    ({"shape": "global", "date": "2026-03-02", "start": {"north": "2026-03-02"}},
     r"lists start dates by unit \(north\)"),
    ({"shape": "score_gate", "start": {"north": "2026-03-02"}}, r"needs gate="),
    ({"start": {"north": "2026-03-02"}, "controls": CONTROLS}, r"has controls=.*shape='global'"),
    ({"date": "2026-03-02", "controls": {"column": "platform", "launched": "app",
                                          "untouched": ["app"]}},
     r"'app' is both the launched series and an untouched control"),
    ({"date": "someday"}, r"date='someday' is not a date"),
    ({"shape": "everyone", "date": "2026-03-02"}, r"shape='everyone' is not a valid option"),
    ({"arms": ARMS, "date": "2026-03-02", "shape": "global"}, r"has arms=, which only"),
])
def test_bad_shapes_say_what_to_fix(fields, message):
    with pytest.raises(ck.SpecificationError, match=message):
        ck.Launch(name="v2", **fields)


# --- the simulator's holdout and global launch -----------------------------------------------

SMALL = {"n_users": 3000, "n_days": 91, "seed": 3}


@pytest.fixture(scope="module")
def holdout_sim(tmp_path_factory):
    return ck.simulate("holdout", out_dir=tmp_path_factory.mktemp("sim") / "holdout", **SMALL)


@pytest.fixture(scope="module")
def global_sim(tmp_path_factory):
    return ck.simulate("global_launch", out_dir=tmp_path_factory.mktemp("sim") / "global",
                       **SMALL)


def test_holdout_keeps_a_random_fifth_of_users_on_v1(holdout_sim):
    launch = holdout_sim.launch
    assert launch.shape == "holdout" and launch.arms["split"] == {"v2": 0.8, "v1": 0.2}
    users = holdout_sim.load_users()
    share_v1 = float((users["arm"] == "v1").mean())
    assert abs(share_v1 - 0.2) < 3 * (0.2 * 0.8 / len(users)) ** 0.5
    events = pd.read_parquet(holdout_sim.events, columns=["user_id", "date", "model_version"])
    events = events.merge(users[["user_id", "arm"]], on="user_id")
    after = pd.to_datetime(events["date"]) >= pd.Timestamp(launch.date)
    on_v2 = events["model_version"] == "v2"
    assert not on_v2[events["arm"] == "v1"].any()  # the holdout never sees v2
    assert on_v2[after & (events["arm"] == "v2")].all() and not on_v2[~after].any()
    truth = holdout_sim.truth["holdout"]
    assert truth["n_by_arm"]["v1"] + truth["n_by_arm"]["v2"] == truth["n_users"] > 0
    assert truth["att"]["revenue_30d"] > 0  # v2 raises purchases in this world
    assert holdout_sim.truth["att"] == {}  # no region-week is 'treated' in a holdout


def test_global_launch_reaches_every_app_user_and_no_web_user(global_sim):
    launch = global_sim.launch
    assert launch.shape == "global" and launch.controls["untouched"] == ["web"]
    events = pd.read_parquet(global_sim.events, columns=["date", "model_version", "platform"])
    after = pd.to_datetime(events["date"]) >= pd.Timestamp(launch.date)
    on_v2 = events["model_version"] == "v2"
    assert (on_v2 == (after & (events["platform"] == "app"))).all()
    truth = global_sim.truth["global"]
    assert set(truth["untouched_effect_per_day"].values()) == {0.0}  # same users, same draws
    assert truth["effect_per_day"]["task_success_rate"] > 0.05
    assert truth["n_post_days"] == 91 - (pd.Timestamp(launch.date).date()
                                        - pd.Timestamp(global_sim.truth["start_date"]).date()).days


def test_new_scenarios_leave_the_old_files_alone(tmp_path):
    sim = ck.simulate("staggered", out_dir=tmp_path / "s", **SMALL)
    assert "platform" not in pd.read_parquet(sim.events).columns
    assert "arm" not in sim.load_users().columns
    assert sim.truth["holdout"] is None and sim.truth["global"] is None


# --- the design each shape picks, what else applies, and how sure each is ---------------------

from causal_kit.analysis.launch import auto_design  # noqa: E402


@pytest.mark.parametrize(("fields", "design"), [
    ({"arms": ARMS, "date": "2026-03-02"}, "experiment"),
    ({"date": "2026-03-02", "controls": CONTROLS}, "its"),
    ({"start": {"north": "2026-03-02", "south": "2026-03-09"}}, "did"),
    ({"start": {"north": "2026-03-02"}}, "sc"),
    ({"start": {"north": "2026-03-02"}, "gate": {"column": "score", "cutoff": 0.7}}, "rdd"),
])
def test_auto_design_follows_the_shape(fields, design):
    assert auto_design(ck.Launch(name="v2", **fields)) == design


def test_a_design_that_does_not_fit_the_shape_is_refused():
    regional = ck.Launch(name="v2", start={"north": "2026-03-02"})
    with pytest.raises(ck.SpecificationError, match=r"'regional', not randomized"):
        ck.analyze_launch(pd.DataFrame({"user_id": [1]}), launch=regional, design="experiment")
    with pytest.raises(ck.SpecificationError, match=r"design='its' needs a launch to everyone"):
        ck.analyze_launch(pd.DataFrame({"user_id": [1]}), launch=regional, design="its")


def _users(n=400, seed=1):
    rng = np.random.default_rng(seed)
    arm = np.where(rng.random(n) < 0.8, "v2", "v1")
    return pd.DataFrame({"user_id": np.arange(n), "arm": arm,
                         "revenue_30d": rng.normal(10, 3, n) + (arm == "v2")})


def _series(n_days=70, launch_day=42, seed=2):
    rng = np.random.default_rng(seed)
    day = pd.date_range("2026-01-05", periods=n_days, freq="D")
    return pd.DataFrame({"day": day, "revenue": 100 + rng.normal(0, 2, n_days)
                         + 5 * (np.arange(n_days) >= launch_day)})


def _stub(method):
    return ck.Estimate(method=method, outcome="revenue", estimate=5.0, se=1.0, ci=(3.0, 7.0),
                       level=0.95, p_value=0.001, n_units=70, n_treated=28,
                       checks=(ck.Check("pre_fit", True, 0.1, 0.8, "fits"),))


def test_holdout_triangulation_runs_the_experiment_and_says_why_not_the_rest():
    launch = ck.Launch(name="v2", arms=ARMS, date="2026-03-02")
    tri = ck.triangulate(None, outcome="revenue_30d", users=_users(), launch=launch,
                         designs=("experiment", "did", "sc", "rdd", "its"))
    rows = tri.eligibility.set_index("design")
    assert list(tri.estimates) == ["experiment"]
    assert tri.estimates["experiment"].method == "experiment"
    assert "drawn at random" in rows.loc["experiment", "reason"]
    assert "not rolled out region by region" in rows.loc["did", "reason"]
    assert "not gated on a score" in rows.loc["rdd", "reason"]
    assert "forecast-only design is not needed" in rows.loc["its", "reason"]
    checks = {c.name: c for c in tri.estimates["experiment"].checks}
    assert "srm" in checks  # against the planned 90/10 split, which this 80/20 sample breaks
    assert not checks["srm"].passed


def test_staggered_holdout_also_gets_did_on_regions():
    launch = ck.Launch(name="v2", arms=ARMS, start={"a": "2026-01-19", "b": "2026-02-02"})
    rows = [{"region": r, "week": w, "revenue": 10.0 + i + (r == "a") + 0.1 * k,
             "treated": int(w >= pd.Timestamp(launch.start[r]) if r in launch.start else 0)}
            for i, r in enumerate("abcd")
            for k, w in enumerate(pd.date_range("2026-01-05", periods=8, freq="W-MON"))]
    tri = ck.triangulate(pd.DataFrame(rows), outcome="revenue", unit="region", time="week",
                         treatment="treated", users=_users(), rdd_outcome="revenue_30d",
                         launch=launch, designs=("experiment", "did"))
    assert set(tri.estimates) == {"experiment", "did"}
    table = tri.concordance.set_index("design")
    assert table.loc["did", "agrees"] is None  # another outcome: shown, not compared
    assert "measures 'revenue', not 'revenue_30d'" in tri.verdict_message


def test_global_triangulation_is_its_and_rd_in_time():
    launch = ck.Launch(name="v2", date="2026-02-16", controls=CONTROLS)
    tri = ck.triangulate(None, outcome="revenue", launch=launch, series=_series(),
                         series_time="day", estimates={"its": _stub("its:drift")},
                         designs=("experiment", "did", "sc", "rdd", "its"))
    rows = tri.eligibility.set_index("design")
    assert set(tri.estimates) == {"its", "rdd"}
    assert tri.estimates["rdd"].method.startswith("rdd") and "in-time" in \
        tri.estimates["rdd"].method
    assert "42 periods before and 28 from 2026-02-16" in rows.loc["rdd", "reason"]
    assert "no untreated region or user: every user of 'app'" in rows.loc["did", "reason"]
    assert "not randomized" in rows.loc["experiment", "reason"]
    short = ck.triangulate(None, outcome="revenue", launch=launch, designs=("its",),
                           series=_series(n_days=20, launch_day=10).assign(
                               day=lambda f: f["day"] + pd.Timedelta(days=32)),
                           series_time="day")
    assert "at least 14 pre-launch periods" in short.eligibility["reason"].iloc[0]


def test_scorecard_ranks_experiment_over_quasi_over_forecast():
    cards = {m: ck.scorecard(_stub(m)) for m in ("experiment:cuped", "did:cs", "its:drift")}
    exp, did, its_ = cards["experiment:cuped"], cards["did:cs"], cards["its:drift"]
    assert exp.rank > did.rank > its_.rank
    assert (exp.grade, did.grade) == ("high", "high") and its_.grade == "medium"
    assert "randomized experiment" in exp.design_basis and exp.reasons == ()
    assert "quasi-experiment" in did.design_basis
    assert its_.points == 2 and "forecast-only" in its_.reasons[0]
    assert its_.to_dict()["design_strength"] == 0
    # the headline decides, not the first estimate listed
    both = ck.scorecard([_stub("rdd:sharp-in-time"), _stub("its:drift")],
                        primary=_stub("its:drift"))
    assert both.design_strength == 0 and both.points == 2


def test_holdout_analysis_end_to_end(holdout_sim):
    a = ck.analyze_launch(holdout_sim.events, launch=holdout_sim.launch,
                          users=holdout_sim.users, yearly_cost=1000.0)
    truth = holdout_sim.truth["holdout"]
    assert a.design == "experiment" and a.primary.method == "experiment:cuped"
    assert a.outcome == "revenue_30d" and a.grain == "user over 30 days"
    assert {c.name for c in a.primary.checks} >= {"srm", "balance"}
    assert a.exposed == truth["n_by_arm"]["v2"]
    per_year = 365.0 / 30
    assert a.impact.annual_value == pytest.approx(a.primary.estimate * a.exposed * per_year)
    assert a.primary.n_units == truth["n_users"]


def test_holdout_without_users_or_arm_column_says_what_to_pass(holdout_sim):
    with pytest.raises(ck.SpecificationError, match=r"pass users= with one row per user and "
                                                    r"the arm column 'arm'"):
        ck.analyze_launch(holdout_sim.events, launch=holdout_sim.launch)
    users = holdout_sim.load_users().drop(columns="arm")
    with pytest.raises(ck.DataError, match=r"names the arm column 'arm', which the users"):
        ck.analyze_launch(holdout_sim.events, launch=holdout_sim.launch, users=users)


def test_global_launch_with_an_unknown_control_series_names_it(global_sim):
    from causal_kit.analysis.shapes import daily_series
    from causal_kit.source import open_events

    launch = ck.Launch(name="ga", date=global_sim.launch.date,
                       controls={"column": "platform", "launched": "app",
                                 "untouched": ["tablet"]})
    frame = open_events(global_sim.events).frame
    with pytest.raises(ck.DataError, match=r"no events with platform='tablet'; the column holds "
                                           r"\['app', 'web'\]"):
        daily_series(frame, launch, ["revenue"])
    series, controls = daily_series(frame, global_sim.launch, ["revenue"])
    assert controls == ["web"] and list(series.columns) == ["day", "revenue", "revenue_web"]
    assert len(series) == 91
