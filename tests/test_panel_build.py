"""build_panel and user_outcomes: every input kind, the period rules, errors, and the truth."""

from __future__ import annotations

import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest
from test_metrics import hand_events, hand_users

import causal_kit as ck

METRICS = ["active_users", "sessions", "revenue", "revenue_per_active_user", "task_success_rate",
           "latency_p95_ms", "d7_retention"]  # fmt: skip


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> ck.Simulation:
    out = tmp_path_factory.mktemp("panel") / "staggered"
    return ck.simulate("staggered", n_users=3000, n_days=98, seed=21, out_dir=out)


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> ck.Simulation:
    out = tmp_path_factory.mktemp("gate") / "score_gate"
    return ck.simulate("score_gate", n_users=30_000, n_days=98, seed=8, out_dir=out)


def _panel(events: object, sim: ck.Simulation, users: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ck.CausalKitWarning)  # the d7 drop is tested elsewhere
        return ck.build_panel(events, unit="region", time="week", metrics=METRICS,
                              launch=sim.launch, users=users)  # fmt: skip


def test_every_input_kind_gives_the_same_panel(sim: ck.Simulation, tmp_path: Path) -> None:
    reference = _panel(sim.events, sim, sim.users)
    events_pd = pd.read_parquet(sim.events)
    users_pd = pd.read_parquet(sim.users)
    before = events_pd.copy()
    db = tmp_path / "app.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{sim.events}/*.parquet')")
        con.execute(f"COPY events TO '{tmp_path / 'events.csv'}' (HEADER)")
    con = duckdb.connect()
    inputs = {
        "pandas": (events_pd, users_pd),
        "polars": (pl.from_pandas(events_pd), pl.read_parquet(sim.users)),
        "polars lazy": (pl.scan_parquet(f"{sim.events}/*.parquet"), users_pd),
        "duckdb relation": (con.read_parquet(f"{sim.events}/*.parquet"),
                            con.read_parquet(str(sim.users))),
        "parquet glob": (f"{sim.events}/part-*.parquet", sim.users),
        "csv": (tmp_path / "events.csv", users_pd),
        "duckdb database": (ck.open_events(db, table="events"), users_pd),
    }  # fmt: skip
    for name, (events, users) in inputs.items():
        got = _panel(events, sim, users)
        pd.testing.assert_frame_equal(got, reference, check_exact=False, rtol=1e-10, obj=name)
    pd.testing.assert_frame_equal(events_pd, before)  # the caller's frame is untouched


def test_panel_equals_the_simulators_own_aggregation(sim: ck.Simulation) -> None:
    names = ["active_users", "sessions", "revenue", "revenue_per_active_user", "task_success_rate",
             "retry_rate", "abandonment_rate", "latency_ms", "cost_per_call",
             "cost_per_completed_task", "d1_retention", "d7_retention"]  # fmt: skip
    with pytest.warns(ck.CausalKitWarning, match="d7_retention"):
        panel = ck.build_panel(sim.events, metrics=names, launch=sim.launch, users=sim.users)
    truth = sim.load_truth_panel()
    for name in names:
        t = truth[truth["metric"] == name].set_index(["region", "week"])
        p = panel.set_index(["region", "week"])
        joined = p[[name, "treated"]].join(
            t[["observed", "treated"]].rename(columns={"treated": "treated_truth"}), how="left"
        )
        # cells undefined in the panel (no signup that week) are the ones the truth leaves out
        assert (joined[name].isna() == joined["observed"].isna()).all(), name
        joined = joined.dropna(subset=[name])
        np.testing.assert_allclose(joined[name], joined["observed"], rtol=1e-9, err_msg=name)
        assert (joined["treated"] == joined["treated_truth"]).all()


def test_treated_rule_for_a_launch_mid_week() -> None:
    launch = ck.Launch("x", start={"a": "2026-01-07"})  # a Wednesday
    week = ck.build_panel(hand_events(), metrics=["sessions"], launch=launch)
    assert week.set_index(["region", "week"])["treated"].to_dict() == {
        ("a", pd.Timestamp("2026-01-05")): 0, ("a", pd.Timestamp("2026-01-12")): 1,
        ("b", pd.Timestamp("2026-01-05")): 0, ("b", pd.Timestamp("2026-01-12")): 0,
    }  # fmt: skip
    with pytest.warns(ck.CausalKitWarning, match="zero denominator"):
        day = ck.build_panel(hand_events(), time="day", metrics=["sessions", "sessions_per_user"],
                             launch=launch)  # fmt: skip
    a = day[day["region"] == "a"]
    assert list(a.loc[a["treated"] == 1, "day"].dt.day)[:2] == [7, 8]
    assert a.loc[a["day"] < "2026-01-07", "treated"].eq(0).all()
    monday = ck.Launch("x", start={"a": "2026-01-12"})
    again = ck.build_panel(hand_events(), metrics=["sessions"], launch=monday)
    pd.testing.assert_series_equal(again["treated"], week["treated"])


