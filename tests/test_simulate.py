"""The launch simulator: determinism, chunking, scenarios, and honest ground truth."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import causal_kit as ck
from causal_kit.simulate import read_events_schema
from causal_kit.simulate.__main__ import main as cli_main
from causal_kit.simulate.world import REGIONS

SMALL = {"n_users": 4000, "n_days": 91}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _digest(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def staggered(tmp_path_factory: pytest.TempPathFactory) -> ck.Simulation:
    out = tmp_path_factory.mktemp("sim") / "staggered"
    return ck.simulate("staggered", n_users=20_000, n_days=126, seed=11, out_dir=out)


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = ck.simulate("score_gate", seed=5, out_dir=tmp_path / "a", **SMALL)
    b = ck.simulate("score_gate", seed=5, out_dir=tmp_path / "b", **SMALL)
    files_a, files_b = _files(a.out_dir), _files(b.out_dir)
    assert set(files_a) >= {"users.parquet", "truth.json", "launch.json", "truth_panel.parquet",
                            "events/part-00000.parquet"}  # fmt: skip
    assert files_a == files_b


def test_different_seeds_differ(tmp_path: Path) -> None:
    a = ck.simulate("staggered", seed=1, out_dir=tmp_path / "a", **SMALL)
    b = ck.simulate("staggered", seed=2, out_dir=tmp_path / "b", **SMALL)
    assert _digest(a.users) != _digest(b.users)
    assert a.n_events != b.n_events
    assert a.truth["att"]["revenue"]["effect"] != b.truth["att"]["revenue"]["effect"]


def test_chunked_writing_equals_one_chunk(tmp_path: Path) -> None:
    one = ck.simulate("staggered", seed=3, out_dir=tmp_path / "one", **SMALL)
    many = ck.simulate("staggered", seed=3, out_dir=tmp_path / "many", chunk_users=2048, **SMALL)
    assert len(list(many.events.glob("part-*.parquet"))) == 2
    assert len(list(one.events.glob("part-*.parquet"))) == 1
    assert pq.read_table(one.events).equals(pq.read_table(many.events))
    assert pq.read_table(one.users).equals(pq.read_table(many.users))
    assert one.truth == many.truth


def test_events_schema_and_content(staggered: ck.Simulation) -> None:
    events = pq.read_table(staggered.events).to_pandas()
    expected = ["user_id", "region", "segment", "ts", "date", "event", "task_success", "retried",
                "latency_ms", "cost_usd", "revenue", "model_version"]  # fmt: skip
    assert list(events.columns) == expected
    assert [c for c, _ in read_events_schema()] == expected
    assert len(events) == staggered.n_events == staggered.truth["n_events"]
    assert set(events["event"]) == {"session", "task", "purchase"}
    tasks = events["event"] == "task"
    call_cols = ["task_success", "retried", "latency_ms", "cost_usd"]
    assert events.loc[tasks, call_cols].notna().all().all()
    assert events.loc[~tasks, call_cols].isna().all().all()
    buys = events["event"] == "purchase"
    assert (events.loc[buys, "revenue"] > 0).all() and events.loc[~buys, "revenue"].isna().all()
    assert (events["ts"].dt.normalize() == pd.to_datetime(events["date"])).all()
    users = staggered.load_users()
    assert list(users.columns) == ["user_id", "region", "segment", "signup_date", "score"]
    assert users["user_id"].is_unique and len(users) == 20_000
    assert users["score"].between(0, 1).all()
    # power users are a minority yet bring most of the revenue
    share = events.loc[buys].groupby("segment")["revenue"].sum() / events.loc[buys, "revenue"].sum()
    assert (users["segment"] == "power").mean() < 0.3 and share["power"] > 0.5
    # v2 only where and when the launch says so
    start = {k: pd.Timestamp(v) for k, v in staggered.truth["launch"]["start"].items()}
    launch_day = events["region"].map(start)
    on_v2 = launch_day.notna() & (pd.to_datetime(events["date"]) >= launch_day)
    assert ((events["model_version"] == "v2") == on_v2).all()


def test_scenarios_assign_the_launch(tmp_path: Path) -> None:
    sims = ck.make_demo(tmp_path, seed=4, **SMALL)
    assert set(sims) == {"staggered", "single_market", "score_gate", "broken_cascade",
                         "clear_win", "harmful", "no_effect", "holdout", "global_launch",
                         "early_read", "surrogate_gap"}
    stag = sims["staggered"].launch
    assert len(stag.start) == len(REGIONS) // 2 and len(set(stag.start.values())) == 4
    assert all(d.weekday() == 0 for d in stag.start.values())
    assert sims["broken_cascade"].launch.start == stag.start
    assert len(sims["single_market"].launch.start) == 1
    gate = sims["score_gate"].launch
    assert gate.gate == {"column": "score", "cutoff": 0.7} and len(set(gate.start.values())) == 1
    saved = json.loads((tmp_path / "staggered" / "launch.json").read_text())
    back = ck.Launch.from_dict(saved)
    assert (back.name, back.unit, back.start, back.gate) == (stag.name, "region", stag.start, None)
    # broken cascade: task success moves, engagement and revenue do not (exactly, same users)
    att = sims["broken_cascade"].truth["att"]
    assert att["task_success_rate"]["effect"] > 0.05
    for name in ("active_users", "sessions", "revenue", "revenue_per_active_user", "d7_retention"):
        assert att[name]["effect"] == 0.0
    # the working cascade moves all of them
    att = sims["staggered"].truth["att"]
    assert att["task_success_rate"]["effect"] > 0.05 and att["revenue"]["effect"] > 0


def test_decision_scenarios_have_the_truth_they_promise(tmp_path: Path) -> None:
    names = ("staggered", "clear_win", "harmful", "no_effect")
    sims = ck.make_demo(tmp_path, seed=4, scenarios=names, **SMALL)
    att = {n: sims[n].truth["att"] for n in names}
    # a better model: twice v2's effect on task success; a worse one; none at all
    assert att["clear_win"]["task_success_rate"]["effect"] > \
        1.5 * att["staggered"]["task_success_rate"]["effect"]
    assert att["harmful"]["task_success_rate"]["effect"] < -0.05
    assert att["harmful"]["revenue"]["effect"] < 0
    assert att["no_effect"]["task_success_rate"]["effect"] == 0.0
    assert att["no_effect"]["revenue"]["effect"] == 0.0
    assert att["no_effect"]["latency_ms"]["effect"] > 100  # still slower and dearer per call
    for name in ("clear_win", "harmful", "no_effect"):
        launch = sims[name].launch
        assert len(launch.start) == len(REGIONS) // 2 and len(set(launch.start.values())) == 1
    # every launch carries a plan registered before it, unchanged; the offline number follows
    # from the truth: only the models that improve tasks clear the locked-set target
    for name in names:
        launch = ck.load_launch(tmp_path / name)
        status = ck.plan_status(launch)
        assert status.trusted, status.message
        off = launch.plan.offline
        improves = att[name]["task_success_rate"]["effect"] > 0
        assert off.met(off.measured) == improves, (name, off.measured)


def test_make_demo_keeps_existing_scenarios(tmp_path: Path) -> None:
    first = ck.make_demo(tmp_path, seed=2, scenarios=("single_market",), **SMALL)
    stamp = first["single_market"].truth_file.stat().st_mtime_ns
    again = ck.make_demo(tmp_path, seed=2, scenarios=("single_market",), **SMALL)
    assert again["single_market"].truth_file.stat().st_mtime_ns == stamp
    assert again["single_market"].truth == first["single_market"].truth
    other = ck.make_demo(tmp_path, seed=3, scenarios=("single_market",), **SMALL)
    assert other["single_market"].seed == 3


def test_truth_is_the_mean_of_observed_minus_counterfactual(staggered: ck.Simulation) -> None:
    panel = staggered.load_truth_panel()
    for name in ("revenue_per_active_user", "task_success_rate", "active_users", "d7_retention"):
        rows = panel[(panel["metric"] == name) & (panel["treated"] == 1)]
        att = staggered.truth["att"][name]
        assert att["n_cells"] == len(rows)
        assert att["effect"] == pytest.approx((rows["observed"] - rows["no_v2"]).mean(), rel=1e-12)
        untreated = panel[(panel["metric"] == name) & (panel["treated"] == 0)]
        moved = untreated[untreated["observed"] != untreated["no_v2"]]
        if name == "d7_retention":  # a cohort's day 7 can fall after its region's launch
            launch = moved["region"].map(lambda r: pd.Timestamp(staggered.launch.start[r]))
            assert ((launch - moved["week"]).dt.days == 7).all()
        else:
            assert moved.empty
    dyn = staggered.truth["event_time"]["task_success_rate"]
    assert dyn[0]["event_week"] == 0 and all(r["effect"] > 0 for r in dyn)
    weights = np.array([r["n_units"] for r in dyn])
    pooled = np.sum(weights * np.array([r["effect"] for r in dyn])) / weights.sum()
    assert pooled == pytest.approx(staggered.truth["att"]["task_success_rate"]["effect"])


def test_simple_did_on_the_panel_recovers_the_truth(staggered: ck.Simulation) -> None:
    panel = ck.build_panel(staggered.events, unit="region", time="week", launch=staggered.launch,
                           metrics=["task_success_rate", "latency_ms"])  # fmt: skip
    start = {k: pd.Timestamp(v) for k, v in staggered.launch.start.items()}
    panel["launch"] = panel["region"].map(start)
    cols = ["task_success_rate", "latency_ms"]
    never = panel[panel["launch"].isna()].groupby("week")[cols].mean()
    for metric, tol in (("task_success_rate", 0.01), ("latency_ms", 10.0)):
        effects = []
        for _, rows in panel[panel["launch"].notna()].groupby("region"):
            pre = rows[rows["treated"] == 0]
            post = rows[rows["treated"] == 1]
            gap_pre = (pre.set_index("week")[metric] - never[metric]).dropna().mean()
            gap_post = post.set_index("week")[metric] - never[metric].reindex(post["week"])
            effects.extend(gap_post - gap_pre)
        truth = staggered.truth["att"][metric]
        assert len(effects) == truth["n_cells"]
        assert np.mean(effects) == pytest.approx(truth["effect"], abs=tol)


def test_cli_writes_scenarios_and_rejects_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["--out", str(tmp_path), "--scenario", "single_market", "--n-users", "1500",
                     "--n-days", "84", "--seed", "9"])  # fmt: skip
    assert code == 0
    assert (tmp_path / "single_market" / "truth.json").is_file()
    assert "single_market" in capsys.readouterr().out
    assert cli_main(["--out", str(tmp_path), "--n-days", "10", "--scenario", "staggered"]) == 2
    with pytest.raises(SystemExit) as exc:
        cli_main(["--scenario", "nope"])
    assert exc.value.code == 2


def test_bad_arguments_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ck.SpecificationError, match="'staggered', 'single_market'"):
        ck.simulate("ab_test", out_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ck.SpecificationError, match="n_days=20 must be an integer >= 84"):
        ck.simulate(n_days=20, out_dir=tmp_path)
    with pytest.raises(ck.SpecificationError, match="start_date='soon' is not a date"):
        ck.simulate(start_date="soon", out_dir=tmp_path)
    with pytest.raises(ck.SpecificationError, match=r"no truth\.json"):
        ck.load_simulation(tmp_path / "nothing")
    assert not any(tmp_path.iterdir())  # nothing half-written
