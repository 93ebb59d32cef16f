"""Launch shapes: derived from the launch's fields, validated, round-tripped through launch.json,
and the design, triangulation and confidence each shape gets."""

from __future__ import annotations

import json

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


def test_holdout_keeps_a_random_tenth_of_users_on_v1(holdout_sim):
    launch = holdout_sim.launch
    assert launch.shape == "holdout" and launch.arms["split"] == {"v2": 0.9, "v1": 0.1}
    users = holdout_sim.load_users()
    share_v1 = float((users["arm"] == "v1").mean())
    assert abs(share_v1 - 0.1) < 3 * (0.1 * 0.9 / len(users)) ** 0.5
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