def test_grains_agree_and_partial_periods_are_dropped(sim: ck.Simulation) -> None:
    metrics = ["sessions", "revenue", "tasks"]
    day = ck.build_panel(sim.events, time="day", metrics=metrics)
    week = ck.build_panel(sim.events, time="week", metrics=metrics)
    month = ck.build_panel(sim.events, time="month", metrics=metrics)
    # the window is 2026-01-05 .. 2026-04-12 (98 days): 14 whole weeks, whole Feb and March only
    assert week["week"].nunique() == 14 and day["day"].nunique() == 98
    assert list(month["month"].drop_duplicates().dt.strftime("%Y-%m")) == ["2026-02", "2026-03"]
    day["week"] = day["day"] - pd.to_timedelta(day["day"].dt.day_of_week, unit="D")
    day["month"] = day["day"].dt.to_period("M").dt.to_timestamp()
    by_week = day.groupby(["region", "week"])[metrics].sum().reset_index()
    pd.testing.assert_frame_equal(by_week, week[by_week.columns], check_dtype=False)
    by_month = day[day["month"].isin(month["month"])].groupby(["region", "month"])[metrics].sum()
    pd.testing.assert_frame_equal(by_month.reset_index(), month[["region", "month", *metrics]],
                                  check_dtype=False)  # fmt: skip
    lazy = pl.scan_parquet(f"{sim.events}/*.parquet")
    for grain, ref in (("day", day), ("month", month)):
        other = ck.build_panel(lazy, time=grain, metrics=metrics)  # the same rules in polars
        pd.testing.assert_frame_equal(other, ref[other.columns], check_exact=False, rtol=1e-10)
    clipped = ck.build_panel(sim.events, metrics=metrics, start="2026-01-07", end="2026-02-01")
    assert list(clipped["week"].drop_duplicates().dt.strftime("%m-%d")) == ["01-12", "01-19",
                                                                            "01-26"]  # fmt: skip


def test_bad_inputs_raise_clear_errors(tmp_path: Path) -> None:
    ev = hand_events()
    with pytest.raises(ck.DataError, match=r"no column 'revenue'.*Available columns: 'user_id'"):
        ck.build_panel(ev.drop(columns="revenue"), metrics=["revenue"])
    with pytest.raises(ck.DataError, match="no column 'store'"):
        ck.build_panel(ev, unit="store", metrics=["sessions"])
    with pytest.raises(ck.DataError, match="events are empty"):
        ck.build_panel(ev.iloc[:0], metrics=["sessions"])
    with pytest.raises(ck.DataError, match=r"names region 'north', 'south' with no events"):
        ck.build_panel(ev, metrics=["sessions"],
                       launch=ck.Launch("x", start={"a": "2026-01-12", "north": "2026-01-12",
                                                    "south": "2026-01-12"}))  # fmt: skip
    with pytest.raises(ck.SpecificationError, match=r"unit column 'store'.*use unit='store'"):
        ck.build_panel(ev, metrics=["sessions"], launch=ck.Launch("x", unit="store"))
    bad = ev.assign(date=ev["date"].dt.strftime("%Y-%m-%d"))
    bad.loc[3, "date"] = "06/01/2026"
    with pytest.raises(ck.DataError, match="'date' holds text that is not a date"):
        ck.build_panel(bad, metrics=["sessions"])
    good_text = ev.assign(date=ev["date"].dt.strftime("%Y-%m-%d"))
    pd.testing.assert_frame_equal(ck.build_panel(good_text, metrics=["sessions"]),
                                  ck.build_panel(ev, metrics=["sessions"]))  # fmt: skip
    with pytest.raises(ck.DataError, match="'revenue' must be numeric"):
        ck.build_panel(ev.assign(revenue="ten"), metrics=["revenue"])
    with pytest.raises(ck.DataError, match="no whole month"):
        ck.build_panel(ev, time="month", metrics=["sessions"])
    with pytest.raises(ck.SpecificationError, match="time='hour' is not a valid option"):
        ck.build_panel(ev, time="hour", metrics=["sessions"])  # type: ignore[arg-type]
    with pytest.raises(ck.SpecificationError, match="start='later' is not a date"):
        ck.build_panel(ev, metrics=["sessions"], start="later")
    with pytest.raises(ck.DataError, match="2 events have no 'region'"):
        ck.build_panel(ev.assign(region=ev["region"].where(ev.index > 1)), metrics=["sessions"])
    with pytest.raises(ck.DataError, match="does not exist"):
        ck.build_panel(tmp_path / "missing.parquet", metrics=["sessions"])


def test_user_outcomes_on_hand_table() -> None:
    launch = ck.Launch("gate", start={"a": "2026-01-08", "b": "2026-01-08"},
                       gate={"column": "score", "cutoff": 0.7})  # fmt: skip
    out = ck.user_outcomes(hand_events(), launch=launch, users=hand_users(), window_days=7,
                           outcomes=["revenue", "sessions", "tasks", "task_success_rate",
                                     "active_days", "retained"], lookback_days=None)  # fmt: skip
    # users who signed up before 01-08: 1, 2 (01-05) and 3 (01-08 is not before) -> 1 and 2;
    # window 01-08 .. 01-14: user 1 has a session and a successful task on 01-12
    assert list(out["user_id"]) == [1, 2]
    assert list(out["treated"]) == [1, 0]
    assert list(out["sessions_7d"]) == [1, 0] and list(out["tasks_7d"]) == [1, 0]
    assert out["task_success_rate_7d"].iloc[0] == 1.0 and np.isnan(out["task_success_rate_7d"][1])
    assert list(out["active_days_7d"]) == [1, 0] and list(out["retained_d7"]) == [1, 0]
    assert list(out["revenue_7d"]) == [0.0, 0.0]
    assert {"region", "score", "signup_date"} <= set(out.columns)
    recent = ck.user_outcomes(hand_events(), launch=launch, users=hand_users(), window_days=7,
                              outcomes="revenue", lookback_days=3)  # fmt: skip
    # active in 01-05 .. 01-07: users 1 and 2; user 1 spent $10 on 01-06
    assert list(recent["pre_revenue"]) == [10.0, 0.0] and list(recent["pre_active_days"]) == [2, 1]
    with pytest.raises(ck.DataError, match="needs events through 2026-02-06"):
        ck.user_outcomes(hand_events(), launch=launch, users=hand_users())
    with pytest.raises(ck.SpecificationError, match="unknown outcome"):
        ck.user_outcomes(hand_events(), launch=launch, outcomes=["ltv"], window_days=7)
    two = ck.Launch("x", start={"a": "2026-01-08", "b": "2026-01-09"})
    with pytest.raises(ck.SpecificationError, match="2 start dates; pass date="):
        ck.user_outcomes(hand_events(), launch=two, window_days=7)


def test_user_outcomes_match_the_simulators_truth(gate: ck.Simulation) -> None:
    users = gate.load_users()
    out = ck.user_outcomes(gate.events, launch=gate.launch, users=users,
                           outcomes=["revenue", "sessions", "tasks", "active_days", "retained"])
    truth = gate.truth["gate"]
    assert len(out) == truth["n_users"]
    for name, mean in truth["observed_mean"].items():
        assert out[name].mean() == pytest.approx(mean, rel=1e-9), name
    assert (out["treated"] == (out["score"] >= 0.7)).all()
    # the score drives outcomes, so comparing users above and below the cutoff is badly biased;
    # a local linear fit on each side of the cutoff recovers the true effect within noise
    y, x = out["revenue_30d"].to_numpy(), out["score"].to_numpy() - 0.7
    naive = y[x >= 0].mean() - y[x < 0].mean()
    sides = []
    for side in (x >= 0, x < 0):
        keep = side & (np.abs(x) <= 0.12)
        design = np.column_stack([np.ones(keep.sum()), x[keep]])
        coef, *_ = np.linalg.lstsq(design, y[keep], rcond=None)
        resid = y[keep] - design @ coef
        cov = np.linalg.inv(design.T @ design) * resid.var(ddof=2)
        sides.append((coef[0], cov[0, 0]))
    jump = sides[0][0] - sides[1][0]
    se = np.sqrt(sides[0][1] + sides[1][1])
    effect = truth["effect_at_cutoff"]["revenue_30d"]["effect"]
    assert abs(jump - effect) < 3 * se
    assert naive - effect > 5 * se


def _counting_scan(frame: pl.DataFrame) -> tuple[pl.LazyFrame, list[int]]:
    """A polars LazyFrame over ``frame`` that counts how often its rows are read."""
    from polars.io.plugins import register_io_source

    reads: list[int] = []

    def source(with_columns, predicate, n_rows, batch_size):
        out = frame if with_columns is None else frame.select(with_columns)
        if predicate is not None:
            out = out.filter(predicate)
        if n_rows is not None:
            out = out.head(n_rows)
        if n_rows is None or n_rows > 0:
            reads.append(len(out))
        yield out

    return register_io_source(source, schema=frame.schema), reads


def test_the_events_are_read_once_and_once_more_for_retention(sim: ck.Simulation) -> None:
    events = pl.read_parquet(f"{sim.events}/*.parquet")
    lazy, reads = _counting_scan(events)
    panel = ck.build_panel(lazy, metrics=["active_users", "revenue", "task_success_rate"])
    full = [n for n in reads if n == len(events)]
    assert full == [len(events)], reads  # one full pass: no separate scan for the dates covered
    duck = ck.build_panel(sim.events, metrics=["active_users", "revenue", "task_success_rate"])
    pd.testing.assert_frame_equal(panel, duck, check_exact=False, rtol=1e-12, check_like=True)

    lazy, reads = _counting_scan(events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ck.CausalKitWarning)
        ck.build_panel(lazy, metrics=["active_users", "d7_retention"], users=sim.users)
    assert len([n for n in reads if n == len(events)]) == 2, reads  # panel + cohorts
